// The fakes held to the upstream facts in __fixtures__/upstream/*.ts, over raw HTTP (no adapter in between): if a
// fake drifts from what CLN, the holdinvoice plugin or BTCPay do, this fails, not only the adapter tests built on it.
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { FakeBtcpay } from "./__fixtures__/fake-btcpay.js";
import { FakeCln, type FakeClnRelease } from "./__fixtures__/fake-cln.js";
import { BTCPAY_BAD_METHOD_REFUSAL, BTCPAY_LN_METHOD, BTCPAY_TEXT_SEARCH } from "./__fixtures__/upstream/btcpay-contract.js";
import { CLN_INVOICE_ERRORS, CLN_WAIT, HOLDINVOICE } from "./__fixtures__/upstream/cln-contract.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function cln(release: FakeClnRelease = "v26.06") {
  const node = await new FakeCln({ release }).start();
  node.runes.set("r", undefined);
  closers.push(() => node.close());
  const rpc = async (method: string, params: Record<string, unknown>) => {
    const res = await fetch(`${node.url}/v1/${method}`, { method: "POST", headers: { rune: "r", "content-type": "application/json" }, body: JSON.stringify(params) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { node, rpc };
}

function pair() {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, payment_hash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

describe("fake CLN + holdinvoice keep to upstream's contract", () => {
  const hold = (p: { preimage: string }, extra: Record<string, unknown> = {}) => ({ amount_msat: 1000, label: `l-${p.preimage.slice(0, 8)}`, description: "d", preimage: p.preimage, cltv: 80, ...extra });

  it("holdinvoice: expiry must be above the floor; cltv required and above 6; unknown params refused; all as 201 results", async () => {
    const { rpc } = await cln();
    const floor = HOLDINVOICE.options.cancelBeforeInvoiceExpiry.defaultSec;
    expect(await rpc("holdinvoice", hold(pair(), { expiry: floor }))).toEqual({ status: 201, body: HOLDINVOICE.expiryRefusal(floor, floor) });
    expect(await rpc("holdinvoice", hold(pair(), { expiry: 180 }))).toEqual({ status: 201, body: HOLDINVOICE.expiryRefusal(floor, 180) });
    expect((await rpc("holdinvoice", hold(pair(), { expiry: floor + 1 }))).body).toHaveProperty("bolt11");
    expect((await rpc("holdinvoice", hold(pair(), { cltv: undefined }))).body).toEqual({ code: -32602, message: "missing required parameter: cltv" });
    expect((await rpc("holdinvoice", hold(pair(), { cltv: 6 }))).body).toEqual(HOLDINVOICE.cltvRefusal(6, 6));
    expect((await rpc("holdinvoice", hold(pair(), { payment_hash: "00" }))).body).toEqual({ code: -1, message: "Invalid argument: 'payment_hash'" });
    // No expiry: CLN's default week, which is above the floor.
    expect((await rpc("holdinvoice", hold(pair()))).body).toMatchObject({ expires_at: 1_763_700_000 + 604_800 });
  });

  it("CLN's own refusal inside holdinvoice is a real RPC error, its code only in the text (cln-plugin wraps it)", async () => {
    const { rpc } = await cln();
    const p = pair();
    await rpc("holdinvoice", hold(p));
    expect(await rpc("holdinvoice", hold(p))).toEqual({ status: 500, body: HOLDINVOICE.wrappedRpcError(900, CLN_INVOICE_ERRORS.duplicateLabel(`l-${p.preimage.slice(0, 8)}`).message) });
    expect(await rpc("holdinvoice", hold(p, { label: "other" }))).toEqual({ status: 500, body: HOLDINVOICE.wrappedRpcError(901, CLN_INVOICE_ERRORS.preimageUsed.message) });
  });

  it("hold states move as the plugin's is_valid_transition allows; repeats answer the state again", async () => {
    const { node, rpc } = await cln();
    const p = pair();
    await rpc("holdinvoice", hold(p));
    expect((await rpc("holdinvoicesettle", { payment_hash: p.payment_hash })).body).toEqual(HOLDINVOICE.wrongState("OPEN"));
    node.pay(p.payment_hash);
    expect((await rpc("holdinvoicelookup", { payment_hash: p.payment_hash })).body).toEqual({ state: "ACCEPTED", htlc_expiry: 290 });
    expect((await rpc("holdinvoicesettle", { payment_hash: p.payment_hash })).body).toEqual({ state: "SETTLED" });
    expect((await rpc("holdinvoicesettle", { payment_hash: p.payment_hash })).body).toEqual({ state: "SETTLED" });
    expect((await rpc("holdinvoicecancel", { payment_hash: p.payment_hash })).body).toEqual(HOLDINVOICE.wrongState("SETTLED"));
    expect((await rpc("holdinvoicelookup", { payment_hash: "ab".repeat(32) })).body).toEqual(HOLDINVOICE.notFound("ab".repeat(32)));
  });

  it("listconfigs tells the plugin's floor as value_int", async () => {
    const { node, rpc } = await cln();
    node.holdExpiryFloorSec = 900;
    const name = HOLDINVOICE.options.cancelBeforeInvoiceExpiry.name;
    expect((await rpc("listconfigs", { config: name })).body).toMatchObject({ configs: { [name]: { value_int: 900 } } });
  });

  it.each(["v24.11", "v25.05", "v26.06"] as const)("wait on %s: at once the index only; a waited-for status change under the release's key", async (release) => {
    const { node, rpc } = await cln(release);
    const first = await rpc("invoice", { amount_msat: 1000, label: "a", description: "d" });
    const now = await rpc("wait", { subsystem: "invoices", indexname: "updated", nextvalue: 0 });
    // Creation moves `created`, not `updated`.
    expect(now.body).toEqual({ subsystem: "invoices", updated: 0 });
    expect(Object.keys(now.body).sort()).toEqual([...CLN_WAIT.immediateAnswerFields].sort());
    const waiting = rpc("wait", { subsystem: "invoices", indexname: "updated", nextvalue: 1 });
    await expect.poll(() => node.waiting).toBe(1);
    node.pay(String(first.body["payment_hash"]));
    const { body } = await waiting;
    const change = { status: "paid", label: "a" };
    expect(Object.keys(change).sort()).toEqual([...CLN_WAIT.updatedCarries].sort());
    expect(body).toEqual({
      subsystem: "invoices",
      updated: 1,
      ...(release === "v26.06" ? {} : { details: change }),
      ...(release === "v24.11" ? {} : { invoices: change }),
    });
  });
});

describe("fake BTCPay keeps to Greenfield's contract", () => {
  async function btcpay(version: 1 | 2) {
    const server = await new FakeBtcpay().start();
    server.version = version;
    closers.push(() => server.close());
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${server.url}/api/v1/stores/${server.storeId}${p}`, {
        method,
        headers: { authorization: "token key-invoices", "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const create = (methodId: string) => call("POST", "/invoices", { amount: "0.00001", currency: "BTC", checkout: { paymentMethods: [methodId] } });
    return { server, call, create };
  }

  it.each([1, 2] as const)("%s.x takes its own Lightning method ids and refuses the others with 422 at the method's path", async (version) => {
    const { create } = await btcpay(version);
    const ids = version === 1 ? BTCPAY_LN_METHOD.v1 : BTCPAY_LN_METHOD.v2;
    for (const id of ids.accepted) expect((await create(id)).status).toBe(200);
    expect((await create(BTCPAY_LN_METHOD.worksOnBoth)).status).toBe(200);
    const refused = version === 1 ? "BTC-LN" : "BTC-LNX";
    expect(await create(refused)).toEqual({
      status: 422,
      body: [{ path: BTCPAY_BAD_METHOD_REFUSAL.path(0), message: version === 1 ? BTCPAY_BAD_METHOD_REFUSAL.messageV1 : BTCPAY_BAD_METHOD_REFUSAL.messageV2 }],
    });
  });

  it.each([1, 2] as const)("%s.x names the method under its own key in payment-methods", async (version) => {
    const { create, call } = await btcpay(version);
    const inv = (await create(BTCPAY_LN_METHOD.worksOnBoth)).body as { id: string };
    const [pm] = (await call("GET", `/invoices/${inv.id}/payment-methods`)).body as Array<Record<string, unknown>>;
    expect(pm).toMatchObject(version === 1 ? { paymentMethod: "BTC-LightningNetwork", cryptoCode: "BTC" } : { paymentMethodId: "BTC-LN", currency: "BTC" });
  });

  it("textSearch is a prefix match of indexed terms: the BOLT 11 and the invoice id yes, the payment hash or a middle part no", async () => {
    const { server, create, call } = await btcpay(2);
    const inv = (await create("BTC-LN")).body as { id: string };
    const stored = server.invoices.get(inv.id)!;
    const search = async (q: string) => ((await call("GET", `/invoices?textSearch=${encodeURIComponent(q)}`)).body as Array<{ id: string }>).map((i) => i.id);
    expect(await search(stored.bolt11)).toEqual([inv.id]);
    expect(await search(stored.bolt11.slice(0, 40))).toEqual([inv.id]);
    expect(await search(`${stored.bolt11}${"x".repeat(600)}`)).toEqual(stored.bolt11.length >= BTCPAY_TEXT_SEARCH.maxChars ? [inv.id] : []);
    expect(await search(inv.id)).toEqual([inv.id]);
    expect(await search(stored.paymentHash)).toEqual([]);
    expect(await search(stored.bolt11.slice(10, 60))).toEqual([]);
  });
});
