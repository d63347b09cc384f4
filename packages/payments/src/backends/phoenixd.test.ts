import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import { PaymentErrorCode } from "../errors.js";
import { FakePhoenixd } from "./__fixtures__/fake-phoenixd.js";
import { PhoenixdBackend } from "./phoenixd.js";

describe("PhoenixdBackend against a phoenixd fake", () => {
  let server: FakePhoenixd;
  let clock: ManualClock;
  let backend: PhoenixdBackend;

  beforeEach(async () => {
    server = await new FakePhoenixd().start();
    clock = new ManualClock();
    backend = new PhoenixdBackend({ url: server.url, password: server.limitedPassword, network: "regtest", clock });
  });
  afterEach(async () => {
    await backend.stop();
    await server.close();
  });

  it("starts with the limited-access password and reports the node key", async () => {
    await backend.start();
    expect(await backend.nodeInfo()).toEqual({ pubkey: server.nodeId, network: "regtest", blockHeight: 150 });
    expect(server.http.requests[0]?.headers["authorization"]).toBe(`Basic ${Buffer.from(`:${server.limitedPassword}`).toString("base64")}`);
  });

  it("refuses a node on another chain than the machine's", async () => {
    server.chain = "mainnet";
    await expect(backend.start()).rejects.toMatchObject({ code: PaymentErrorCode.BAD_RESPONSE });
  });

  it("creates an invoice with form fields in whole sats and sees it settled with the preimage", async () => {
    const created = await backend.createInvoice({ amountMsat: 21_000n, description: "gum", expirySec: 180 });
    const form = server.http.requests.at(-1)?.form;
    expect(Object.fromEntries(form ?? [])).toEqual({ amountSat: "21", description: "gum", expirySeconds: "180" });
    expect(await backend.lookupInvoice(created.paymentHash)).toMatchObject({ state: "open", amountMsat: 21_000n, amountPaidMsat: 0n });
    server.pay(created.paymentHash, 21);
    const st = await backend.lookupInvoice(created.paymentHash);
    expect(st).toMatchObject({ state: "settled", amountMsat: 21_000n, amountPaidMsat: 21_000n, settledAt: 1_763_700_123_456 });
    expect(createHash("sha256").update(Buffer.from(st.preimage ?? "", "hex")).digest("hex")).toBe(created.paymentHash);
  });

  it("counts phoenixd's own fees as paid by the buyer (receivedSat is net of them)", async () => {
    const created = await backend.createInvoice({ amountMsat: 30_000n, description: "x", expirySec: 60 });
    server.pay(created.paymentHash, 30, 3_000);
    expect(await backend.lookupInvoice(created.paymentHash)).toMatchObject({ amountPaidMsat: 30_000n });
  });

  it("refuses sub-sat amounts and hold calls", async () => {
    await expect(backend.createInvoice({ amountMsat: 21_500n, description: "x", expirySec: 60 })).rejects.toMatchObject({ code: PaymentErrorCode.BAD_REQUEST });
    await expect(backend.createHoldInvoice()).rejects.toMatchObject({ code: PaymentErrorCode.HOLD_UNSUPPORTED });
    expect(server.http.requests).toHaveLength(0);
  });

  it("maps 401, 404 and a text 500", async () => {
    const bad = new PhoenixdBackend({ url: server.url, password: "guess", network: "regtest", clock });
    await expect(bad.start()).rejects.toMatchObject({ code: PaymentErrorCode.UNAUTHORIZED });
    await expect(backend.lookupInvoice("ef".repeat(32))).rejects.toMatchObject({ code: PaymentErrorCode.INVOICE_NOT_FOUND });
    server.http.faults.push({ status: 500, text: "java.lang.IllegalStateException: channel not ready" });
    await expect(backend.createInvoice({ amountMsat: 1_000n, description: "x", expirySec: 60 })).rejects.toMatchObject({
      code: PaymentErrorCode.BACKEND_ERROR,
      message: expect.stringContaining("channel not ready"),
    });
  });

  it("times out on a hung phoenixd and reports a dropped connection as unreachable", async () => {
    server.http.faults.push("stall");
    const assertion = expect(backend.lookupInvoice("ef".repeat(32))).rejects.toMatchObject({ code: PaymentErrorCode.BACKEND_TIMEOUT });
    await vi.waitFor(() => expect(server.http.requests).toHaveLength(1));
    await clock.advance(10_000);
    await assertion;
    server.http.faults.push("drop");
    await expect(backend.lookupInvoice("ef".repeat(32))).rejects.toMatchObject({ code: PaymentErrorCode.BACKEND_UNREACHABLE });
  });
});
