// Issue #16: the MDB machine under SIGKILL. The daemon (board `mdb` on the sim VMC behind a socat pty, both in the
// daemon's process) is killed at each state of a VMC-first vend: the invoice shown (pending), the approval written
// and the VMC vending (dispensing, no result read), and after the sale (completed). It is restarted on the same data
// and port, and the outcome is checked against the sim Lightning node's invoices (another process) and the journal
// on disk: never a settle without a journaled VEND SUCCESS; an approval whose result was never read is refunded and
// counted as possibly given away; an unpaid vend request's invoice is cancelled (the VMC forgot the request).
import Database from "better-sqlite3";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexInvoices } from "./reconcile.mjs";
import { Processes, bins, freePort, http, sleep, until, waitBuilt } from "./system.mjs";

const MACHINE_ID = "mdb-crash";
const dir = mkdtempSync(path.join(tmpdir(), "zapvend-mdb-crash-"));
const procs = new Processes(dir);
const configFile = path.join(dir, `${MACHINE_ID}.json`);
const dataDir = path.join(dir, MACHINE_ID);
let simUrl = "";
let kioskUrl = "";
let daemon: Awaited<ReturnType<Processes["start"]>> | undefined;

async function startDaemon(): Promise<void> {
  daemon = await procs.startRetrying(MACHINE_ID, [bins.machine, "--config", configFile], `kiosk ${MACHINE_ID}`);
  kioskUrl = daemon.url;
  const selling = await until(async () => ((await http(`${kioskUrl}/api/health`)).body as { selling?: boolean }).selling === true, { timeoutMs: 20_000 });
  if (!selling) throw new Error(`${MACHINE_ID} is not selling after its start`);
}

/** The daemon's own child processes (the sim VMC's socat). */
function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

async function crashAndRestart(): Promise<void> {
  // socat outlives a SIGKILLed daemon (nothing closes the pty pair it holds): end the killed daemon's own socat.
  const orphans = childrenOf(daemon?.child.pid);
  if (daemon) await procs.crash(daemon.child);
  daemon = undefined;
  for (const pid of orphans) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  await startDaemon();
}

async function order(orderId: string): Promise<{ state: string; failure: { code: string } | null; paymentHash: string; bolt11: string }> {
  return (await http(`${kioskUrl}/api/orders/${orderId}`)).body as never;
}

/** Presses selection 12 on the VMC's keypad and returns the order its vend request made. */
async function vendRequest(): Promise<{ orderId: string; bolt11: string; paymentHash: string }> {
  const pressed = await http(`${kioskUrl}/api/demo/vmc`, { method: "POST", body: { select: 12 } });
  expect(pressed.status).toBe(200);
  const current = await until(
    async () => {
      const o = ((await http(`${kioskUrl}/api/orders/current`)).body as { order: { orderId: string; bolt11: string; paymentHash: string; state: string } | null }).order;
      return o?.state === "pending" ? o : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  if (!current) throw new Error("no order for the vend request");
  return current;
}

function pay(bolt11: string): void {
  // Answered when the payment settles or is cancelled; not awaited (the daemon may be dead meanwhile).
  void http(`${simUrl}/wallet/pay`, { method: "POST", body: { bolt11 }, timeoutMs: 120_000 }).catch(() => undefined);
}

async function invoiceState(paymentHash: string): Promise<string | undefined> {
  const invoices = ((await http(`${simUrl}/sim/invoices`)).body as { invoices: unknown[] }).invoices;
  return indexInvoices(invoices).get(paymentHash)?.state;
}

async function finalOrder(orderId: string): Promise<{ state: string; failure: { code: string } | null }> {
  const o = await until(
    async () => {
      const x = await order(orderId);
      return ["completed", "refunded", "expired", "credited"].includes(x.state) ? x : undefined;
    },
    { timeoutMs: 30_000 },
  );
  if (!o) throw new Error(`order ${orderId} did not end`);
  return o;
}

beforeAll(async () => {
  const missing = await waitBuilt();
  if (missing.length) throw new Error(`not built: ${missing.join(", ")} (run npx turbo run build)`);
  const broker = await procs.startRetrying("broker", [bins.broker, "--port", String(await freePort()), "--allow-anonymous"], "broker");
  const sim = await procs.startRetrying("sim-node", [bins.sim, "--port", String(await freePort()), "--node-key-file", path.join(dir, "sim-node.key")], "sim-lightning");
  simUrl = sim.url;
  const config = {
    machineId: MACHINE_ID,
    http: { host: "127.0.0.1", port: await freePort() },
    mqtt: { url: broker.url, telemetryIntervalMs: 10_000 },
    // The VMC takes 4 s to vend: long enough to kill the daemon between the approval and the VMC's result.
    board: { kind: "mdb", port: "sim", approvalTimeoutSec: 60, invoiceExpirySec: 50, sim: { selections: [{ selection: 12, priceUnits: 150 }], vendDurationMs: 4_000 } },
    payments: { backend: { kind: "sim", url: simUrl }, network: "regtest", invoiceExpirySec: 60 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" }, maxRateAgeSec: 600 },
    catalog: [{ slot: "S12", name: "Cola", kind: "mdb", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 10, capacity: 10 }],
    dataDir,
  };
  writeFileSync(configFile, JSON.stringify(config));
  await startDaemon();
}, 120_000);

afterAll(async () => {
  // The invariant over everything the campaign did: a settled invoice only with a journaled VEND SUCCESS before it.
  try {
    const db = new Database(path.join(dataDir, "machine.db"), { readonly: true });
    const orders = db.prepare("SELECT order_id, payment_hash, state, evidence FROM orders").all() as Array<{ order_id: string; payment_hash: string; state: string; evidence: string | null }>;
    const invoices = indexInvoices(((await http(`${simUrl}/sim/invoices`)).body as { invoices: unknown[] }).invoices);
    for (const o of orders) {
      const inv = invoices.get(o.payment_hash);
      if (inv?.state !== "SETTLED") continue;
      const evidence = o.evidence ? (JSON.parse(o.evidence) as { kind: string; result?: string }) : null;
      expect({ order: o.order_id, evidence }).toMatchObject({ evidence: { kind: "mdb", result: "success" } });
      const notes = (db.prepare("SELECT note, to_state FROM order_transitions WHERE order_id = ? ORDER BY seq").all(o.order_id) as Array<{ note: string | null; to_state: string }>).map((t) => t.note ?? t.to_state);
      expect(notes.indexOf("vend evidence recorded")).toBeGreaterThanOrEqual(0);
      expect(notes.indexOf("vend evidence recorded")).toBeLessThan(notes.lastIndexOf("completed"));
    }
    db.close();
  } finally {
    await procs.stopAll(3_000);
    procs.killAllNow();
  }
}, 60_000);

describe("mdb machine: SIGKILL at each state of a VMC-first vend", () => {
  it("killed while the invoice is shown (pending): after the restart the invoice is cancelled, nothing approved", async () => {
    const o = await vendRequest();
    await crashAndRestart();
    const done = await finalOrder(o.orderId);
    expect(done).toMatchObject({ state: "expired", failure: { code: "interrupted" } });
    expect(await until(async () => ((await invoiceState(o.paymentHash)) === "CANCELED" ? true : undefined), { timeoutMs: 10_000 })).toBe(true);
  });

  it("killed after the approval, while the VMC vends (no result read): refunded, counted as possibly given away", async () => {
    const o = await vendRequest();
    pay(o.bolt11);
    const dispensing = await until(async () => ((await order(o.orderId)).state === "dispensing" ? true : undefined), { timeoutMs: 15_000, intervalMs: 50 });
    expect(dispensing).toBe(true);
    // The approval is on the wire (the sim VMC logged it) before the kill.
    const approved = await until(async () => (((await http(`${kioskUrl}/api/demo/vmc`)).body as { pending: { approved: boolean } | null }).pending?.approved ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect(approved).toBe(true);
    await crashAndRestart();
    const done = await finalOrder(o.orderId);
    expect(done).toMatchObject({ state: "refunded", failure: { code: "MDB_RESULT_UNKNOWN" } });
    expect(await until(async () => ((await invoiceState(o.paymentHash)) === "CANCELED" ? true : undefined), { timeoutMs: 10_000 })).toBe(true);
    const health = (await http(`${kioskUrl}/api/health`)).body as { mdb: { unconfirmedVends: number } };
    expect(health.mdb.unconfirmedVends).toBeGreaterThanOrEqual(1);
  });

  it("killed after the sale: it stays completed and settled", async () => {
    const o = await vendRequest();
    pay(o.bolt11);
    const done = await finalOrder(o.orderId);
    expect(done.state).toBe("completed");
    await crashAndRestart();
    await sleep(500);
    expect((await order(o.orderId)).state).toBe("completed");
    expect(await invoiceState(o.paymentHash)).toBe("SETTLED");
  });
});
