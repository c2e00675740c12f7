// Bundles the CLI into dist/bin/ after tsc has type-checked and compiled it.
//
// Why: Node 20 loads ES modules file by file (no compile cache), and the ~90
// files behind `triplicate` (ours, yaml, zod, commander) cost time before any
// work starts: `triplicate --version` 0.50 s -> 0.39 s bundled (paired; Node
// alone 0.13 s). Every command and every cron run starts that much sooner.
//
// The workers are entry points of their own in the same flat folder: the code
// finds them with new URL("./decodeWorker.js", import.meta.url), which must
// resolve next to whichever chunk that code ends up in.
//
// Left outside the bundle, loaded from node_modules at run time: native addons
// (better-sqlite3, zstd-napi), the network SDKs (loaded only when a config
// names an SFTP or S3 destination), and pino with pino-pretty (its
// transports resolve files relative to its own folder).
import { build } from "esbuild";
import { chmod, rm } from "node:fs/promises";

const outdir = "dist/bin";
// Chunk names carry content hashes: start empty so no stale chunk lingers.
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { triplicate: "src/cli/main.ts", decodeWorker: "src/restore/decode/decodeWorker.ts", snapshotWorker: "src/snapshot/snapshotWorker.ts" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  external: ["better-sqlite3", "zstd-napi", "@aws-sdk/*", "ssh2", "ssh2-sftp-client", "pino", "pino-pretty"],
  // CommonJS packages inside an ES module bundle still call require().
  banner: { js: "import { createRequire as __triplicateRequire } from 'node:module'; const require = __triplicateRequire(import.meta.url);" },
  logLevel: "warning",
});
await chmod(`${outdir}/triplicate.js`, 0o755);
