// The regtest network for the whole root test run (vitest globalSetup of the "lightning" project): started once, or
// reused when `npm run regtest` is already running in this checkout (its `.zapvend/regtest/env.json` answers).
//
// Only this project uses the network, so the parallel package suites that turbo runs never start their own. The
// network is run by scripts/lightning/regtest.mjs as a child process that owns btcd and both LND (with
// --parent-pid, so a killed vitest does not leak nodes); tests in other workers crash and restart nodes through its
// loopback control API. Without the binaries the suites skip and say why; with ZAPVEND_REQUIRE_SERVICES=1 (CI) the
// missing network is a failure.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
// @ts-expect-error -- plain ESM script without types
import { lightningBinaries } from "../../scripts/lightning/versions.mjs";
import type { RegtestEnv } from "./regtest-env.js";

const root = resolve(import.meta.dirname, "../..");
let child: ChildProcess | undefined;

async function alive(envPath: string): Promise<RegtestEnv | undefined> {
  if (!existsSync(envPath)) return undefined;
  try {
    const env = JSON.parse(readFileSync(envPath, "utf8")) as RegtestEnv;
    if (!env.controlUrl) return undefined;
    const r = await fetch(`${env.controlUrl}/env`, { signal: AbortSignal.timeout(3_000) });
    return r.ok ? ((await r.json()) as RegtestEnv) : undefined;
  } catch {
    return undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const required = process.env.ZAPVEND_REQUIRE_SERVICES === "1";
  const bins = lightningBinaries() as { missing?: string };
  const skip = (reason: string) => {
    if (required) throw new Error(`ZAPVEND_REQUIRE_SERVICES=1 but the regtest network is unavailable: ${reason}`);
    process.stderr.write(`[regtest] real-LND suites skip: ${reason}\n`);
    project.provide("regtest", null);
    project.provide("regtestSkipReason", reason);
    return async () => undefined;
  };
  if (bins.missing) return skip(bins.missing);

  const reused = (await alive(join(root, ".zapvend/regtest/env.json"))) ?? (await alive(join(root, ".zapvend/regtest-test/env.json")));
  if (reused) {
    process.stderr.write(`[regtest] reusing the running network (${reused.controlUrl})\n`);
    project.provide("regtest", reused);
    return async () => undefined;
  }

  const dir = join(root, ".zapvend/regtest-test");
  const t0 = Date.now();
  process.stderr.write(`[regtest] starting btcd + 2 LND for the real-LND suites in ${dir}\n`);
  const proc = spawn(process.execPath, [join(root, "scripts/lightning/regtest.mjs"), "--dir", dir, "--parent-pid", String(process.pid)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let log = "";
  proc.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
    if (process.env.ZAPVEND_REGTEST_VERBOSE) process.stderr.write(d);
  });
  const envPath = await new Promise<string>((resolveReady, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the regtest network did not start within 6 min:\n${log.slice(-3000)}`)), 360_000);
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /READY (.+)\n/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveReady(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the regtest network exited (${code}) before it was ready:\n${log.slice(-3000)}`));
    });
  });
  const env = JSON.parse(readFileSync(envPath, "utf8")) as RegtestEnv;
  process.stderr.write(`[regtest] network ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  project.provide("regtest", env);
  return async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child?.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
}
