#!/usr/bin/env -S node --max-semi-space-size=1
// The flag: a 1 MiB young generation (V8 grows it to 16 MiB) keeps the garbage of streaming GiBs
// from piling up between collections. Measured (bench/network.ts, 200 MiB to SFTP + S3): peak RSS
// 147-152 MB -> 135-140 MB for ~5% more time. It only takes effect at start-up, hence the shebang.
// cli/: one file per command; each parses its flags, calls one core function and prints its report.
import { Command, CommanderError } from "commander";
import { AdapterError } from "../../adapters/errors.js";
import { ConfigError, TriplicateError, UsageError } from "../runtime/errors.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import { addGlobalOptions, printJson, toolVersion, type CliIO, DEFAULT_CONFIG } from "./common.js";
import { backupCommand } from "./backup.js";
import { listCommand } from "./list.js";
import { pruneCommand } from "./prune.js";
import { initCommand } from "./init.js";
import { restoreCommand } from "./restore.js";
import { verifyCommand } from "./verify.js";
import { auditCommand } from "./audit.js";
import { scheduleCommand } from "./schedule.js";
import { forgetCommand } from "./forget.js";
import { addHelpExamples } from "./helpText.js";
import { finishSession, openSession } from "../metrics/session.js";
import { asksForHelp, quietIO, wantsQuiet } from "./quiet.js";
import { silenceAwsNodeVersionWarning } from "../runtime/sdkWarning.js";

import { doctorCommand } from "./doctor.js";

/**
 * Parses argv, runs one command, returns its exit code. Never calls
 * process.exit, so tests can call it in-process.
 */
const IDENTITY_HELP = "age identity file (AGE-SECRET-KEY-1…) or Ed25519 SSH private key that opens encrypted copies (a protected key: TRIPLICATE_IDENTITY_PASSPHRASE)";

export async function main(argv: string[], io: CliIO): Promise<ExitCode> {
  if (!wantsQuiet(argv)) return run(argv, io);
  const quiet = quietIO(io);
  const code = await run(argv, quiet.io);
  if (code !== EXIT.ok || asksForHelp(argv)) quiet.release();
  return code;
}

async function run(argv: string[], io: CliIO): Promise<ExitCode> {
  const session = openSession(argv.find((a) => !a.startsWith("-")) ?? "");
  const code = await dispatch(argv, { ...io, session });
  await finishSession(session, code);
  return code;
}

async function dispatch(argv: string[], io: CliIO): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = new Command("triplicate")
    .description("Back up live SQLite databases with the 3-2-1 rule, and prove it.")
    .version(toolVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError("(run triplicate --help for usage)");

  const collect = (v: string, prev: string[]) => [...prev, v];

  addGlobalOptions(program.command("backup").description("snapshot, verify, ship to every destination, judge 3-2-1, apply retention"), io.env)
    .option("--db <name>", "only this database (repeatable: several databases)", collect, [])
    .option("--tag <tag>", "tag the snapshot (repeatable; default: manual)", collect, [])
    .option("--dry-run", "snapshot and verify, but write and delete nothing on destinations")
    .option("--accept-shrink", "the source shrank on purpose: ship this snapshot as the new baseline and let retention run")
    .option("--init", "first run: create missing destination folders and mark new destinations (once; never in cron)")
    .action(async (o) => void (code = await backupCommand(o, io)));

  addGlobalOptions(program.command("list").description("every snapshot on every destination, with its state"), io.env)
    .option("--db <name>", "only this database (repeatable: several databases)", collect, [])
    .action(async (o) => void (code = await listCommand(o, io)));

  addGlobalOptions(program.command("prune").description("apply each destination's retention"), io.env)
    .option("--dry-run", "print the plan, delete nothing")
    .option("--db <name>", "only this database (repeatable: several databases)", collect, [])
    .option("--force", "lift the deletion budget (guard.maxDelete) for this run, after checking the plan with --dry-run")
    .action(async (o) => void (code = await pruneCommand(o, io)));

  addGlobalOptions(program.command("forget").argument("<db>", "database name").argument("<snapshot>", "snapshot id (as `list` shows it)").description("delete one snapshot from every destination"), io.env)
    .option("--dry-run", "show what would be deleted where, delete nothing")
    .option("--force", "also delete a copy under Object Lock or the only good copy of the database")
    .action(async (db, snapshot, o) => void (code = await forgetCommand(db, snapshot, o, io)));

  addGlobalOptions(program.command("restore").argument("<db>", "database name").description("restore a database from whichever copy survives"), io.env)
    .option("--to <path>", "where to put it (default: the configured path of DB)")
    .option("--at <time>", "newest snapshot at or before this ISO time or age (2d, 36h); default now")
    .option("--from <destination>", "only this destination")
    .option("--force", "replace a database that has a live -wal file (it is moved aside, not deleted)")
    .option("--identity <file>", IDENTITY_HELP)
    .action(async (db, o) => void (code = await restoreCommand(db, o, io)));

  addGlobalOptions(program.command("verify").description("check every copy against its manifest; --deep does a full restore test"), io.env)
    .option("--db <name>", "only this database (repeatable: several databases)", collect, [])
    .option("--deep", "restore-test the newest copy of each database on each destination in a temp folder (with --budget or --max-time: copies least recently proven first)")
    .option("--budget <size>", "with --deep: restore-test copies until this many artifact bytes per destination (e.g. 10GB)")
    .option("--max-time <duration>", "with --deep: start no new restore test after this long per destination (e.g. 20m)")
    .option("--identity <file>", `with --deep: ${IDENTITY_HELP}`)
    .action(async (o) => void (code = await verifyCommand(o, io)));

  addGlobalOptions(program.command("audit").description("compliance report from the live destinations (3-2-1, freshness, retention, damage)"), io.env)
    .option("--format <format>", "md, html or json (--json is the same as --format json)", "md")
    .option("--out <file>", "write the report to this file instead of stdout")
    .option("--deep", "also restore-test the newest copy of each database on each destination")
    .option("--identity <file>", `with --deep: ${IDENTITY_HELP}`)
    .action(async (o) => void (code = await auditCommand(o, io)));

  addGlobalOptions(program.command("schedule").description("stay running and back up on a cron schedule (for containers and hosts without cron)"), io.env)
    .option("--cron <expr>", 'cron expression: 5 fields, or 6 with seconds first (e.g. "0 2 * * *")')
    .option("--timezone <tz>", "read the expression in this IANA time zone (default: the host's)")
    .option("--db <name>", "only this database (repeatable: several databases)", collect, [])
    .option("--tag <tag>", "tag each snapshot (repeatable; default: scheduled)", collect, [])
    .action(async (o) => void (code = await scheduleCommand(o, io)));

  addGlobalOptions(program.command("doctor").argument("<db>", "database name or path").description("diagnose a damaged database (read-only); --salvage copies out what is readable"), io.env)
    .option("--full", "also run integrity_check (compares every index with its table)")
    .option("--salvage <out>", "copy every readable row into a new database at OUT (never over an existing file)")
    .option("--method <method>", "salvage with auto, recover (sqlite3 .recover) or rows (row by row)", "auto")
    .option("--backup-emergency", "with --salvage: back the salvaged database up as an emergency snapshot; no retention runs")
    .action(async (db, o) => void (code = await doctorCommand(db, o, io)));

  addGlobalOptions(program.command("init").description(`write a commented example config (default ${DEFAULT_CONFIG})`), io.env)
    .option("--force", "overwrite an existing file")
    .action(async (o) => void (code = await initCommand(o, io)));

  addHelpExamples(program);
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    const code = reportError(err, io);
    // A script that asked for JSON gets JSON on stdout for every outcome, not an empty stdout.
    if (code !== EXIT.ok && wantsJson(argv)) {
      printJson(io, { command: argv.find((a) => !a.startsWith("-")) ?? null, exitCode: code, error: errorText(err) });
    }
    return code;
  }
}

function wantsJson(argv: string[]): boolean {
  return argv.includes("--json") || argv.some((a, i) => a === "--format=json" || (a === "--format" && argv[i + 1] === "json"));
}

function errorText(err: unknown): string {
  if (err instanceof CommanderError) return err.message.replace(/^error: /, "");
  return err instanceof TriplicateError || err instanceof AdapterError ? err.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
}

function reportError(err: unknown, io: CliIO): ExitCode {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof ConfigError || err instanceof UsageError) {
    io.stderr.write(`triplicate: ${err.message}\n`);
    return EXIT.usage;
  }
  const message = err instanceof TriplicateError || err instanceof AdapterError ? err.message : `unexpected error: ${(err as Error)?.stack ?? String(err)}`;
  io.stderr.write(`triplicate: ${message}\n`);
  return EXIT.failed;
}

// Run when executed as the bin (not when imported by tests).
const invoked = process.argv[1] ? await import("node:fs").then((fs) => fs.realpathSync(process.argv[1])) : "";
if (invoked && import.meta.url === (await import("node:url")).pathToFileURL(invoked).href) {
  silenceAwsNodeVersionWarning(process.env);
  process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
