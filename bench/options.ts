/**
 * The flags of `npm run bench`, with the full-size defaults of issue 13 and
 * the `--quick` preset (small enough to finish in about two minutes, to prove
 * the bench works; its figures mean little). Explicit flags beat the preset.
 */
import os from "node:os";
import path from "node:path";
import { flag } from "./lib.js";

export interface BenchOptions {
  quick: boolean;
  /** Database size (MiB) of the backup, restore and writer rows. */
  sizeMB: number;
  /** Alternated runs per comparison. */
  runs: number;
  /** Fleet sizes (databases of `fleetDbMB` each). */
  fleet: number[];
  fleetDbMB: number;
  /** Database sizes of the peak-RSS row; 4 GiB only with --big (generating it takes minutes). */
  rssSizesMB: number[];
  /** PRAGMA synchronous of the writer in the writer row. */
  writerSync: "full" | "normal";
  /** Scratch folder for databases, destinations and staging. */
  dir: string;
}

export function benchOptions(argv: string[] = process.argv): BenchOptions {
  const quick = argv.includes("--quick");
  const big = argv.includes("--big");
  const sizeMB = Number(flag("size", quick ? "8" : "1024"));
  const list = (name: string, fallback: string) => flag(name, fallback).split(",").map(Number).filter((n) => n > 0);
  return {
    quick,
    sizeMB,
    runs: Number(flag("runs", quick ? "2" : "3")),
    fleet: list("fleet", quick ? "5,10" : "100,300,1000"),
    fleetDbMB: Number(flag("fleet-db-mb", "1")),
    rssSizesMB: list("rss-sizes", quick ? `${sizeMB},${sizeMB * 4}` : big ? "1024,4096" : "1024"),
    writerSync: flag("writer-sync", "full") === "normal" ? "normal" : "full",
    dir: path.join(flag("dir", os.tmpdir()), "triplicate-bench"),
  };
}
