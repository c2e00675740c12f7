import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The layout README describes, held true: imports run one way
 * (cli/ → stages → adapters/, never back), and no module grows into a god
 * object again.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function tsFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

function relativeImports(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => path.normalize(path.join(path.dirname(file), m[1])));
}

describe("layout", () => {
  it("adapters/ imports nothing from src/", () => {
    const wrong = tsFiles("adapters").flatMap((f) => relativeImports(f).filter((i) => !i.startsWith("adapters/")).map((i) => `${f} → ${i}`));
    expect(wrong).toEqual([]);
  });

  it("no stage imports the CLI", () => {
    const wrong = tsFiles("src")
      .filter((f) => !f.startsWith("src/cli/"))
      .flatMap((f) => relativeImports(f).filter((i) => i.startsWith("src/cli/")).map((i) => `${f} → ${i}`));
    expect(wrong).toEqual([]);
  });

  it("no file in src/ or adapters/ is over 350 lines", () => {
    const long = [...tsFiles("src"), ...tsFiles("adapters")]
      .map((f) => ({ f, lines: readFileSync(path.join(ROOT, f), "utf8").split("\n").length }))
      .filter((x) => x.lines > 350)
      .map((x) => `${x.f}: ${x.lines} lines`);
    expect(long).toEqual([]);
  });
});
