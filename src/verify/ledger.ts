import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

/** The outcome of one deep check of one copy. */
export interface DeepCheck {
  ok: boolean;
  reason?: string;
  checkedAt: string;
  durationMs: number;
}

type Records = Record<string, DeepCheck>;
const FILE = "deep-verifications.json";
const keyOf = (destination: string, db: string, snapshotId: string) => `${destination}/${db}/${snapshotId}`;

/**
 * Deep checks are expensive (a full download and restore test), so their
 * results are kept on this host, in the staging folder, for `audit` to show
 * "last deep verification" without redoing them. Losing the file loses
 * history only, never a backup.
 */
export class VerificationLog {
  private constructor(private readonly file: string, private records: Records) {}

  static async open(stagingDir: string): Promise<VerificationLog> {
    const file = path.join(stagingDir, FILE);
    let records: Records = {};
    try {
      records = JSON.parse(await readFile(file, "utf8")) as Records;
    } catch {
      /* first use, or unreadable: start empty */
    }
    return new VerificationLog(file, records);
  }

  get(destination: string, db: string, snapshotId: string): DeepCheck | undefined {
    return this.records[keyOf(destination, db, snapshotId)];
  }

  record(destination: string, db: string, snapshotId: string, check: DeepCheck): void {
    this.records[keyOf(destination, db, snapshotId)] = check;
  }

  async save(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(this.records, null, 1));
    await rename(tmp, this.file);
  }
}
