// Process plumbing shared by the crash test (test/crash/crash.test.ts) and the chaos campaign (scripts/chaos.mjs):
// starts the real built parts of the demo (broker, sim Lightning node, fleet, machine daemons) each as its own
// process on loopback, exactly as scripts/start.mjs does, and kills every one of them at the end, even on failure.
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes, scryptSync } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export const bins = {
  broker: path.join(root, "packages/mqtt-bridge/dist/broker-cli.js"),
  sim: path.join(root, "packages/payments/dist/sim-node-cli.js"),
  machine: path.join(root, "apps/machine/dist/cli.js"),
  fleet: path.join(root, "apps/fleet/dist/cli.js"),
};

/** The parts that are not built (run `npx turbo run build` first). */
export function missingBins() {
  return Object.entries(bins)
    .filter(([, f]) => !existsSync(f))
    .map(([n]) => n);
}

/** Waits (bounded) until every part is built: in a shared checkout someone may be rebuilding dist/ right now. */
export async function waitBuilt(withinMs = 90_000) {
  const deadline = Date.now() + withinMs;
  while (missingBins().length > 0 && Date.now() < deadline) await sleep(1_000);
  return missingBins();
}

/** mulberry32: a small seeded PRNG, so a failing run is replayed with its printed seed. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port that is free on 127.0.0.1 right now (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** fetch with a deadline; resolves `{status, body}` (body parsed as JSON when it is JSON) or rejects. */
export async function http(url, { method = "GET", body, headers = {}, timeoutMs = 5_000 } = {}) {
  const res = await fetch(url, {
    method,
    headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/**
 * Every process the campaign started, so that `killAll` ends them all: a process group of one owner. Each part's
 * stdout/stderr go to a log file (no pipe that could fill up and stall a part).
 */
export class Processes {
  /** @param {string} logDir */
  constructor(logDir) {
    this.logDir = logDir;
    /** @type {Set<import("node:child_process").ChildProcess>} */
    this.children = new Set();
  }

  /**
   * Starts `node <args>` and resolves with `{child, url}` once it prints `<expectName>: <url>` on stdout.
   * @param {string} label  also the log file's name
   * @param {string[]} args
   * @param {string} expectName
   * @param {{env?: Record<string,string>, timeoutMs?: number}} [opts]
   */
  start(label, args, expectName, opts = {}) {
    const logFile = path.join(this.logDir, `${label}.log`);
    const fd = openSync(logFile, "a");
    writeFileSync(fd, `--- start ${new Date().toISOString()} ${args.join(" ")}\n`);
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ZAPVEND_LOG: process.env.ZAPVEND_LOG ?? "info", ...opts.env },
      stdio: ["ignore", "pipe", fd],
    });
    closeSync(fd);
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let buf = "";
      let done = false;
      const timer = setTimeout(() => finish(new Error(`${label} printed no "${expectName}: <url>" in ${timeoutMs} ms (log: ${logFile})`)), timeoutMs);
      const finish = (err, url) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          child.kill("SIGKILL");
          reject(err);
        } else resolve({ child, url, logFile });
      };
      child.stdout.on("data", (d) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trimEnd();
          buf = buf.slice(nl + 1);
          const m = /^(.+?): ((?:https?|mqtts?):\/\/\S+)$/.exec(line);
          if (m && m[1] === expectName) finish(null, m[2]);
        }
      });
      child.once("exit", (code, signal) => {
        const tail = readFileSync(logFile, "utf8").slice(-1500);
        finish(new Error(`${label} exited before it was ready (${signal ?? `code ${code}`}; log: ${logFile}):\n${tail}`));
      });
    });
  }

  /**
   * `start`, tolerating a dist/ that is being rebuilt right now (a shared checkout where someone runs the build: tsup
   * empties dist/ first): a start that fails on a missing module is retried for up to `withinMs`.
   */
  async startRetrying(label, args, expectName, opts = {}, withinMs = 60_000) {
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        return await this.start(label, args, expectName, opts);
      } catch (err) {
        if (!/MODULE_NOT_FOUND|Cannot find module/.test(String(err.message)) || Date.now() > deadline) throw err;
        await sleep(2_000);
      }
    }
  }

  /** SIGKILL: a real crash, no handler runs. Resolves once the process is gone. */
  async crash(child) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await gone;
  }

  /** SIGTERM and wait (bounded); SIGKILL after `graceMs`. */
  async stop(child, graceMs = 10_000) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(t);
  }

  /** Stops every child still running, newest first (machines before the fleet, the node and the broker). */
  async stopAll(graceMs = 5_000) {
    for (const child of [...this.children].reverse()) await this.stop(child, graceMs);
  }

  /** Synchronous last resort (process exit handlers): SIGKILL everything still running. */
  killAllNow() {
    for (const child of this.children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/** An Ed25519 operator key as scripts/start.mjs makes it: `{keyId, publicKeyHex, privateKeyPath}` (PEM written to dir). */
export function operatorKey(dir) {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const privateKeyPath = path.join(dir, "operator-key.pem");
  writeFileSync(privateKeyPath, privateKey.export({ format: "pem", type: "pkcs8" }).toString(), { mode: 0o600 });
  return { keyId: "chaos-operator", publicKeyHex: publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("hex"), privateKeyPath };
}

/** A machine config as scripts/start.mjs writes it, with the paths and ports of one campaign. */
export function machineConfig({ machineId, port, brokerUrl, simUrl, dataDir, pinmap, catalog, simFaults = [], invoiceExpirySec = 60, operatorKeys = [], servicePinHash }) {
  return {
    machineId,
    model: `zapvend crash test ${machineId}`,
    http: { host: "127.0.0.1", port },
    mqtt: { url: brokerUrl, telemetryIntervalMs: 10_000 },
    board: { kind: "sim", pinmap, simFaults },
    payments: { backend: { kind: "sim", url: simUrl }, network: "regtest", invoiceExpirySec },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" }, maxRateAgeSec: 600 },
    catalog,
    dataDir,
    operatorKeys,
    // A campaign opens invoices faster than a shop (and kills the daemon between them): the default cap of 3 unpaid
    // invoices would refuse its orders while earlier ones wait for their expiry.
    maxPendingOrders: 50,
    ...(servicePinHash ? { servicePinHash } : {}),
  };
}

/** A technician PIN hashed in the format of `zapvend-machine hash-pin` (scrypt), for a campaign's service visits. */
export function pinHash(pin) {
  const salt = randomBytes(16);
  const hash = scryptSync(pin, salt, 32, { N: 16384, r: 8, p: 1 });
  return `scrypt$16384$8$1$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes; resolves with that value or the last one. */
export async function until(fn, { timeoutMs = 10_000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch {
      // not there yet
    }
    if (Date.now() >= deadline) return last;
    await sleep(intervalMs);
  }
}
