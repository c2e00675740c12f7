import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compiledWorker } from "../../src/runtime/workerScript.js";

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(path.join(os.tmpdir(), "triplicate-worker-"))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("compiledWorker", () => {
  it("finds the worker beside a compiled module", async () => {
    await writeFile(path.join(dir, "decodeWorker.js"), "");
    const url = compiledWorker("decodeWorker.js", pathToFileURL(path.join(dir, "decodeToFile.js")).href);
    expect(url?.href).toBe(pathToFileURL(path.join(dir, "decodeWorker.js")).href);
  });

  it("says to run inline when the module is TypeScript source", () => {
    expect(compiledWorker("decodeWorker.js", pathToFileURL(path.join(dir, "decodeToFile.ts")).href)).toBeNull();
  });

  it("refuses a compiled build whose worker is missing, naming the file and the fix", () => {
    const missing = path.join(dir, "snapshotWorker.js");
    expect(() => compiledWorker("snapshotWorker.js", pathToFileURL(path.join(dir, "snapshot.js")).href)).toThrow(
      `this installation of triplicate is incomplete: ${missing} is missing; rebuild it (npm run build) or reinstall the package`,
    );
  });

  it("the real builds have both workers: tsc's (tests) and the bundle's (the bin)", () => {
    for (const [worker, module] of [["decodeWorker.js", "restore/decode/toFile.js"], ["snapshotWorker.js", "snapshot/checks.js"]]) {
      expect(compiledWorker(worker, pathToFileURL(path.resolve("dist/src", module)).href)).not.toBeNull();
      expect(compiledWorker(worker, pathToFileURL(path.resolve("dist/bin", "triplicate.js")).href)).not.toBeNull();
    }
  });
});
