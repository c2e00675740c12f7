/**
 * Fleets (issue 15): a `databases:` entry may be a glob (`path:
 * /srv/tenants/*.db`). Each matched file becomes a database named from its
 * file name without the extension (`acme.db` → `acme`), held to the rules of
 * explicit names. Wildcards (`*`, `?`, `[...]`) are allowed in the file name
 * only, not in folders: a fleet is the files of one folder. Expanded at every
 * load, so a tenant added since the last run is picked up.
 */
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { ConfigError } from "../runtime/errors.js";
import { SIDE_FILE_SUFFIXES } from "../runtime/sqliteFiles.js";
import { databaseNameProblem, isGlob, type Config, type DatabaseConfig } from "./schema.js";

/** The config with every glob's files added to `databases`; config errors for names that break the rules or collide. */
export async function expandGlobs(cfg: Config): Promise<Config> {
  const globs = cfg.databaseGlobs ?? [];
  if (globs.length === 0) return cfg;
  const problems: string[] = [];
  // name → the file that claimed it first, explicit entries first: they are the operator's own words.
  const owner = new Map<string, { file: string; real: string; explicit: boolean }>();
  for (const d of cfg.databases) owner.set(d.name, { file: d.path, real: await realOrSelf(d.path), explicit: true });
  const added: DatabaseConfig[] = [];
  const expanded: NonNullable<Config["databaseGlobs"]> = [];
  for (const g of globs) {
    const files = await matchFiles(g.pattern, problems);
    expanded.push({ pattern: g.pattern, matched: files });
    for (const file of files) {
      const name = nameOf(file);
      const bad = databaseNameProblem(name);
      if (bad) {
        problems.push(`databases (glob ${g.pattern}): ${file} would be named "${name}", but ${bad}; rename the file or list it as an explicit entry with a name`);
        continue;
      }
      const real = await realOrSelf(file);
      const first = owner.get(name);
      if (first?.explicit && first.real === real) continue; // the same file listed by name too: the explicit entry stands
      if (first) {
        problems.push(`databases: ${first.file} and ${file} both map to the name "${name}" (glob ${g.pattern}); their copies would share one folder. Rename one of the files, or list one as an explicit entry with another name`);
        continue;
      }
      owner.set(name, { file, real, explicit: false });
      added.push({ name, path: file });
    }
  }
  if (problems.length) throw new ConfigError(`${cfg.configPath} has ${problems.length} problem(s)`, problems);
  // Glob matches first, in file-name order; then the explicit entries in the order written.
  return { ...cfg, databases: [...added, ...cfg.databases], databaseGlobs: expanded };
}

/** `acme.db` → `acme`; a name without extension stays as it is. */
export function nameOf(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

/** The regular files of the glob's folder whose names match its last component, sorted; SQLite's side files never. */
async function matchFiles(pattern: string, problems: string[]): Promise<string[]> {
  const dir = path.dirname(pattern);
  if (isGlob(dir)) {
    problems.push(`databases: ${pattern}: wildcards are allowed in the file name only, not in folders (${dir}); list one glob per folder`);
    return [];
  }
  const re = globToRegExp(path.basename(pattern));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    // A missing folder matches nothing: the backup reports the glob as failed (an unmounted fleet).
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new ConfigError(`cannot read the folder of glob ${pattern}: ${(err as Error).message}`, [], { cause: err });
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    if (!re.test(n) || SIDE_FILE_SUFFIXES.some((s) => n.endsWith(s))) continue;
    const file = path.join(dir, n);
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile()) out.push(file);
  }
  return out;
}

/** Whether `file` is one this glob would match (same folder, same name rules), whether or not it exists now. */
export function globMatches(pattern: string, file: string): boolean {
  if (path.dirname(path.resolve(file)) !== path.resolve(path.dirname(pattern))) return false;
  const n = path.basename(file);
  return globToRegExp(path.basename(pattern)).test(n) && !SIDE_FILE_SUFFIXES.some((s) => n.endsWith(s));
}

/** Shell-style: `*` and `?` never match a leading dot (hidden files stay out, as in sh); `[...]` is a class. */
function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(glob.startsWith(".") ? `^${re}$` : `^(?!\\.)${re}$`);
}

async function realOrSelf(file: string): Promise<string> {
  return realpath(file).catch(() => path.resolve(file));
}
