// The lockfile installs on the Raspberry Pi (linux-arm64, glibc), arm-only optional dependencies included, and a
// lock that would not is refused here rather than on the Pi (scripts/check-lock-platform.mjs).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { checkLockForPlatform, committedManifests, npmDryRun } from "../scripts/check-lock-platform.mjs";

type Lock = { packages: Record<string, Record<string, unknown>> };
type Check = (lock: Lock, target: typeof pi) => { problems: string[]; platformOnly: string[] };
type DryRun = (lock: string, target: typeof pi, manifests: Record<string, string>) => { ok: boolean; adds: string[]; errors: string[] };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const lockText = readFileSync(path.join(root, "package-lock.json"), "utf8");
const pi = { os: "linux", cpu: "arm64", libc: "glibc" };
const check = checkLockForPlatform as Check;
const dryRun = npmDryRun as DryRun;
const lock = (): Lock => JSON.parse(lockText) as Lock;
const without = (l: Lock, suffix: string): Lock => {
  for (const k of Object.keys(l.packages)) if (k.endsWith(suffix)) delete l.packages[k];
  return l;
};

describe("package-lock.json on a Raspberry Pi (linux-arm64, glibc)", () => {
  it("installs there, with the arm-only optional dependencies (npm's dry run and the lock's own tree)", () => {
    const r = check(lock(), pi);
    expect(r.problems).toEqual([]);
    for (const p of ["@iiot2k/gpiox", "raspi-io", "@esbuild/linux-arm64", "@rollup/rollup-linux-arm64-gnu", "@turbo/linux-arm64"]) {
      expect(r.platformOnly.some((x) => x.startsWith(`${p}@`)), p).toBe(true);
    }
    const npm = dryRun(lockText, pi, committedManifests() as Record<string, string>);
    expect(npm.errors).toEqual([]);
    expect(npm.ok).toBe(true);
    expect(npm.adds.some((a) => a.startsWith("@iiot2k/gpiox "))).toBe(true);
    expect(npm.adds.some((a) => a.startsWith("raspi-io "))).toBe(true);
  }, 120_000);

  it("a lock without the Pi's esbuild binary is refused, by npm and by the walk", () => {
    const broken = without(lock(), "@esbuild/linux-arm64");
    expect(check(broken, pi).problems.join("\n")).toMatch(/@esbuild\/linux-arm64.*not in the lock|none for linux-arm64-glibc/);
    const npm = dryRun(JSON.stringify(broken), pi, committedManifests() as Record<string, string>);
    expect(npm.ok).toBe(false);
    expect(npm.errors.join("\n")).toContain("@esbuild/linux-arm64");
  }, 120_000);

  it("a required package the lock pins to x64 is refused (npm's dry run does not check platforms: the walk does)", () => {
    const broken = lock();
    broken.packages["node_modules/johnny-five"]!.cpu = ["x64"];
    expect(check(broken, pi).problems).toEqual([expect.stringMatching(/^johnny-five, required by packages\/hal, cannot install on linux-arm64-glibc/)]);
    // The same lock is fine on the machine that wrote it: the check is about the Pi.
    expect(check(broken, { ...pi, cpu: "x64" }).problems).toEqual([]);
  });

  it("a lock without the gpiod board's binding is refused", () => {
    const broken = without(lock(), "@iiot2k/gpiox");
    // Optional for hal, so the walk lets it be; npm refuses a lock out of sync with hal's package.json.
    const npm = dryRun(JSON.stringify(broken), pi, committedManifests() as Record<string, string>);
    expect(npm.ok).toBe(false);
  }, 120_000);
});
