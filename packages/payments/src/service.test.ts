// The PaymentService over the LND adapter and the sim node: the machine verifies every invoice before a buyer
// sees it, and refuses a node that is not the configured one.
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "./__fixtures__/manual-clock.js";
import type { LightningBackend } from "./backend.js";
import { LndBackend } from "./backends/lnd.js";
import { PaymentService } from "./service.js";
import { startSimNode, type SimNodeServer } from "./sim/server.js";
import type { VerifiedUpdate } from "./monitor.js";

// Generous: CI runs every package's tests at once, and these wait on real loopback HTTP.
const waitFor = <T>(fn: () => T) => vi.waitFor(fn, { timeout: 10_000, interval: 10 });

function newPreimage(): { preimage: string; hash: string } {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, hash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

const teardown: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const t of teardown.splice(0).reverse()) await t();
});

async function setup(
  opts: { payeeNodeKey?: string; network?: "regtest" | "bitcoin"; wrap?: (b: LightningBackend) => LightningBackend; clock?: ManualClock } = {},
) {
  const sim: SimNodeServer = await startSimNode({ port: 0 });
  teardown.push(() => sim.stop());
  const lnd = new LndBackend({ url: sim.url, kind: "sim" });
  const backend = opts.wrap ? opts.wrap(lnd) : lnd;
  const svc = new PaymentService({
    backend,
    network: opts.network ?? "regtest",
    ...(opts.payeeNodeKey ? { payeeNodeKey: opts.payeeNodeKey } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  teardown.push(() => svc.stop());
  return { sim, svc };
}

describe("PaymentService", { timeout: 30_000 }, () => {
  it("pins the node's key at start and hands out only verified hold invoices", async () => {
    const { sim, svc } = await setup();
    expect(svc.health()).toBe("down");
    await svc.start();
    expect(svc.health()).toBe("up");
    expect(svc.nodeInfo?.pubkey).toBe(sim.node.pubkey);
    const { preimage, hash } = newPreimage();
    const inv = await svc.createHoldInvoice({ paymentHash: hash, amountMsat: 42_000n, description: "Juice (A3)", expirySec: 180 });
    expect(inv.paymentHash).toBe(hash);
    expect(inv.expiresAtMs).toBeGreaterThan(Date.now() + 170_000);

    const updates: Array<[string, VerifiedUpdate["state"]]> = [];
    const off = svc.onUpdate((h, u) => updates.push([h, u.state]));
    svc.track(hash, 42_000n);
    const paid = sim.node.pay(inv.bolt11);
    await waitFor(() => expect(updates).toEqual([[hash, "accepted"]]));
    await svc.settle(preimage);
    await expect(paid).resolves.toMatchObject({ preimage });
    off();
  });

  it("refuses an invoice that is not the one asked for, and cancels it on the node", async () => {
    let swappedHash = "";
    const { sim, svc } = await setup({
      // A backend that answers with another (validly signed) invoice than the one requested.
      wrap: (b) =>
        Object.assign(Object.create(b) as LightningBackend, {
          createHoldInvoice: async (req: Parameters<LightningBackend["createHoldInvoice"]>[0]) => {
            const real = await b.createHoldInvoice(req);
            swappedHash = real.paymentHash;
            const other = sim.node.createInvoice({ amountMsat: req.amountMsat * 10n, memo: req.description, expirySec: req.expirySec });
            return { bolt11: other.bolt11, paymentHash: req.paymentHash };
          },
        }),
    });
    await svc.start();
    const { hash } = newPreimage();
    await expect(svc.createHoldInvoice({ paymentHash: hash, amountMsat: 1_000n, description: "x", expirySec: 180 })).rejects.toMatchObject({
      name: "InvoiceError",
      code: "wrong_amount",
    });
    await waitFor(() => expect(sim.node.lookup(swappedHash)?.state).toBe("CANCELED"));
  });

  it("refuses a node with another key or on another network", async () => {
    const a = await setup({ payeeNodeKey: `02${"ab".repeat(32)}` });
    await expect(a.svc.start()).rejects.toMatchObject({ code: "node_mismatch" });
    const b = await setup({ network: "bitcoin" });
    await expect(b.svc.start()).rejects.toMatchObject({ code: "node_mismatch" });
  });

  it("starts while the node is unreachable, issues nothing, and connects when the node comes back", async () => {
    const clock = new ManualClock();
    clock.t = Date.now(); // the sim node signs with the real time; the machine's clock must agree to trust it
    const { sim, svc } = await setup({ clock });
    sim.node.setFaults({ refuse: true });
    await svc.start();
    expect(svc.health()).toBe("down");
    await expect(svc.createHoldInvoice({ paymentHash: newPreimage().hash, amountMsat: 1_000n, description: "x", expirySec: 180 })).rejects.toMatchObject({
      code: "backend_unreachable",
    });

    sim.node.setFaults({ refuse: false });
    await clock.advance(1_000);
    await waitFor(() => expect(svc.health()).toBe("up"));
    await expect(svc.createHoldInvoice({ paymentHash: newPreimage().hash, amountMsat: 1_000n, description: "x", expirySec: 180 })).resolves.toMatchObject({
      bolt11: expect.stringMatching(/^lnbcrt/) as string,
    });
  });
});
