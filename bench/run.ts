/**
 * npm run bench -- [--only backup,network,restore] [--size MB] [--runs N]
 * Each bench prints a table and writes bench/results/<name>.json.
 */
import { flag } from "./lib.js";

const only = flag("only", "backup,network,restore").split(",");
for (const name of only) {
  console.log(`\n== bench: ${name} ==`);
  await import(`./${name}.js`);
}
