// Shared statistics and helpers of the benchmarks (not a benchmark itself: run.mjs only runs *.bench.mjs).
// Percentiles are nearest-rank on the sorted samples; `spread` is p95 - p5 in the figure's unit, which for fewer than
// 20 samples is max - min.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Nearest-rank percentile (p in 0..100) of `xs`. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export const median = (xs) => percentile(xs, 50);

/** p95 - p5 (nearest rank): with fewer than 20 samples that is max - min. */
export const spread = (xs) => percentile(xs, 95) - percentile(xs, 5);

/** Rounds to `digits` decimals. */
export const round = (x, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

/** A summary of latency samples in ms: p50, p99, max, spread (p95 - p5) and the count. */
export function summarize(xs, digits = 2) {
  return {
    p50: round(percentile(xs, 50), digits),
    p99: round(percentile(xs, 99), digits),
    max: round(Math.max(...xs), digits),
    min: round(Math.min(...xs), digits),
    spread: round(spread(xs), digits),
    samples: xs.length,
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function portOpen(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const c = net.connect(port, host);
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function until(fn, { timeoutMs = 10_000, everyMs = 10, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Mosquitto on a free loopback port (/usr/sbin/mosquitto or ZAPVEND_BENCH_MOSQUITTO), or null when not installed. */
export async function startMosquitto(dir) {
  const bin = [process.env.ZAPVEND_BENCH_MOSQUITTO, "/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => p && existsSync(p));
  if (!bin) return null;
  const port = await freePort();
  const conf = path.join(dir, "mosquitto.conf");
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", ""].join("\n"));
  const proc = spawn(bin, ["-c", conf], { stdio: "ignore" });
  await until(() => portOpen(port), { timeoutMs: 5_000, everyMs: 25, what: "mosquitto" });
  return { proc, url: `mqtt://127.0.0.1:${port}`, kind: "mosquitto", stop: () => proc.kill("SIGTERM") };
}

/** A broker of its own for a benchmark: Mosquitto, or the embedded broker (aedes) as a child when there is none. */
export async function startBroker(dir) {
  const m = await startMosquitto(dir);
  if (m) return m;
  const { proc, url } = await spawnPrinting("broker", [path.join(root, "packages/mqtt-bridge/dist/broker-cli.js"), "--port", "0", "--allow-anonymous"], "broker");
  return { proc, url, kind: "aedes", stop: () => proc.kill("SIGTERM") };
}

/**
 * Spawns `node <args>` and resolves with the first `<expectName>: <url>` line it prints on stdout (the convention of
 * every zapvend bin). stderr goes to `logFile` when given, else is dropped. Rejects if it exits or takes > 20 s.
 */
export function spawnPrinting(label, args, expectName, { logFile, env } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", logFile ? "pipe" : "ignore"] });
    if (logFile) proc.stderr.pipe(createWriteStream(logFile));
    let buf = "";
    const timer = setTimeout(() => (proc.kill("SIGKILL"), reject(new Error(`${label} did not start within 20 s`))), 20_000);
    proc.stdout.on("data", (d) => {
      buf += d.toString();
      for (const line of buf.split("\n")) {
        const m = /^([^:]+): ((?:https?|mqtt):\/\/\S+)$/.exec(line.trim());
        if (m && m[1] === expectName) {
          clearTimeout(timer);
          proc.stdout.removeAllListeners("data");
          proc.stdout.resume();
          resolve({ proc, url: m[2] });
          return;
        }
      }
    });
    proc.once("exit", (code, signal) => (clearTimeout(timer), reject(new Error(`${label} exited before it was ready (${signal ?? code})`))));
  });
}

/** Ends a child and waits for it (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopChild(proc, graceMs = 5_000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGTERM");
  const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(t);
}

export async function postJson(url, body) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { text };
  }
  return { status: res.status, body: json };
}
