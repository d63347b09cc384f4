#!/usr/bin/env node
// Builds btcd + btcctl and lnd + lncli from the Go module proxy at the pinned versions (versions.mjs) into
// ~/.cache/zapvend/<tool>-<version>/. A second run finds the stamped binaries and takes well under a second.
//
//   node scripts/lightning/build.mjs          build what is missing, with progress
//   node scripts/lightning/build.mjs --check  exit 0 when built, 1 (and say what is missing) otherwise
//   node scripts/lightning/build.mjs --only btcd|lnd|lnbits
//
// LNbits (for its real-LND suite) is pip-installed into a virtualenv at ~/.cache/zapvend/lnbits-<version>/.
//
// Why lnd is built this way: lnd's go.mod has `replace` directives, so `go install .../cmd/lnd@v...` refuses it. It
// is built as the main module from a writable scratch copy of its module directory instead; that copy also takes the
// kvdb replace (see LND_KVDB_REPLACE) with `go mod edit`, and `-mod=mod` lets go add the go.sum lines for it.
import { spawn } from "node:child_process";
import { cpSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BTCD_VERSION,
  btcdDir,
  btcdStamp,
  GO_TOOLCHAIN,
  LND_KVDB_REPLACE,
  LND_TAGS,
  LND_VERSION,
  LNBITS_PINS,
  LNBITS_VERSION,
  lightningBinaries,
  lnbitsDir,
  lnbitsInstall,
  lnbitsStamp,
  lndDir,
  lndStamp,
} from "./versions.mjs";

const t0 = Date.now();
const say = (msg) => process.stderr.write(`[lightning-build +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

// GOFLAGS from the environment (e.g. -mod=vendor) would change what is built; the toolchain is pinned.
const goEnv = { ...process.env, GOFLAGS: "-buildvcs=false", GOTOOLCHAIN: GO_TOOLCHAIN, CGO_ENABLED: "0" };

/** Runs go, echoing a progress line every few seconds (how many modules downloaded, packages compiled). */
function go(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn("go", args, { cwd, env: goEnv, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let downloads = 0;
    const tick = setInterval(() => say(`  … go ${args[0]} still running (${downloads} modules downloaded so far)`), 15_000);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      const s = String(d);
      downloads += (s.match(/go: downloading/g) ?? []).length;
      err += s;
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    child.on("error", (e) => {
      clearInterval(tick);
      reject(new Error(e.code === "ENOENT" ? "`go` is not on PATH: install Go >= 1.21 (it fetches " + GO_TOOLCHAIN + " itself)" : e.message));
    });
    child.on("close", (code) => {
      clearInterval(tick);
      if (code === 0) resolve(out);
      else reject(new Error(`go ${args.join(" ")} (in ${cwd}) exited ${code}:\n${err.split("\n").filter((l) => !l.startsWith("go: downloading")).slice(-30).join("\n")}`));
    });
  });
}

async function buildBtcd() {
  const dir = btcdDir();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  say(`btcd ${BTCD_VERSION}: go install btcd + btcctl (module proxy) -> ${dir}`);
  // btcd's go.mod has no replace directives, so go install pkg@version works; cmd/btcctl is in the root module.
  await go(["install", "-trimpath", `github.com/btcsuite/btcd@${BTCD_VERSION}`, `github.com/btcsuite/btcd/cmd/btcctl@${BTCD_VERSION}`], tmpdir()).catch(
    (e) => {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    },
  );
  finish(tmp, dir, btcdStamp(), ["btcd", "btcctl"]);
}

async function buildLnd() {
  const dir = lndDir();
  say(`lnd ${LND_VERSION}: go mod download (module proxy)`);
  const info = JSON.parse(await go(["mod", "download", "-json", `github.com/lightningnetwork/lnd@${LND_VERSION}`], tmpdir()));
  if (info.Error) throw new Error(`go mod download lnd@${LND_VERSION}: ${info.Error}`);
  const scratch = mkdtempSync(join(tmpdir(), "zapvend-lnd-src-"));
  const src = join(scratch, "lnd");
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    cpSync(info.Dir, src, { recursive: true });
    makeWritable(src);
    say(`lnd: scratch copy ${src}; pinning ${LND_KVDB_REPLACE.split("=")[1]} (the proxy refuses kvdb v1.4.18)`);
    await go(["mod", "edit", `-replace=${LND_KVDB_REPLACE}`], src);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const common = ["-mod=mod", "-trimpath", `-tags=${LND_TAGS.join(" ")}`, "-ldflags", `-X github.com/lightningnetwork/lnd/build.Commit=${LND_VERSION}`];
    say(`lnd: go build ./cmd/lnd (first build: several minutes on 2 cores)`);
    await go(["build", ...common, "-o", join(tmp, "lnd"), "./cmd/lnd"], src);
    say(`lnd: go build ./cmd/lncli`);
    await go(["build", ...common, "-o", join(tmp, "lncli"), "./cmd/lncli"], src);
    finish(tmp, dir, lndStamp(), ["lnd", "lncli"]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * python3 -m venv + pip install of the pinned LNbits. Built in place (a venv's scripts name its path in their #!
 * line, so it cannot be moved); the stamp written last is what makes it count as installed.
 */
async function installLnbits() {
  const dir = lnbitsDir();
  rmSync(dir, { recursive: true, force: true });
  // cwd: the venv, since importing lnbits writes data/.lnbits_auth_key into the working directory.
  const run = (cmd, args) =>
    new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: existsSync(dir) ? dir : tmpdir(), stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      const tick = setInterval(() => say(`  … ${cmd.split("/").pop()} ${args[0]} still running`), 20_000);
      child.stderr.on("data", (d) => (err = (err + d).slice(-20_000)));
      child.on("error", (e) => {
        clearInterval(tick);
        reject(new Error(`${cmd}: ${e.message}`));
      });
      child.on("close", (code) => {
        clearInterval(tick);
        if (code === 0) resolve();
        else reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${err.split("\n").slice(-20).join("\n")}`));
      });
    });
  say(`LNbits ${LNBITS_VERSION}: python3 -m venv + pip install ${LNBITS_PINS.join(" ")} (PyPI; minutes the first time) -> ${dir}`);
  await run("python3", ["-m", "venv", dir]);
  await run(join(dir, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", ...LNBITS_PINS]);
  await run(join(dir, "bin", "lnbits"), ["--help"]);
  writeFileSync(join(dir, ".complete"), lnbitsStamp());
  say(`done: ${join(dir, "bin", "lnbits")}`);
}

function makeWritable(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    chmodSync(p, statSync(p).mode | 0o200);
    if (e.isDirectory()) makeWritable(p);
  }
  chmodSync(dir, statSync(dir).mode | 0o200);
}

/** Moves the finished binaries into place and stamps them, so a half-done build never counts as built. */
function finish(tmp, dir, stamp, names) {
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  for (const n of names) statSync(join(dir, n));
  writeFileSync(join(dir, ".complete"), stamp);
  say(`done: ${names.map((n) => join(dir, n)).join(", ")}`);
}

async function main() {
  const check = process.argv.includes("--check");
  const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
  const have = lightningBinaries();
  const lnbits = lnbitsInstall();
  if (check) {
    for (const m of [have.missing, lnbits.missing]) if (m) say(m);
    process.exitCode = have.missing || lnbits.missing ? 1 : 0;
    return;
  }
  if (!have.missing) say(`up to date: lnd ${LND_VERSION}, btcd ${BTCD_VERSION} (${lndDir()}, ${btcdDir()})`);
  if (!lnbits.missing) say(`up to date: LNbits ${LNBITS_VERSION} (${lnbitsDir()})`);
  if (lnbits.missing && (only === undefined || only === "lnbits")) await installLnbits();
  if (!have.missing) return;
  // go install writes into GOBIN; btcd's build dir is that GOBIN.
  if (have.missing.includes("btcd") && (only === undefined || only === "btcd")) {
    goEnv.GOBIN = `${btcdDir()}.tmp-${process.pid}`;
    await buildBtcd();
  }
  if (have.missing.includes("lnd") && (only === undefined || only === "lnd")) await buildLnd();
  say("all built");
}

main().catch((err) => {
  say(`FAILED: ${err.message}`);
  process.exitCode = 1;
});
