#!/usr/bin/env node
// Checks that package-lock.json installs on another platform than this one, by default the Raspberry Pi's
// linux-arm64 with glibc: `npm ci` there installs exactly what the lock lists, so a lock that lacks a package the
// Pi needs, or whose packages a Pi cannot install, fails only on the Pi. Two checks, both needed:
// 1. npm's own: `npm ci --dry-run --cpu=<cpu> --os=<os> --libc=<libc>` in a scratch copy of the manifests (it refuses
//    a lock missing a package the tree needs, for that platform too, and lists what it would add there);
// 2. the lock's own tree walked as npm installs it, for that platform (npm's dry run does not check platforms): every
//    required dependency is in the lock and installable there (os/cpu/libc), the optional ones that fit the platform
//    are in the lock, and every family of platform binaries (esbuild, rollup, turbo...) has one for the platform.
// Usage: node scripts/check-lock-platform.mjs [--cpu arm64] [--os linux] [--libc glibc] [--lock <file>] [--no-npm]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** npm's platform rule (npm-install-checks): "!x" excludes x; any plain entry means "only these". */
function allows(list, value) {
  if (!Array.isArray(list) || list.length === 0) return true;
  if (list.includes(`!${value}`)) return false;
  const plain = list.filter((v) => !v.startsWith("!"));
  return plain.length === 0 || plain.includes(value);
}

export function fitsPlatform(entry, target) {
  return allows(entry.os, target.os) && allows(entry.cpu, target.cpu) && (target.os !== "linux" || allows(entry.libc, target.libc));
}

function parentDir(loc) {
  const m = /^(.*?)\/?node_modules\/(?:@[^/]+\/)?[^/]+$/.exec(loc);
  if (m) return m[1];
  return loc === "" ? null : ""; // a workspace folder (packages/hal): its parent is the root
}

function resolve(packages, from, name) {
  for (let dir = from; dir !== null; dir = parentDir(dir)) {
    const loc = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    const entry = packages[loc];
    if (entry) return entry.link ? { loc: entry.resolved, entry: packages[entry.resolved] } : { loc, entry };
  }
  return null;
}

/**
 * Walks the lock as npm would install it on `target`. Returns the problems (empty: it installs) and the packages
 * installed there only because of the platform (the arm-only optional dependencies, for the report).
 * @param {{packages: Record<string, any>}} lock
 * @param {{os: string, cpu: string, libc: string}} target
 */
export function checkLockForPlatform(lock, target) {
  const packages = lock.packages ?? {};
  const problems = [];
  const platformOnly = new Set();
  const seen = new Set();
  const queue = [""];
  const workspaces = Object.entries(packages).filter(([loc, e]) => loc.startsWith("node_modules/") && e.link).map(([, e]) => e.resolved);
  queue.push(...workspaces);
  const where = (loc) => (loc === "" ? "the root package" : loc);
  while (queue.length > 0) {
    const loc = queue.shift();
    if (seen.has(loc)) continue;
    seen.add(loc);
    const entry = packages[loc];
    if (!entry) continue;
    const top = loc === "" || workspaces.includes(loc);
    const optional = new Set(Object.keys(entry.optionalDependencies ?? {}));
    const peerMeta = entry.peerDependenciesMeta ?? {};
    const edges = [
      ...Object.keys(entry.dependencies ?? {}).map((n) => [n, optional.has(n)]),
      ...[...optional].map((n) => [n, true]),
      ...(top ? Object.keys(entry.devDependencies ?? {}).map((n) => [n, false]) : []),
      ...Object.keys(entry.peerDependencies ?? {}).map((n) => [n, peerMeta[n]?.optional === true]),
    ];
    const family = [];
    for (const [name, isOptional] of edges) {
      const found = resolve(packages, loc, name);
      if (!found || !found.entry) {
        if (!isOptional) problems.push(`${name}, required by ${where(loc)}, is not in the lock`);
        else if (/linux-arm64|linux-arm(?!64)|arm64-gnu/.test(name) && /arm/.test(target.cpu)) problems.push(`${name} (optional, for ${target.os}-${target.cpu}), wanted by ${where(loc)}, is not in the lock`);
        continue;
      }
      const restricted = found.entry.os || found.entry.cpu || found.entry.libc;
      if (isOptional && restricted) family.push({ name, fits: fitsPlatform(found.entry, target) });
      if (!fitsPlatform(found.entry, target)) {
        if (!isOptional) problems.push(`${name}, required by ${where(loc)}, cannot install on ${target.os}-${target.cpu}-${target.libc} (os ${JSON.stringify(found.entry.os ?? [])}, cpu ${JSON.stringify(found.entry.cpu ?? [])}, libc ${JSON.stringify(found.entry.libc ?? [])})`);
        continue;
      }
      if (restricted) platformOnly.add(`${name}@${found.entry.version}`);
      queue.push(found.loc);
    }
    // A package that ships one optional binary package per platform (esbuild, rollup, turbo, lightningcss): the
    // lock must hold the one for the target, or the package fails to load there.
    if (family.length >= 3 && !family.some((f) => f.fits)) {
      problems.push(`${where(loc)} has platform packages in the lock (${family.map((f) => f.name).join(", ")}) but none for ${target.os}-${target.cpu}-${target.libc}`);
    }
  }
  return { problems, platformOnly: [...platformOnly].sort() };
}

/** npm's own check: `npm ci --dry-run` for the platform in a scratch copy of the manifests. Returns what it would add. */
export function npmDryRun(lockText, target, manifests) {
  const tmp = mkdtempSync(path.join(tmpdir(), "zapvend-lock-"));
  try {
    for (const [file, text] of Object.entries(manifests)) {
      mkdirSync(path.join(tmp, path.dirname(file)), { recursive: true });
      writeFileSync(path.join(tmp, file), text);
    }
    writeFileSync(path.join(tmp, "package-lock.json"), lockText);
    try {
      const out = execFileSync("npm", ["ci", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund", `--cpu=${target.cpu}`, `--os=${target.os}`, `--libc=${target.libc}`], {
        cwd: tmp,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, npm_config_update_notifier: "false" },
      });
      return { ok: true, adds: out.split("\n").filter((l) => l.startsWith("add ")).map((l) => l.slice(4).trim()), errors: [] };
    } catch (err) {
      const text = `${err.stdout ?? ""}${err.stderr ?? ""}`;
      return { ok: false, adds: [], errors: text.split("\n").filter((l) => /npm error (Missing|Invalid|code)|ERESOLVE|EBADPLATFORM/.test(l)).slice(0, 20) };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The committed package.json files of the workspace (what `npm ci` reads besides the lock). */
export function committedManifests() {
  const files = execFileSync("git", ["ls-files", "package.json", "packages/*/package.json", "apps/*/package.json"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);
  return Object.fromEntries(files.map((f) => [f, readFileSync(path.join(root, f), "utf8")]));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { cpu: { type: "string", default: "arm64" }, os: { type: "string", default: "linux" }, libc: { type: "string", default: "glibc" }, lock: { type: "string" }, "no-npm": { type: "boolean", default: false } },
  });
  const target = { cpu: values.cpu, os: values.os, libc: values.libc };
  const lockText = readFileSync(values.lock ?? path.join(root, "package-lock.json"), "utf8");
  const { problems, platformOnly } = checkLockForPlatform(JSON.parse(lockText), target);
  const npm = values["no-npm"] ? { ok: true, adds: [], errors: [] } : npmDryRun(lockText, target, committedManifests());
  const name = `${target.os}-${target.cpu}-${target.libc}`;
  if (problems.length === 0 && npm.ok) {
    console.log(`lock ok for ${name}${values["no-npm"] ? "" : ` (npm ci would add ${npm.adds.length} packages)`}; platform packages installed there: ${platformOnly.join(", ")}`);
  } else {
    console.error(`the lock does not install on ${name}:`);
    for (const p of [...problems, ...npm.errors]) console.error(`  ${p}`);
    process.exit(1);
  }
}
