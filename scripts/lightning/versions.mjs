// Pinned versions of the real Lightning stack the regtest network runs, and where their binaries live.
// Binaries are kept outside the repository, keyed by version: `~/.cache/zapvend/<tool>-<version>/`
// (or `$ZAPVEND_CACHE_DIR/<tool>-<version>/`).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** lnd: the newest tag the Go module proxy serves here (`go list -m -versions github.com/lightningnetwork/lnd`). */
export const LND_VERSION = "v0.21.6-beta";
/** btcd: v0.26.x has regtest's CSV/SegWit/Taproot active from height 1 (btcd@v0.26.2 chaincfg/params.go). */
export const BTCD_VERSION = "v0.26.2";
/** lnd v0.21.6-beta's go.mod says `go 1.26.10`; the toolchain comes through the module proxy. */
export const GO_TOOLCHAIN = "go1.26.10";
/**
 * lnd v0.21.6-beta requires github.com/lightningnetwork/lnd/kvdb v1.4.18, which this workplace's module proxy refuses
 * (403 "This module version is not available"). v1.4.16 is served, is one patch back, and lnd builds and runs with it,
 * so the build pins it with a `replace` in a scratch copy of lnd's module (the module cache is never touched).
 */
export const LND_KVDB_REPLACE = "github.com/lightningnetwork/lnd/kvdb=github.com/lightningnetwork/lnd/kvdb@v1.4.16";
/**
 * invoicesrpc is the one that matters: without it /v2/invoices/hodl, /settle, /cancel and /subscribe answer 404
 * (lnd@v0.21.6-beta lnrpc/invoicesrpc/*.go are `//go:build invoicesrpc`). routerrpc has no tag and is always built.
 */
export const LND_TAGS = ["signrpc", "walletrpc", "chainrpc", "invoicesrpc", "peersrpc", "routerrpc"];

/**
 * LNbits from PyPI, in a virtualenv outside the repository. lnbits 1.6.2's dependency bolt11 2.1.1 asks for any
 * bitstring, and bitstring 5.0.0 removed the ConstBitStream that bolt11 imports (`lnbits --help` fails with
 * "cannot import name 'ConstBitStream'"), so the last 4.x is pinned beside it.
 */
export const LNBITS_VERSION = "1.6.2";
export const LNBITS_PINS = [`lnbits==${LNBITS_VERSION}`, "bitstring==4.4.0"];

export function lnbitsDir() {
  return join(cacheRoot(), `lnbits-${LNBITS_VERSION}`);
}

export function lnbitsStamp() {
  return JSON.stringify({ pins: LNBITS_PINS });
}

/** The LNbits executable when installed, else `{missing: reason}`. */
export function lnbitsInstall() {
  const d = lnbitsDir();
  if (!complete(d, lnbitsStamp(), ["bin/lnbits"])) return { missing: `LNbits ${LNBITS_VERSION} not installed (${d}); run \`node scripts/lightning/build.mjs --only lnbits\`` };
  return { lnbits: join(d, "bin", "lnbits") };
}

export function cacheRoot() {
  return process.env.ZAPVEND_CACHE_DIR ?? join(homedir(), ".cache", "zapvend");
}

export function lndDir() {
  return join(cacheRoot(), `lnd-${LND_VERSION}`);
}

export function btcdDir() {
  return join(cacheRoot(), `btcd-${BTCD_VERSION}`);
}

/** What a finished build records beside its binaries; a build with other inputs is redone. */
export function lndStamp() {
  return JSON.stringify({ lnd: LND_VERSION, go: GO_TOOLCHAIN, tags: LND_TAGS, replace: LND_KVDB_REPLACE });
}

export function btcdStamp() {
  return JSON.stringify({ btcd: BTCD_VERSION, go: GO_TOOLCHAIN });
}

function complete(dir, stamp, names) {
  try {
    return readFileSync(join(dir, ".complete"), "utf8") === stamp && names.every((n) => existsSync(join(dir, n)));
  } catch {
    return false;
  }
}

/**
 * The binaries when they are built, else `{missing: reason}`. Never builds: the fixtures call this and skip (or,
 * with ZAPVEND_REQUIRE_SERVICES=1, fail) when the build has not run.
 */
export function lightningBinaries() {
  const l = lndDir();
  const b = btcdDir();
  const missing = [];
  if (!complete(l, lndStamp(), ["lnd", "lncli"])) missing.push(`lnd ${LND_VERSION} (${l})`);
  if (!complete(b, btcdStamp(), ["btcd", "btcctl"])) missing.push(`btcd ${BTCD_VERSION} (${b})`);
  if (missing.length > 0) return { missing: `${missing.join(" and ")} not built; run \`node scripts/lightning/build.mjs\`` };
  return { lnd: join(l, "lnd"), lncli: join(l, "lncli"), btcd: join(b, "btcd"), btcctl: join(b, "btcctl") };
}
