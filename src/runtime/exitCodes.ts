/** DESIGN.md's exit codes, shared by every command. */
export const EXIT = {
  ok: 0,
  /** Nothing verified was shipped or restored, or an error. */
  failed: 1,
  /** Bad flags or config. */
  usage: 2,
  /** Something verified landed, but a destination failed, a copy is damaged, or the policy is not met. */
  degraded: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The worst of several outcomes: failed > degraded > ok. */
export function worstExit(codes: ExitCode[]): ExitCode {
  if (codes.includes(EXIT.usage)) return EXIT.usage;
  if (codes.includes(EXIT.failed)) return EXIT.failed;
  if (codes.includes(EXIT.degraded)) return EXIT.degraded;
  return EXIT.ok;
}
