// One contract suite for the LND adapter, run against every node that speaks LND's REST API: the sim node always,
// and a real LND when the environment names one (serialport's TEST_PORT pattern):
//   TEST_LND_URL=https://127.0.0.1:8080 TEST_LND_MACAROON_HEX=$(xxd -p -c 10000 invoice+info.macaroon) \
//   TEST_LND_CERT_PATH=~/.lnd/tls.cert npx vitest run src/backends/lnd.contract.test.ts
// Nothing here needs a payer, so it runs against any node with the baked macaroon (info:read invoices:read
// invoices:write); every invoice it makes is canceled.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BackendHint } from "../backend.js";
import { decodeInvoice } from "../bolt11/index.js";
import { startSimNode, type SimNodeServer } from "../sim/server.js";
import { LndBackend, type LndBackendOptions } from "./lnd.js";

interface Target {
  name: string;
  open(): Promise<{ opts: LndBackendOptions; close(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: "sim node",
    async open() {
      const sim: SimNodeServer = await startSimNode({ port: 0, macaroonHex: "abcdef0123" });
      return { opts: { url: sim.url, macaroonHex: "abcdef0123" }, close: () => sim.stop() };
    },
  },
];
if (process.env.TEST_LND_URL) {
  const url = process.env.TEST_LND_URL;
  targets.push({
    name: `LND at ${url}`,
    async open() {
      return {
        opts: {
          url,
          ...(process.env.TEST_LND_MACAROON_HEX ? { macaroonHex: process.env.TEST_LND_MACAROON_HEX } : {}),
          ...(process.env.TEST_LND_CERT_PATH ? { tlsCertPem: readFileSync(process.env.TEST_LND_CERT_PATH, "utf8") } : {}),
        },
        close: async () => undefined,
      };
    },
  });
}

function newPreimage(): { preimage: string; hash: string } {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, hash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

describe.each(targets)("LND REST contract: $name", { timeout: 30_000 }, (target) => {
  let backend: LndBackend;
  let close: () => Promise<void>;
  let pubkey: string;
  const hints: BackendHint[] = [];

  beforeAll(async () => {
    const t = await target.open();
    close = t.close;
    backend = new LndBackend({ ...t.opts, reconnectMinDelayMs: 100 });
    backend.watch((h) => hints.push(h));
    await backend.start();
    pubkey = (await backend.nodeInfo()).pubkey;
  });
  afterAll(async () => {
    await backend?.stop();
    await close?.();
  });

  it("creates a hold invoice for the machine's hash, signed by the node, and looks it up as open", async () => {
    const { hash } = newPreimage();
    const created = await backend.createHoldInvoice({ paymentHash: hash, amountMsat: 12_345n, description: "contract: hold", expirySec: 300 });
    const d = decodeInvoice(created.bolt11, { payeeNodeKey: pubkey });
    expect(d).toMatchObject({ paymentHash: hash, amountMsat: 12_345n, description: "contract: hold", expirySec: 300 });
    const status = await backend.lookupInvoice(hash);
    expect(status).toEqual({ paymentHash: hash, state: "open", amountMsat: 12_345n, amountPaidMsat: 0n });
    await backend.cancelInvoice(hash);
  });

  it("streams the invoice's state: open first, then canceled, and cancel is idempotent", async () => {
    const { hash } = newPreimage();
    await backend.createHoldInvoice({ paymentHash: hash, amountMsat: 1_000n, description: "contract: stream", expirySec: 300 });
    backend.subscribe(hash);
    await vi.waitFor(() => expect(hints).toContainEqual({ type: "invoice", paymentHash: hash, state: "open" }), { timeout: 10_000 });
    await backend.cancelInvoice(hash);
    await vi.waitFor(() => expect(hints).toContainEqual({ type: "invoice", paymentHash: hash, state: "canceled" }), { timeout: 10_000 });
    await backend.cancelInvoice(hash);
    expect((await backend.lookupInvoice(hash)).state).toBe("canceled");
    backend.unsubscribe(hash);
  });

  it("refuses to settle an open invoice, to reuse a hash, and to settle a canceled one", async () => {
    const { preimage, hash } = newPreimage();
    await backend.createHoldInvoice({ paymentHash: hash, amountMsat: 1_000n, description: "contract: refusals", expirySec: 300 });
    await expect(backend.settleInvoice(preimage)).rejects.toMatchObject({ code: "not_held" });
    await expect(backend.createHoldInvoice({ paymentHash: hash, amountMsat: 1_000n, description: "again", expirySec: 300 })).rejects.toMatchObject({
      code: "duplicate_payment_hash",
    });
    await backend.cancelInvoice(hash);
    await expect(backend.settleInvoice(preimage)).rejects.toMatchObject({ code: "already_canceled" });
  });

  it("creates a plain invoice whose hash the node chose", async () => {
    const created = await backend.createInvoice({ amountMsat: 2_000n, description: "contract: plain", expirySec: 300 });
    expect(decodeInvoice(created.bolt11, { payeeNodeKey: pubkey }).paymentHash).toBe(created.paymentHash);
    expect((await backend.lookupInvoice(created.paymentHash)).state).toBe("open");
    await backend.cancelInvoice(created.paymentHash);
  });

  it("answers invoice_not_found for an unknown hash", async () => {
    await expect(backend.lookupInvoice(newPreimage().hash)).rejects.toMatchObject({ code: "invoice_not_found" });
  });
});
