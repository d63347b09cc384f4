// The technician at an MDB machine (issue #16): zapvend has no door sensor inside a vending machine with its own
// controller, so the kiosk's service menu opens with the PIN while the VMC keeps the reader disabled (its service
// mode, the machine open), or with the PIN alone by config (`board.serviceAccess: "pin"`). The real daemon is the
// cashless reader of the sim VMC over a real socat pty; a test vend goes through the VMC: the technician presses the
// selection, the reader approves it without payment, and the VMC's VEND SUCCESS is the result (no order, no invoice).
import { afterEach, describe, expect, it } from "vitest";
import { hashPin } from "@zapvend/machine";
import { MachineKind, postJson, until, VendSystem, type HttpAnswer } from "./support/system.js";

const PIN = "482916";
const pinHash = hashPin(PIN);

const systems: VendSystem[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.stop();
});
async function system(mdb: Record<string, unknown> = {}): Promise<VendSystem> {
  const s = await VendSystem.start(MachineKind.MDB, { servicePinHash: pinHash, mdb: { vendDurationMs: 300, ...mdb } });
  systems.push(s);
  return s;
}

async function service(sys: VendSystem, method: "GET" | "POST", sub: string, token: string, body: unknown = {}): Promise<HttpAnswer> {
  const res = await fetch(`${sys.url}/api/service/${sub}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(method === "POST" ? { "content-type": "application/json" } : {}) },
    ...(method === "POST" ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}
const login = (sys: VendSystem, pin: string) => postJson(`${sys.url}/api/service/login`, { pin });
const errorCode = (a: HttpAnswer) => (a.body.error as { code?: string } | undefined)?.code;

async function waitMdbState(sys: VendSystem, state: string): Promise<void> {
  await until(
    `the reader to be ${state}`,
    async () => ((await (await fetch(`${sys.url}/api/health`)).json()) as { mdb?: { state: string } }).mdb?.state === state || undefined,
    15_000,
    () => sys.recentLogs(),
  );
}

describe("mdb machine: the technician's service menu", () => {
  it("opens only while the VMC is in its service mode; the VMC enabling the reader ends the session; a test vend goes through the VMC", async () => {
    const sys = await system();
    // Selling: the VMC has the reader enabled. The PIN is not even checked (a wrong one is not counted either).
    const refused = await login(sys, "0000");
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe("vmc_not_in_service");

    // The technician opens the machine: the VMC's service mode disables the reader.
    expect((await sys.vmc({ inService: false })).status).toBe(200);
    await waitMdbState(sys, "disabled");
    const wrong = await login(sys, "0000");
    expect([wrong.status, errorCode(wrong)]).toEqual([401, "wrong_pin"]);
    const ok = await login(sys, PIN);
    expect(ok.status).toBe(200);
    const token = ok.body.token as string;

    const status = await service(sys, "GET", "status", token);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ serviceAccess: "vmc-service", selling: false, mdb: { state: "disabled", badLines: 0, unconfirmedVends: 0 } });
    expect((status.body.slots as Array<{ slot: string; kind: string; enabled: boolean }>).map((s) => [s.slot, s.kind, s.enabled])).toEqual([
      ["S12", "mdb", true],
      ["S13", "mdb", false],
    ]);
    // No pump or spiral checks here: the MDB checks are the harness's.
    const harness = await service(sys, "GET", "harness", token);
    expect([harness.status, errorCode(harness)]).toEqual([409, "use_harness"]);

    // A test vend of selection 12: armed now, the technician leaves the VMC's service mode and presses 12.
    const testVend = service(sys, "POST", "test-vend", token, { slot: "S12" });
    await until("the test vend armed", () => (sys.logs.some((l) => l.includes("test vend armed")) ? true : undefined), 10_000, () => sys.recentLogs());
    expect((await sys.vmc({ inService: true })).status).toBe(200);
    await waitMdbState(sys, "enabled");
    // Leaving the service mode is the closing door: the session is over (the test vend in flight still answers).
    expect((await service(sys, "GET", "status", token)).status).toBe(401);
    expect((await sys.vmc({ select: 12 })).status).toBe(200);
    const result = await testVend;
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ slot: "S12", ok: true, failure: null, evidence: { kind: "mdb", selection: 12, priceUnits: 150, result: "success" } });

    const log = (await sys.vmcState()).lines.map((l) => `${l.dir === "from-host" ? ">" : "<"} ${l.line}`);
    expect(log.filter((l) => /^> C,VEND,/.test(l))).toEqual(["> C,VEND,1.50"]);
    expect(log.some((l) => l.startsWith("< c,VEND,SUCCESS"))).toBe(true);
    // Not a sale: no order, no invoice, no fleet event.
    expect(sys.journalOrderCount()).toBe(0);
    expect(sys.node.node.listInvoices()).toEqual([]);
    expect(sys.events.filter((e) => e.type === "sale")).toEqual([]);

    // And the buyer's next press is a normal sale again.
    expect((await sys.vmc({ select: 12 })).status).toBe(200);
    const order = await sys.waitForVendRequestOrder();
    expect(order).toMatchObject({ slot: "S12", state: "pending" });
  });

  it('serviceAccess "pin": the PIN alone opens it while the machine sells, with the PIN lockout', async () => {
    const sys = await system({ serviceAccess: "pin" });
    const ok = await login(sys, PIN);
    expect(ok.status).toBe(200);
    const token = ok.body.token as string;
    expect((await service(sys, "GET", "status", token)).body).toMatchObject({ serviceAccess: "pin", selling: true, mdb: { state: "enabled" } });
    // The VMC's state does not end the session here.
    await sys.vmc({ inService: false });
    await waitMdbState(sys, "disabled");
    await sys.vmc({ inService: true });
    await waitMdbState(sys, "enabled");
    expect((await service(sys, "GET", "status", token)).status).toBe(200);
    // A test vend nobody can take: a busy reader (a buyer's vend request is open) is refused with a code.
    await sys.vmc({ select: 12 });
    await sys.waitForVendRequestOrder();
    expect((await service(sys, "POST", "test-vend", token, { slot: "S12" })).body).toMatchObject({ ok: false, failure: { code: "MDB_BUSY" } });
    expect((await service(sys, "POST", "test-vend", token, { slot: "A1" })).status).toBe(404);
    // The fifth wrong PIN in a row locks the menu; then even the right one is refused.
    for (let i = 0; i < 4; i++) expect((await login(sys, "0000")).status).toBe(401);
    expect(errorCode(await login(sys, "0000"))).toBe("locked");
    const locked = await login(sys, PIN);
    expect([locked.status, errorCode(locked)]).toEqual([429, "locked"]);
  });
});
