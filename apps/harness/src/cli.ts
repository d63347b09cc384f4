#!/usr/bin/env node
// The zapvend-harness bin. Owns the process: SIGINT aborts the running check (its actuator stops in `finally`)
// and the harness closes the board, which drives every output to its safe level, before exiting.
import { createInterface } from "node:readline/promises";
import { runHarness } from "./harness.js";

const ac = new AbortController();
let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130); // a second Ctrl-C: the first already stopped every actuator
  interrupted = true;
  process.stderr.write("\ninterrupted: stopping the running check...\n");
  ac.abort();
});

const rl = process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stderr }) : null;
const code = await runHarness(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  ...(rl ? { ask: (q: string) => rl.question(q).then((a) => a, () => null) } : {}),
  signal: ac.signal,
});
rl?.close();
process.exitCode = interrupted ? 130 : code;
