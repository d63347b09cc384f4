#!/usr/bin/env node
// `npm run bench`: runs every benchmark in bench/ (files named *.bench.mjs or *.bench.ts, each a module whose default
// export is an async function returning a list of {name, value, unit, baseline?, ratio?}), prints a table and
// writes bench/results/latest.json with the machine it ran on.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const files = readdirSync(dir)
  .filter((f) => /\.bench\.(mjs|js)$/.test(f))
  .filter((f) => !only || f.includes(only))
  .sort();

if (files.length === 0) {
  console.error(only ? `no benchmark matches "${only}"` : "no benchmarks in bench/ yet");
  process.exit(1);
}

const results = [];
for (const file of files) {
  console.error(`bench: ${file} ...`);
  const mod = await import(pathToFileURL(path.join(dir, file)).href);
  const rows = await mod.default();
  for (const row of rows) results.push({ file, ...row });
}

const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()}-${os.arch()}`,
};
mkdirSync(path.join(dir, "results"), { recursive: true });
writeFileSync(path.join(dir, "results", "latest.json"), JSON.stringify({ ranAt: new Date().toISOString(), machine, results }, null, 2) + "\n");
console.table(results.map(({ name, value, unit, baseline, ratio }) => ({ name, value, unit, baseline, ratio })));
console.error(`written: bench/results/latest.json`);
