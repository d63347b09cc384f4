// The machine on real LND, end to end: the daemon (apps/machine dist, its own process) with the sim board and the
// LND backend on the regtest operator's node, and a buyer paying from the buyer's node over the real channel. Every
// assertion about money reads the real node's own state (the operator's invoice, the buyer's payment and channel
// balance); what came out reads the sim board's physical record, which the daemon's journal cannot rewrite.
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error -- plain ESM helpers without types
import { Processes, bins, freePort, http, machineConfig, root, until } from "../crash/system.mjs";
// @ts-expect-error -- plain ESM helpers without types
import { readPhysical } from "../crash/reconcile.mjs";
// @ts-expect-error -- plain ESM harness without types
import { lnd, lndStream } from "../../scripts/lightning/rest.mjs";
import { control, restNode, type RegtestEnv } from "./regtest-env.js";

const env = inject("regtest");
const MACHINE_ID = "snacks-lnd";
const SLOT = "A2";
const PRICE_MSAT = 900_000n;
const catalog = [
  { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "1500000" }, stock: 5, capacity: 10 },
  { slot: "A2", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: PRICE_MSAT.toString() }, stock: 5, capacity: 10 },
];

type Payment = { status: string; payment_preimage?: string; failure_reason?: string };

describe.skipIf(!env)(`the machine on real LND (regtest)${env ? "" : `: skipped, ${inject("regtestSkipReason")}`}`, () => {
  const e = env as RegtestEnv;
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-lnd-system-"));
  const procs = new Processes(dir);
  const physicalLog = path.join(dir, "physical.jsonl");
  let brokerUrl = "";
  let kioskUrl = "";
  let daemon: { child: ChildProcess; url: string } | undefined;
  let configFile = "";
  let n = 0;
  const buyer = () => restNode(e.buyer, "buyer", { admin: true });
  const operator = () => restNode(e.operator, "operator", { admin: true });

  async function startDaemon(simFaults: string[] = [], fresh = true): Promise<void> {
    if (fresh) {
      const pinmap = JSON.parse(readFileSync(path.join(root, "hardware/pinmaps/snacks.json"), "utf8")) as { spirals: Record<string, { revolutionMs: number }> };
      for (const s of Object.values(pinmap.spirals)) s.revolutionMs = 800;
      const pinmapFile = path.join(dir, "snacks-fast.json");
      writeFileSync(pinmapFile, JSON.stringify(pinmap));
      const cfg = machineConfig({ machineId: MACHINE_ID, port: await freePort(), brokerUrl, simUrl: "", dataDir: path.join(dir, `data-${++n}`), pinmap: pinmapFile, catalog, simFaults });
      cfg.payments = {
        backend: { kind: "lnd", url: e.operator.restUrl, macaroonPath: e.operator.macaroonPath, tlsCertPath: e.operator.tlsCertPath },
        network: "regtest",
        invoiceExpirySec: 120,
      };
      configFile = path.join(dir, `machine-${n}.json`);
      writeFileSync(configFile, JSON.stringify(cfg));
    }
    daemon = await procs.startRetrying(MACHINE_ID, [bins.machine, "--config", configFile], `kiosk ${MACHINE_ID}`, {
      env: { ZAPVEND_SIM_PHYSICAL_LOG: physicalLog },
      timeoutMs: 60_000,
    });
    kioskUrl = daemon.url;
    await until(async () => (await http(`${kioskUrl}/api/health`)).status === 200, { timeoutMs: 30_000 });
  }

  async function order(): Promise<{ orderId: string; bolt11: string; paymentHash: string }> {
    const r = await until(
      async () => {
        const a = await http(`${kioskUrl}/api/orders`, { method: "POST", body: { slot: SLOT } });
        return a.status === 201 ? a : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    if (!r) throw new Error("the machine took no order within 30 s");
    return r.body as { orderId: string; bolt11: string; paymentHash: string };
  }

  /** The buyer's node pays (routerrpc SendPaymentV2); resolves with the final payment. */
  function pay(bolt11: string): Promise<Payment> {
    return (lndStream(buyer(), "POST", "/v2/router/send", { payment_request: bolt11, timeout_seconds: 300, fee_limit_sat: "100" }) as Promise<Payment>).catch(
      (err: Error) => ({ status: "ERROR", failure_reason: err.message }),
    );
  }

  async function invoiceState(paymentHash: string): Promise<{ state: string; amt_paid_msat: string }> {
    return (await lnd(operator(), "GET", `/v1/invoice/${paymentHash}`)) as { state: string; amt_paid_msat: string };
  }

  /** The buyer's side of the channel, read once no HTLC is pending (each HTLC output moves the funder's commit fee). */
  async function buyerBalanceMsat(): Promise<bigint> {
    for (let i = 0; ; i++) {
      const { channels } = (await lnd(buyer(), "GET", "/v1/channels")) as { channels: Array<{ channel_point: string; local_balance: string; pending_htlcs?: unknown[] }> };
      const ch = channels.find((c) => c.channel_point === e.channelPoint);
      if (!ch) throw new Error("the buyer's channel is gone");
      if ((ch.pending_htlcs ?? []).length === 0 || i >= 100) return BigInt(ch.local_balance) * 1000n;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function finalState(orderId: string, timeoutMs = 60_000): Promise<string> {
    return (await until(
      async () => {
        const r = await http(`${kioskUrl}/api/orders/${orderId}`);
        const state = (r.body as { state?: string }).state ?? "";
        return ["completed", "refunded", "credited", "expired"].includes(state) ? state : "";
      },
      { timeoutMs, intervalMs: 200 },
    )) as string;
  }

  // One order at a time in this file: the products the board let out since the order was made are that order's.
  const products = () => (readPhysical(physicalLog) as Array<{ kind: string }>).filter((p) => p.kind === "product").length;
  let mark = 0;

  beforeAll(async () => {
    // Only the broker and the machine daemon are needed here (not the fleet).
    const missing = [bins.broker, bins.machine].filter((f: string) => !existsSync(f));
    if (missing.length) throw new Error(`not built: ${missing.join(", ")} (run npx turbo run build)`);
    const broker = await procs.startRetrying("broker", [bins.broker, "--port", String(await freePort()), "--allow-anonymous"], "broker");
    brokerUrl = broker.url;
  }, 120_000);
  afterEach(async () => {
    if (daemon) await procs.stop(daemon.child, 10_000);
    daemon = undefined;
  });
  afterAll(async () => {
    await procs.stopAll(3_000);
    procs.killAllNow();
  }, 60_000);

  it("a purchase: the buyer's node pays, the product comes out, the operator's node settles", async () => {
    await startDaemon();
    const before = await buyerBalanceMsat();
    mark = products();
    const o = await order();
    const paid = pay(o.bolt11);
    expect(await finalState(o.orderId)).toBe("completed");
    const p = await paid;
    expect(p.status).toBe("SUCCEEDED");
    expect(await invoiceState(o.paymentHash)).toMatchObject({ state: "SETTLED", amt_paid_msat: PRICE_MSAT.toString() });
    expect(await buyerBalanceMsat()).toBe(before - PRICE_MSAT);
    expect(products() - mark).toBe(1);
  });

  it("a failed vend (jammed spiral): the hold is canceled and the buyer's balance is whole again", async () => {
    await startDaemon(["spiral-jam"]);
    const before = await buyerBalanceMsat();
    mark = products();
    const o = await order();
    const paid = pay(o.bolt11);
    expect(await finalState(o.orderId)).toBe("refunded");
    expect((await paid).status).toBe("FAILED");
    expect((await invoiceState(o.paymentHash)).state).toBe("CANCELED");
    await until(async () => (await buyerBalanceMsat()) === before, { timeoutMs: 30_000 });
    expect(await buyerBalanceMsat()).toBe(before);
    expect(products() - mark).toBe(0);
  });

  it("SIGKILL of the daemon with a held HTLC: after restart it settles only with evidence, else cancels", async () => {
    await startDaemon();
    mark = products();
    const o = await order();
    const paid = pay(o.bolt11);
    await until(async () => (await invoiceState(o.paymentHash)).state === "ACCEPTED", { timeoutMs: 60_000, intervalMs: 50 });
    await procs.crash(daemon!.child);
    daemon = undefined;
    await startDaemon([], false);
    const state = await finalState(o.orderId, 90_000);
    const p = await paid;
    const inv = await invoiceState(o.paymentHash);
    const out = products() - mark;
    if (state === "completed") {
      expect(inv.state).toBe("SETTLED");
      expect(p.status).toBe("SUCCEEDED");
      expect(out).toBe(1);
    } else {
      expect(state).toBe("refunded");
      expect(inv.state).toBe("CANCELED");
      expect(p.status).toBe("FAILED");
      expect(out).toBe(0);
    }
  });

  it("the operator's LND restarts while a hold is ACCEPTED: the settle goes through once it is back", async () => {
    await startDaemon();
    const before = await buyerBalanceMsat();
    mark = products();
    const o = await order();
    const paid = pay(o.bolt11);
    await until(async () => (await invoiceState(o.paymentHash)).state === "ACCEPTED", { timeoutMs: 60_000, intervalMs: 50 });
    await control(e, "/nodes/operator/kill");
    await control(e, "/nodes/operator/start");
    expect(await finalState(o.orderId, 120_000)).toBe("completed");
    expect((await paid).status).toBe("SUCCEEDED");
    expect((await invoiceState(o.paymentHash)).state).toBe("SETTLED");
    expect(await buyerBalanceMsat()).toBe(before - PRICE_MSAT);
    expect(products() - mark).toBe(1);
  });
});
