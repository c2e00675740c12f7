import type { Command } from "commander";

/** The examples under each command's --help: what an operator types first, most common first. */
const EXAMPLES: Record<string, string[]> = {
  backup: [
    "triplicate backup --init --config /etc/triplicate.yml      # once: create and mark new destinations",
    "triplicate backup --config /etc/triplicate.yml --tag nightly",
    "triplicate backup --db app --db billing --dry-run          # what would ship, writing nothing",
  ],
  list: ["triplicate list --config /etc/triplicate.yml", "triplicate list --db app --json | jq '.destinations[].copies[].state'"],
  prune: ["triplicate prune --dry-run --config /etc/triplicate.yml   # the plan: what is kept and why", "triplicate prune --db app --config /etc/triplicate.yml"],
  forget: [
    "triplicate forget app 20261124T021500Z-1a2b --dry-run     # what would go, from where",
    "triplicate forget app 20261124T021500Z-1a2b               # delete that snapshot everywhere",
  ],
  restore: [
    "triplicate restore app --to /tmp/app.db                   # newest copy that proves itself",
    "triplicate restore app --at 2d --from nas --to /tmp/app.db",
  ],
  verify: ["triplicate verify --config /etc/triplicate.yml", "triplicate verify --deep --max-time 20m   # restore-test, least recently proven first"],
  audit: ["triplicate audit --format html --out audit.html", "triplicate audit --format json | jq .policy"],
  schedule: ['triplicate schedule --cron "15 2 * * *" --config /etc/triplicate.yml   # 02:15 nightly, stays running', 'triplicate schedule --cron "0 */6 * * *" --timezone Europe/Berlin --json'],
  init: ["triplicate init --config /etc/triplicate.yml"],
  doctor: [
    "triplicate doctor app --full --config /etc/triplicate.yml   # diagnosis and options; changes nothing",
    "triplicate doctor /srv/app.db --salvage /srv/app-salvaged.db  # every readable row into a new file",
  ],
};

/** Exit codes as the README's table states them; a command that cannot be degraded says so. */
const EXIT_CODES: Record<string, string> = {
  init: "0 written   2 the file exists (use --force) or a usage error",
  doctor: "0 healthy   1 damaged   2 usage error (an existing --salvage OUT, an unknown name)",
  schedule: "0 stopped by SIGTERM/SIGINT after the run under way finished   1 killed by a second signal   2 bad --cron or config at start\n  (each run's own exit code is in its log line)",
};
const DEFAULT_EXIT = "0 ok   1 failed   2 usage or config error   3 degraded (something verified, but a destination failed,\n  a copy is damaged, retention was held, or the policy is not met)";

/** Adds "Examples:" and "Exit codes:" to the --help of every subcommand of `program`. */
export function addHelpExamples(program: Command): void {
  for (const cmd of program.commands) {
    const examples = EXAMPLES[cmd.name()] ?? [];
    const text = [
      ...(examples.length ? ["", "Examples:", ...examples.map((e) => `  ${e}`)] : []),
      "",
      "Exit codes:",
      `  ${EXIT_CODES[cmd.name()] ?? DEFAULT_EXIT}`,
    ].join("\n");
    cmd.addHelpText("after", text);
  }
  program.addHelpText("after", `\nExit codes (every command):\n  ${DEFAULT_EXIT}\n\nRun triplicate COMMAND --help for each command's options and examples.`);
}
