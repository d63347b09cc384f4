// The socat of a pty pair dies with the process that made it: a SIGKILLed daemon (no handler runs) leaves no socat
// behind, and close() ends it too. Real processes: a Node child (through tsx) opens a pair with openPtyPair and
// reports ready; the test kills it and looks for any process whose command line names the pair's directory.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openPtyPair } from "./pty.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = createRequire(import.meta.url).resolve("tsx");
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  // Whatever a failed run left behind in this test's own directories (a socat that outlived its owner).
  for (const d of dirs) {
    for (const line of processesNaming(d)) {
      try {
        process.kill(Number(line.split(/\s+/)[0]), "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(d, { recursive: true, force: true });
  }
});

function freshDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), "zapvend-pty-test-"));
  dirs.push(d);
  return d;
}

/** Processes whose command line mentions `dir` (socat is started with the pair's links in it): `pid comm args`. */
function processesNaming(dir: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid=,comm=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.includes(dir))
    .map((l) => l.trim());
}

/** A Node process that opens a pty pair in `dir` and prints "ready" once socat made it. */
function startOwner(dir: string): Promise<ChildProcess> {
  const script = path.join(dir, "owner.mjs");
  writeFileSync(
    script,
    `const { openPtyPair } = await import(${JSON.stringify(pathToFileURL(path.join(here, "pty.ts")).href)});\n` +
      `await openPtyPair({ dir: ${JSON.stringify(dir)} });\n` +
      `process.stdout.write("ready\\n");\n` +
      `setInterval(() => {}, 1000);\n`,
  );
  const child = spawn(process.execPath, ["--import", tsx, script], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code, signal) => reject(new Error(`owner exited (${signal ?? code}) before its pair was ready: ${err}`)));
  });
}

describe("openPtyPair: socat does not outlive its owner", () => {
  it("SIGKILL of the process that opened the pair: its socat (and the watchdog) end too", async () => {
    const dir = freshDir();
    const owner = await startOwner(dir);
    // While the owner lives, its socat runs (the check below is not vacuous).
    expect(processesNaming(dir).some((l) => /\bsocat\b/.test(l))).toBe(true);
    const gone = new Promise((resolve) => owner.once("exit", resolve));
    owner.kill("SIGKILL");
    await gone;
    await expect.poll(() => processesNaming(dir), { timeout: 10_000, interval: 50 }).toEqual([]);
  });

  it("close() ends socat and removes the links; the pair reports itself dead", async () => {
    const dir = freshDir();
    const pair = await openPtyPair({ dir });
    expect(pair.alive).toBe(true);
    expect(existsSync(pair.devicePath)).toBe(true);
    expect(processesNaming(dir).some((l) => /\bsocat\b/.test(l))).toBe(true);
    await pair.close();
    expect(pair.alive).toBe(false);
    await expect.poll(() => processesNaming(dir), { timeout: 10_000, interval: 50 }).toEqual([]);
    expect(existsSync(pair.devicePath)).toBe(false);
  });
});
