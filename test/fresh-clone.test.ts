// A newcomer's first commands, on a fresh clone: `npm ci` links every workspace bin (they are committed launchers,
// not paths into a dist/ that does not exist at install time), a launcher says to build when nothing is built yet,
// and after the build the documented commands run through `npx --no-install`, never the registry.
//
// What it clones is the repository's HEAD (committed work only, as CI sees it). Cost on the 2-core CI machine:
// `npm ci --prefer-offline --ignore-scripts` ~70 s under load (install scripts are not what is tested: bins are
// linked either way, and better-sqlite3's native build would add minutes); the build reuses the turbo cache that
// `npm test`'s own builds just filled (test:root depends on them), so it takes seconds; on a cache miss it builds
// for real (~3-5 min).
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(path.join(tmpdir(), "zapvend-clone-"));
const clone = path.join(work, "zapvend");
const BINS = ["zapvend-invoice", "zapvend-harness", "zapvend-machine", "zapvend-fleet", "zapvend-broker"];
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1", npm_config_update_notifier: "false" };

/** Runs in the clone; resolves with the exit code and output (a failing command is a result, not a throw). */
function inClone(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: clone, env, encoding: "utf8", timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** turbo's cache of this checkout: the main worktree's `.turbo/cache` (turbo shares it between git worktrees). */
async function turboCacheDir(): Promise<string> {
  const { stdout } = await run("git", ["rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd: root });
  return path.join(path.dirname(stdout.trim()), ".turbo", "cache");
}

const timings: Record<string, number> = {};
async function timed<T>(name: string, f: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    timings[name] = Date.now() - t0;
  }
}

beforeAll(async () => {
  await timed("clone", () => run("git", ["clone", "--quiet", root, clone]));
  const ci = await timed("npm ci", () => inClone("npm", ["ci", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"]));
  if (ci.code !== 0) throw new Error(`npm ci failed in the clone:\n${ci.stderr.slice(-2000)}`);
}, 900_000);

afterAll(() => {
  process.stderr.write(`fresh clone timings (ms): ${JSON.stringify(timings)}\n`);
  rmSync(work, { recursive: true, force: true });
});

describe("a fresh clone", () => {
  it("npm ci links every workspace bin", () => {
    for (const bin of BINS) expect(existsSync(path.join(clone, "node_modules", ".bin", bin)), bin).toBe(true);
  });

  it("before the build, a bin says to build instead of going to the registry", () => {
    const r = inClone("npx", ["--no-install", "zapvend-harness", "--board", "sim", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: not_built: zapvend-harness is not built yet: run `npm run build`");
    expect(r.stderr).not.toMatch(/404|registry/i);
  });

  describe("after the build", () => {
    beforeAll(async () => {
      const cacheDir = await turboCacheDir();
      const b = await timed("build", () =>
        inClone("npx", ["--no-install", "turbo", "run", "build", "--filter=@zapvend/payments", "--filter=@zapvend/harness", "--filter=@zapvend/machine", `--cache-dir=${cacheDir}`, "--output-logs=errors-only"]),
      );
      if (b.code !== 0) throw new Error(`the build failed in the clone:\n${b.stdout.slice(-2000)}${b.stderr.slice(-2000)}`);
    }, 900_000);

    it("npx --no-install zapvend-invoice decode <a BOLT11 spec vector> prints the decoded invoice", () => {
      const vectors = JSON.parse(readFileSync(path.join(root, "packages/payments/src/bolt11/__fixtures__/bolt11.json"), "utf8")) as {
        vectors: Array<{ valid: boolean; invoice: string; expected: { payment_hash: string; timestamp: number; network: string } }>;
      };
      const v = vectors.vectors.find((x) => x.valid)!;
      const r = inClone("npx", ["--no-install", "zapvend-invoice", "decode", v.invoice]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ paymentHash: v.expected.payment_hash, timestamp: v.expected.timestamp, network: v.expected.network });
    });

    it("npx --no-install zapvend-harness --board sim --yes --json runs every check", () => {
      const r = inClone("npx", ["--no-install", "zapvend-harness", "--board", "sim", "--yes", "--json", "--report", path.join(work, "report.json")]);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { board: string; checks: Array<{ status: string }> };
      expect(report.board).toBe("sim");
      expect(report.checks.length).toBeGreaterThan(5);
      expect(report.checks.filter((c) => c.status === "fail")).toEqual([]);
    });

    it("npx --no-install zapvend-machine --help prints the usage", () => {
      const r = inClone("npx", ["--no-install", "zapvend-machine", "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: zapvend-machine --config <file>/);
    });
  });
});
