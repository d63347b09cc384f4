// The sim node's own HTTP surface (what the demo, the root e2e tests and a person with curl use): the fault
// switchboard, the wallet's answers, and LND's bodies for bad requests.
import { afterEach, describe, expect, it, vi } from "vitest";
import { startSimNode, type SimNodeServer } from "./server.js";

const servers: SimNodeServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function sim(): Promise<SimNodeServer> {
  const s = await startSimNode({ port: 0 });
  servers.push(s);
  return s;
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("sim node HTTP", { timeout: 30_000 }, () => {
  it("sets and clears faults over HTTP, refusing unknown ones", async () => {
    const s = await sim();
    const set = await post(`${s.url}/sim/faults`, { dropNotifications: 3, payAmountDeltaMsat: "-1000", payTwice: true });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ dropNotifications: 3, payAmountDeltaMsat: "-1000", payTwice: true, stall: false });
    expect(s.node.faults.payAmountDeltaMsat).toBe(-1_000n);

    expect((await post(`${s.url}/sim/faults`, { explode: true })).status).toBe(400);
    expect((await post(`${s.url}/sim/faults`, "{not json")).status).toBe(400);

    const cleared = await post(`${s.url}/sim/faults`, { clear: true });
    expect(cleared.json).toMatchObject({ dropNotifications: 0, payAmountDeltaMsat: "0", payTwice: false });
    expect(await (await fetch(`${s.url}/sim/faults`)).json()).toEqual(cleared.json);
  });

  it("holds LND requests while stalled and answers them once the stall is cleared", async () => {
    const s = await sim();
    await post(`${s.url}/sim/faults`, { stall: true });
    let answered = false;
    const pending = fetch(`${s.url}/v1/getinfo`).then((r) => {
      answered = true;
      return r.json() as Promise<{ identity_pubkey: string }>;
    });
    await vi.waitFor(() => expect(s.stalledRequests).toBe(1), { timeout: 10_000 });
    // The switchboard itself still answers while the LND routes stall.
    expect((await fetch(`${s.url}/sim/faults`)).status).toBe(200);
    expect(answered).toBe(false);
    await post(`${s.url}/sim/faults`, { stall: false });
    await expect(pending).resolves.toMatchObject({ identity_pubkey: s.node.pubkey });
  });

  it("answers the wallet's failures with codes: not an invoice, another node's invoice, a bad body", async () => {
    const s = await sim();
    const other = await sim();
    const foreign = other.node.createInvoice({ amountMsat: 1_000n });
    expect(await post(`${s.url}/wallet/pay`, { bolt11: "lnbcrt1notaninvoice" })).toMatchObject({ status: 400, json: { error: { code: "bad_invoice" } } });
    expect(await post(`${s.url}/wallet/pay`, { bolt11: foreign.bolt11 })).toMatchObject({ status: 409, json: { error: { code: "no_route" } } });
    expect(await post(`${s.url}/wallet/pay`, { invoice: "x" })).toMatchObject({ status: 400, json: { error: { code: "bad_request" } } });
    const wallet = (await (await fetch(`${s.url}/wallet`)).json()) as { balanceMsat: string; payments: unknown[] };
    expect(wallet).toEqual({ balanceMsat: "100000000000", payments: [] });
  });

  it("answers malformed LND requests as LND's gateway does", async () => {
    const s = await sim();
    const bad = await post(`${s.url}/v2/invoices/hodl`, { hash: "!!" });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 3, details: [] });
    const both = await post(`${s.url}/v1/invoices`, { value: "1", value_msat: "1000" });
    expect(both).toMatchObject({ status: 500, json: { code: 2, message: "value and value_msat are mutually exclusive" } });
    const missing = await fetch(`${s.url}/v1/nothing`);
    expect(missing.status).toBe(404);
  });

  it("mines blocks on request and reports the height in getinfo", async () => {
    const s = await sim();
    const before = s.node.blockHeight;
    expect(await post(`${s.url}/sim/blocks`, { n: 6 })).toEqual({ status: 200, json: { blockHeight: before + 6 } });
    const info = (await (await fetch(`${s.url}/v1/getinfo`)).json()) as { block_height: number };
    expect(info.block_height).toBe(before + 6);
  });

  it("serves the wallet page", async () => {
    const s = await sim();
    const res = await fetch(`${s.url}/`);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(await res.text()).toContain(s.node.pubkey);
  });
});
