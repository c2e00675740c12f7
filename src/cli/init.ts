import { open } from "node:fs/promises";
import { UsageError } from "../runtime/errors.js";
import { EXIT, type ExitCode } from "../runtime/exitCodes.js";
import type { CliIO } from "./common.js";

/** A starting config with every setting explained; every value here passes validation. */
export const EXAMPLE_CONFIG = `# triplicate.yml — what to back up, where, and what "safe" means.
# Strings may use \${ENV_VAR}; keep secrets in the environment, not in this file.
# Relative paths are relative to this file.

databases:
  # name: letters, digits, - and _ (it becomes a folder on every destination)
  - { name: app, path: /var/lib/app/app.db }

destinations:
  # Two folders on two media, one of them taken off site: with the live database that is the
  # 3 copies, 2 media and 1 offsite of the policy below, so this config can pass as written.
  # A folder on a local or mounted disk. 3-2-1 labels default to medium: disk, offsite: false.
  - name: local
    type: local
    path: /backup/sqlite
    # restic semantics, per destination: keepLast, keepHourly, keepDaily, keepWeekly,
    # keepMonthly, keepYearly (newest snapshot of each of the N most recent periods, UTC),
    # keepWithin (e.g. 3d: everything within 3 days of the newest snapshot).
    # The newest snapshot is never deleted, nor the oldest while a period rule has slots
    # left (restic 0.17). Without retention, everything is kept.
    retention: { keepDaily: 7, keepWeekly: 4 }
  # A USB disk that goes home with someone: another medium, and off site.
  - name: usb
    type: local
    path: /mnt/usb/sqlite
    medium: usb-disk
    offsite: true
    retention: { keepDaily: 14, keepMonthly: 6 }
  # A NAS over SFTP (the host key is pinned: ssh-keyscan nas.lan | ssh-keygen -lf -):
  # - name: nas
  #   type: sftp
  #   host: nas.lan
  #   username: backup
  #   privateKeyPath: /etc/triplicate/id_ed25519
  #   hostKeySha256: "SHA256:..."
  #   path: /volume1/backups
  #   medium: nas
  #   retention: { keepDaily: 14, keepMonthly: 6 }
  # An S3 bucket (AWS, or any S3-compatible store with endpoint + forcePathStyle):
  # - name: offsite
  #   type: s3
  #   bucket: backups
  #   prefix: sqlite/
  #   region: eu-west-1
  #   accessKeyId: \${S3_ACCESS_KEY_ID}
  #   secretAccessKey: \${S3_SECRET_ACCESS_KEY}
  #   objectLock: { mode: GOVERNANCE, days: 30 }   # the immutable copy (policy immutable: 1)
  #   retention: { keepMonthly: 12, keepYearly: 3 }

# 3-2-1 on verified copies: copies counts the live database plus each verified copy;
# media counts distinct medium labels; offsite counts destinations with offsite: true.
# Optional: immutable: 1 and maxErrors: 0 (3-2-1-1-0), maxAge: 26h (freshness).
policy: { copies: 3, media: 2, offsite: 1 }

# zstd (default when installed), gzip, or none. level: zstd 1-19 (default 3), gzip 1-9 (default 6).
compression: { algorithm: zstd, level: 3 }

# Encrypt every artifact with age to these public keys (age-keygen prints one, or paste an
# "ssh-ed25519 AAAA..." line from id_ed25519.pub); the backup host needs no private key.
# restore and verify --deep then take --identity FILE (the age identity or the SSH private key).
# encryption: { recipients: ["age1..."] }

# Rows that break a foreign key (SQLite enforces them only when the application asks): warn (default)
# ships the snapshot and names them, fail refuses it, off skips the check. integrity_check always refuses.
# checks: { foreignKeys: warn }

# Where snapshots are staged before shipping (needs room for one compressed and one raw copy).
# staging: /var/tmp/triplicate

# Interrupted uploads and artifacts without a manifest older than this are removed.
# leftoverGrace: 24h

# What stops retention on a bad night (the defaults): a snapshot with more than maxShrink fewer
# rows (in all, or in a table of minTableRows or more) or raw bytes than the last good one, an
# emptied database or a lost table, is shipped but marked an anomaly and nothing is deleted
# (accept it with backup --accept-shrink); a destination whose clock is more than maxClockSkew
# off this host's keeps everything; one run deletes at most maxDelete of a destination's good
# snapshots of a database (prune --force lifts it).
# guard: { maxShrink: 50%, minTableRows: 1000, maxClockSkew: 5min, maxDelete: 50% }
`;

export async function initCommand(flags: { config: string; force?: boolean }, io: CliIO): Promise<ExitCode> {
  let handle;
  try {
    handle = await open(flags.config, flags.force ? "w" : "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new UsageError(`${flags.config} already exists; not overwriting it (use --force, or --config OTHER_FILE)`);
    }
    throw err;
  }
  await handle.writeFile(EXAMPLE_CONFIG);
  await handle.close();
  io.stdout.write(`wrote ${flags.config}; edit it, then run once: triplicate backup --init --config ${flags.config} (later runs, e.g. from cron, without --init)\n`);
  return EXIT.ok;
}
