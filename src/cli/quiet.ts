import { Writable } from "node:stream";
import type { CliIO } from "./common.js";

/**
 * `--quiet`, for cron: cron mails whatever a job prints, so a quiet run holds
 * everything it would print (the report on stdout, the logs and errors on
 * stderr) and lets it out only when the command did not exit 0. Then cron
 * mail means trouble, and the mail that comes has the whole story, logs
 * included, in the order it was written. Help and version always print.
 */
export function quietIO(io: CliIO): { io: CliIO; release(): void } {
  const held: { to: "stdout" | "stderr"; chunk: string | Uint8Array }[] = [];
  const holder = (to: "stdout" | "stderr") =>
    new Writable({
      write(chunk: string | Uint8Array, _enc, done) {
        held.push({ to, chunk });
        done();
      },
    });
  // No isTTY on the holders: nothing meant for a terminal (colours, live progress) is drawn.
  const quiet: CliIO = { ...io, stdout: holder("stdout"), stderr: holder("stderr") };
  return {
    io: quiet,
    release() {
      for (const { to, chunk } of held.splice(0)) io[to].write(chunk);
    },
  };
}

export function wantsQuiet(argv: string[]): boolean {
  return argv.includes("--quiet") || argv.includes("-q");
}

/** Help and version are asked for by a person: printed even with --quiet. */
export function asksForHelp(argv: string[]): boolean {
  return argv.some((a) => a === "--help" || a === "-h" || a === "--version" || a === "-V" || a === "help");
}
