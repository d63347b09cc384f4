#!/usr/bin/env node
// `npm run fuzz [-- <filter>]` (issue #10): the fuzz targets of test/fuzz, which `npm test` runs for 2 s each, run
// here for FUZZ_SECONDS each (default 60) with a fresh seed, and report per target: runs, runs/s and, on a failure,
// the counterexample with the seed that replays it. Exit code 1 when any target failed.
//
//   FUZZ_SECONDS=600 npm run fuzz              ten minutes per target
//   FUZZ_SEED=12345 npm run fuzz -- bolt11     replay one seed on the targets whose file name contains "bolt11"
//   FUZZ_RUNS=100000 npm run fuzz              stop each target after that many runs (or the time budget)
//   FUZZ_CALL_MS=500 npm run fuzz              a tighter bound on a single call (default 2000 ms)
//
// The targets are vitest files (they need the built packages and a live machine, as the suite does); this script
// runs them through vitest with the budget in the environment and reads the report each target appends.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const filter = process.argv[2];
const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const seed = process.env.FUZZ_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`FUZZ_SECONDS must be a positive number, not ${process.env.FUZZ_SECONDS}`);
  process.exit(2);
}

const dir = mkdtempSync(path.join(tmpdir(), "zapvend-fuzz-"));
const report = path.join(dir, "report.jsonl");
const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs");
const files = filter ? [`test/fuzz/${filter}`] : ["test/fuzz/"];

console.error(`fuzz: ${seconds} s per target, seed ${seed}${process.env.FUZZ_RUNS ? `, at most ${process.env.FUZZ_RUNS} runs` : ""}`);
const run = spawnSync(
  process.execPath,
  // One file at a time: each target gets the machine's cores to itself, so its runs/s mean something.
  [vitest, "run", "--config", "vitest.config.ts", "--no-file-parallelism", "--reporter", "dot", ...files],
  { cwd: repo, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, FUZZ_SECONDS: String(seconds), FUZZ_SEED: seed, FUZZ_REPORT: report } },
);

let rows = [];
try {
  rows = readFileSync(report, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
} catch {
  // no target reported: vitest failed before any ran (reported below)
}
rmSync(dir, { recursive: true, force: true });

console.log("");
console.table(
  rows.map((r) => ({ target: r.target, runs: r.runs, seconds: r.seconds, "runs/s": r.runsPerSecond, seed: r.seed, result: r.failed ? "FAILED" : "ok" })),
);
for (const r of rows) {
  if (r.notes) console.log(`${r.target}: ${JSON.stringify(r.notes)}`);
}
const failed = rows.filter((r) => r.failed);
for (const r of failed) {
  console.log(`\nFAILED ${r.target}: ${r.error}\n  counterexample: ${r.counterexample}`);
  console.log(`  replay: FUZZ_SEED=${r.seed} FUZZ_SECONDS=${seconds} npm run fuzz  (fast-check path ${r.counterexamplePath})`);
}
if (rows.length === 0) console.log("no fuzz target reported (see the vitest output above)");
const ok = run.status === 0 && failed.length === 0 && rows.length > 0;
console.log(ok ? `fuzz: ${rows.length} targets, no failure` : `fuzz: FAILED (${failed.length} target(s) with a counterexample, vitest exit ${run.status})`);
process.exit(ok ? 0 : 1);
