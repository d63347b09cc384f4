// BOLT 11 decode speed of @zapvend/payments (built dist) against the npm packages `bolt11` (decodes and recovers the
// payee key with the native libsecp256k1 binding, its fastest path) and `light-bolt11-decoder` (decodes without
// checking the signature), on the same invoices: the valid invoices of the BOLT 11 spec that all three read.
// Goals (issue 3): decode + signature verification against a known payee key >= 3x `bolt11`'s decode;
// decode without the signature >= `light-bolt11-decoder`.
//
// The candidates are measured in interleaved rounds and each ratio is the median of per-round ratios, so a busy
// machine slows baseline and candidate alike. The portable engine (no native binding: OpenSSL + @noble/curves, what
// a board without the addon runs) is measured in a child process, since the engine is chosen once per process.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const CHILD_FLAG = "--bolt11-bench-child";

async function setup() {
  const payments = await import("@zapvend/payments");
  const fixtures = JSON.parse(
    readFileSync(new URL("../packages/payments/src/bolt11/__fixtures__/bolt11.json", import.meta.url), "utf8"),
  );
  return { payments, signer: fixtures.conventions.signer_pubkey, vectors: fixtures.vectors };
}

/** Runs `fns` (name -> per-invoice function) over `invoices` in interleaved rounds; per round, invoices/s of each. */
function interleaved(fns, invoices, { rounds = 11, roundMs = 120 } = {}) {
  const names = Object.keys(fns);
  const calibrate = (fn) => {
    let sets = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 150) {
      for (const inv of invoices) fn(inv);
      sets++;
    }
    return Math.max(1, Math.round((sets / (performance.now() - t0)) * roundMs));
  };
  const setsPerRound = Object.fromEntries(names.map((n) => [n, calibrate(fns[n])]));
  const perRound = [];
  for (let r = 0; r < rounds; r++) {
    const rates = {};
    // Rotate the order so no candidate always runs right after the same neighbour.
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      const fn = fns[name];
      const sets = setsPerRound[name];
      const t0 = performance.now();
      for (let s = 0; s < sets; s++) for (const inv of invoices) fn(inv);
      rates[name] = (sets * invoices.length) / ((performance.now() - t0) / 1000);
    }
    perRound.push(rates);
  }
  return perRound;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => Math.round(((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 1000) / 10;

async function measureOurs(onlyOurs) {
  const { payments, signer, vectors } = await setup();
  const { decodeInvoice, parseInvoice } = payments;
  const bolt11 = require("bolt11");
  const light = require("light-bolt11-decoder");
  const readsEverywhere = (invoice) => {
    try {
      if (bolt11.decode(invoice).payeeNodeKey !== signer) return false;
      light.decode(invoice);
      return decodeInvoice(invoice, { payeeNodeKey: signer }).payeeNodeKey === signer;
    } catch {
      return false;
    }
  };
  const invoices = vectors.filter((v) => v.valid && readsEverywhere(v.invoice)).map((v) => v.invoice);
  if (invoices.length < 8) throw new Error(`only ${invoices.length} invoices are read by every library`);
  const fns = {
    bolt11: (inv) => bolt11.decode(inv),
    light: (inv) => light.decode(inv),
    verify: (inv) => decodeInvoice(inv, { payeeNodeKey: signer }),
    parse: (inv) => parseInvoice(inv),
    recover: (inv) => decodeInvoice(inv),
  };
  if (onlyOurs) {
    delete fns.light;
    delete fns.parse;
  }
  return { engine: payments.signatureEngineName(), invoices: invoices.length, rounds: interleaved(fns, invoices) };
}

function summarise(result, name, base) {
  const values = result.rounds.map((r) => r[name]);
  const row = { value: Math.round(median(values)), unit: "invoices/s", spreadPercent: spread(values) };
  if (base !== undefined) {
    row.baseline = base;
    row.ratio = Math.round(median(result.rounds.map((r) => r[name] / r[base])) * 100) / 100;
  }
  return row;
}

export default async function bolt11Bench() {
  const main = await measureOurs(false);
  const rows = [
    { name: "bolt11: decode (recovers key, native secp256k1)", ...summarise(main, "bolt11") },
    { name: "light-bolt11-decoder: decode (no signature check)", ...summarise(main, "light") },
    { name: `zapvend [${main.engine}]: decode + verify against known payee key (goal >= 3x bolt11)`, ...summarise(main, "verify", "bolt11") },
    { name: `zapvend: decode without signature (goal >= 1x light-bolt11-decoder)`, ...summarise(main, "parse", "light") },
    { name: `zapvend [${main.engine}]: decode + recover payee key`, ...summarise(main, "recover", "bolt11") },
  ];
  if (main.engine !== "portable") {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), CHILD_FLAG], {
      env: { ...process.env, ZAPVEND_SECP256K1: "portable" },
      encoding: "utf8",
      maxBuffer: 16 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`portable-engine child failed: ${child.stderr}`);
    const portable = JSON.parse(child.stdout);
    rows.push(
      { name: "zapvend [portable]: decode + verify against known payee key", ...summarise(portable, "verify", "bolt11") },
      { name: "zapvend [portable]: decode + recover payee key", ...summarise(portable, "recover", "bolt11") },
    );
  }
  rows.push({ name: "invoices in the set (BOLT 11 spec vectors every library reads)", value: main.invoices, unit: "invoices" });
  return rows;
}

if (process.argv.includes(CHILD_FLAG)) {
  process.stdout.write(JSON.stringify(await measureOurs(true)));
}
