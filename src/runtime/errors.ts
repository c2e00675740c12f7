/**
 * Core (non-adapter) errors. Each carries what it is about and a fix, so the
 * CLI can print one clear line and pick the exit code by class.
 */
export class TriplicateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad config file or flags: exit code 2. */
export class ConfigError extends TriplicateError {
  readonly problems: string[];
  constructor(message: string, problems: string[] = [], options?: { cause?: unknown }) {
    super(problems.length ? `${message}\n  - ${problems.join("\n  - ")}` : message, options);
    this.problems = problems;
  }
}

/** Wrong command-line use: exit code 2. */
export class UsageError extends TriplicateError {}

/** The source database could not be read or snapshotted. */
export class SnapshotError extends TriplicateError {
  constructor(readonly database: string, message: string, options?: { cause?: unknown }) {
    super(`database ${database}: ${message}`, options);
  }
}

/** The snapshot was taken but failed a check; it is never shipped. `nextStep` tells the operator what to do. */
export class VerificationError extends TriplicateError {
  constructor(readonly database: string, readonly failures: string[], options?: { cause?: unknown; nextStep?: string }) {
    super(`database ${database}: snapshot failed verification: ${failures.join("; ")}${options?.nextStep ? `; ${options.nextStep}` : ""}`, options);
  }
}

/** The staging folder cannot take this run's snapshot (no room, not writable). */
export class StagingError extends TriplicateError {}
