// The MDB device's contract suite: the real device code, the real `serialport` binding, a real pseudo-terminal
// (socat), and the sim VMC at the other end. Each test asserts what a buyer or operator would notice: which events
// the device raised (what the controller acts on) and the lines on the wire (what the VMC saw).
import { afterEach, describe, expect, it } from "vitest";
import { openPtyPair, startSimVmc, type SimVmc, type SimVmcOptions } from "../mdb-sim/index.js";
import { openMdbDevice } from "./device.js";
import { MdbErrorCode } from "./errors.js";
import type { MdbCashlessDevice, MdbDeviceEvents } from "./types.js";

interface Rig {
  vmc: SimVmc;
  dev: MdbCashlessDevice;
  events: Array<[keyof MdbDeviceEvents, unknown]>;
}
const rigs: Rig[] = [];

async function rig(vmcOpts: SimVmcOptions = {}, settings = { currencyCode: 978 }): Promise<Rig> {
  const vmc = await startSimVmc({ vendDurationMs: 50, setupStepMs: 20, ackIntervalMs: 50, ...vmcOpts });
  const dev = openMdbDevice({ path: vmc.devicePath, settings });
  const events: Rig["events"] = [];
  for (const name of ["state", "vend-request", "vend-success", "vend-failure", "session-cancel", "vmc-reset", "closed", "bad-line"] as const) {
    dev.on(name, (arg?: unknown) => events.push([name, arg]));
  }
  const r = { vmc, dev, events };
  rigs.push(r);
  return r;
}

async function enabledRig(vmcOpts: SimVmcOptions = {}): Promise<Rig> {
  const r = await rig(vmcOpts);
  await r.dev.open();
  await r.dev.enable();
  await expect.poll(() => r.dev.state).toBe("enabled");
  return r;
}

const named = (r: Rig, name: keyof MdbDeviceEvents) => r.events.filter(([n]) => n === name).map(([, a]) => a);
const fromHost = (r: Rig) => r.vmc.lines().filter((l) => l.dir === "from-host").map((l) => l.line);

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.dev.close();
    await r.vmc.close();
  }
});

describe("MDB cashless device over a pty to the sim VMC", () => {
  it("opens: checks the interface answers, configures it with the slave off, and is enabled by the VMC", async () => {
    const r = await rig({}, { currencyCode: 840, scaleFactor: 5, decimalPlaces: 2, alwaysIdle: true, vendTimeoutSec: 40 } as never);
    await r.dev.open();
    expect(r.dev.interfaceVersion).toBe("0.0.1.0,SIMVMC0001");
    expect(r.dev.state).toBe("inactive");
    expect(fromHost(r)).toEqual([
      "V",
      "C,0",
      "C,SETCONF,mdb-currency-code=0x1840",
      "C,SETCONF,mdb-scale-factor=5",
      "C,SETCONF,mdb-decimal-places=2",
      "C,SETCONF,mdb-always-idle=1",
      "C,SETCONF,mdb-timeout-vend=40",
    ]);
    expect(r.vmc.status().config).toMatchObject({ currencyCode: 840, scaleFactor: 5, decimalPlaces: 2, alwaysIdle: true, vendTimeoutSec: 40 });
    await r.dev.enable();
    await expect.poll(() => r.dev.state).toBe("enabled");
    expect(named(r, "state")).toEqual(["disabled", "enabled"]);
    await expect.poll(() => r.dev.stats().acks).toBeGreaterThan(0); // the VMC polls the reader
  });

  it("vend request -> approve with exactly its price -> VEND SUCCESS", async () => {
    const r = await enabledRig();
    r.vmc.select(12);
    await expect.poll(() => r.dev.pendingVend).toMatchObject({ selection: 12, priceUnits: 250, priceText: "2.50" });
    expect(r.dev.state).toBe("vend");
    await expect(r.dev.approveVend(249)).rejects.toMatchObject({ code: MdbErrorCode.AMOUNT_MISMATCH });
    await r.dev.approveVend(250);
    await expect.poll(() => named(r, "vend-success")).toEqual([{ selection: 12, priceUnits: 250 }]);
    await expect.poll(() => r.dev.state).toBe("enabled");
    expect(fromHost(r)).toContain("C,VEND,2.50");
    expect(r.vmc.status().counts).toMatchObject({ approved: 1, success: 1, amountMismatches: 0 });
    expect(named(r, "session-cancel")).toEqual([]);
  });

  it("scales prices: scale factor 5, 2 decimals -> 1.50 on the wire is 30 units, approved as 1.50", async () => {
    const r = await rig({ selections: [{ selection: 3, priceUnits: 30 }] }, { currencyCode: 978, scaleFactor: 5 } as never);
    await r.dev.open();
    await r.dev.enable();
    await expect.poll(() => r.dev.state).toBe("enabled");
    r.vmc.select(3);
    await expect.poll(() => r.dev.pendingVend).toMatchObject({ selection: 3, priceUnits: 30, priceText: "1.50" });
    await r.dev.approveVend(30);
    await expect.poll(() => named(r, "vend-success")).toHaveLength(1);
    expect(fromHost(r)).toContain("C,VEND,1.50");
  });

  it("authorization first: C,START,0 opens a session (IDLE), the vend request comes in it, and is approved", async () => {
    const r = await enabledRig();
    await r.dev.startSession();
    expect(r.dev.state).toBe("idle");
    expect(fromHost(r)).toContain("C,START,0.00");
    r.vmc.select(11);
    await expect.poll(() => r.dev.state).toBe("vend");
    await r.dev.approveVend(200);
    await expect.poll(() => named(r, "vend-success")).toEqual([{ selection: 11, priceUnits: 200 }]);
    r.vmc.setInService(false);
    await expect.poll(() => r.dev.state).toBe("disabled");
    await expect(r.dev.startSession()).rejects.toMatchObject({ code: MdbErrorCode.REFUSED });
  });

  it("deny: C,VEND,-1, the VMC ends the session, nothing is vended and no cancel is raised", async () => {
    const r = await enabledRig();
    r.vmc.select(10);
    await expect.poll(() => r.dev.state).toBe("vend");
    await r.dev.denyVend();
    await expect.poll(() => r.vmc.status().counts.denied).toBe(1);
    await expect.poll(() => r.dev.state).toBe("enabled");
    await r.dev.disable();
    expect(r.dev.state).toBe("inactive");
    expect(r.vmc.status().readerOn).toBe(false);
    expect(fromHost(r)).toContain("C,VEND,-1");
    expect(r.vmc.status().counts.approved).toBe(0);
    expect(named(r, "session-cancel")).toEqual([]);
  });

  it("VEND FAILURE after an approval raises vend-failure, never vend-success", async () => {
    const r = await enabledRig();
    r.vmc.failNext();
    r.vmc.select(11);
    await expect.poll(() => r.dev.state).toBe("vend");
    await r.dev.approveVend(200);
    await expect.poll(() => named(r, "vend-failure")).toEqual([{ selection: 11, priceUnits: 200 }]);
    expect(named(r, "vend-success")).toEqual([]);
    expect(r.vmc.lines().some((l) => l.line === "c,ERR,VEND 3")).toBe(true);
  });

  it("keypad cancel before the approval raises session-cancel, and a late approval is refused", async () => {
    const r = await enabledRig();
    r.vmc.select(11);
    await expect.poll(() => r.dev.state).toBe("vend");
    r.vmc.cancel();
    await expect.poll(() => named(r, "session-cancel")).toEqual([{ selection: 11, reason: "vmc-cancel" }]);
    await expect.poll(() => r.dev.state).toBe("enabled");
    await expect(r.dev.approveVend(200)).rejects.toMatchObject({ code: MdbErrorCode.NO_VEND_PENDING });
    expect(fromHost(r).filter((l) => l.startsWith("C,VEND"))).toEqual([]);
  });

  it("the VMC's approval timeout ends the session: session-cancel, and a payment arriving later is never approved", async () => {
    const r = await enabledRig({ approvalTimeoutMs: 300 });
    r.vmc.select(20);
    await expect.poll(() => named(r, "vend-request")).toHaveLength(1);
    await expect.poll(() => named(r, "session-cancel")).toEqual([{ selection: 20, reason: "session-ended" }]);
    expect(r.vmc.status().counts.timedOut).toBe(1);
    await expect(r.dev.approveVend(100)).rejects.toMatchObject({ code: MdbErrorCode.NO_VEND_PENDING });
    expect(fromHost(r).filter((l) => l.startsWith("C,VEND"))).toEqual([]);
  });

  it("a VMC reset mid-session raises vmc-reset, voids the request, and the VMC sets the reader up again", async () => {
    const r = await enabledRig();
    r.vmc.select(10);
    await expect.poll(() => r.dev.state).toBe("vend");
    r.vmc.reset();
    await expect.poll(() => named(r, "vmc-reset")).toHaveLength(1);
    expect(r.dev.pendingVend).toBeUndefined();
    await expect(r.dev.approveVend(150)).rejects.toMatchObject({ code: MdbErrorCode.NO_VEND_PENDING });
    await expect.poll(() => r.dev.state).toBe("enabled");
    expect(named(r, "state").slice(-3)).toEqual(["inactive", "disabled", "enabled"]);
  });

  it("the VMC disabling the reader (out of order) cancels the open request and shows DISABLED", async () => {
    const r = await enabledRig();
    r.vmc.select(10);
    await expect.poll(() => r.dev.state).toBe("vend");
    r.vmc.setInService(false);
    await expect.poll(() => r.dev.state).toBe("disabled");
    expect(named(r, "session-cancel")).toEqual([{ selection: 10, reason: "disabled" }]);
    r.vmc.setInService(true);
    await expect.poll(() => r.dev.state).toBe("enabled");
  });

  it("the HAT unplugged mid-vend: the device finds the line dead, closes, and is INACTIVE with nothing to approve", async () => {
    // A pty whose far end is gone (like a HAT pulled off the UART) closes nothing: it goes silent. The liveness
    // probe finds it (the probe's write fails on the hung-up tty, or its answer never comes).
    const r = await rig();
    r.dev = openMdbDevice({ path: r.vmc.devicePath, settings: { currencyCode: 978 }, livenessMs: 300, replyTimeoutMs: 500 });
    r.dev.on("closed", (e) => r.events.push(["closed", e]));
    await r.dev.open();
    await r.dev.enable();
    await expect.poll(() => r.dev.state).toBe("enabled");
    r.vmc.select(11);
    await expect.poll(() => r.dev.state).toBe("vend");
    await r.vmc.unplug();
    await expect.poll(() => named(r, "closed")).toHaveLength(1);
    expect([MdbErrorCode.PORT_CLOSED, MdbErrorCode.INTERFACE_LOST]).toContain((named(r, "closed")[0] as { code: string }).code);
    expect(r.dev.state).toBe("inactive");
    expect(r.dev.pendingVend).toBeUndefined();
    await expect(r.dev.approveVend(200)).rejects.toMatchObject({ code: MdbErrorCode.NO_VEND_PENDING });
  });

  it("the interface loses power mid-vend (the UART stays): silence, the probe goes unanswered, MDB_INTERFACE_LOST", async () => {
    const r = await rig();
    r.dev = openMdbDevice({ path: r.vmc.devicePath, settings: { currencyCode: 978 }, livenessMs: 300, replyTimeoutMs: 300 });
    r.dev.on("closed", (e) => r.events.push(["closed", e]));
    await r.dev.open();
    await r.dev.enable();
    await expect.poll(() => r.dev.state).toBe("enabled");
    r.vmc.select(10);
    await expect.poll(() => r.dev.state).toBe("vend");
    r.vmc.setPowered(false);
    await expect.poll(() => named(r, "closed")).toHaveLength(1);
    expect(named(r, "closed")[0]).toMatchObject({ code: MdbErrorCode.INTERFACE_LOST });
    expect(r.dev.state).toBe("inactive");
    expect(r.vmc.lines().filter((l) => l.dir === "from-host").at(-1)?.line).toBe("V"); // the probe
    await expect(r.dev.approveVend(150)).rejects.toMatchObject({ code: MdbErrorCode.NO_VEND_PENDING });
  });

  it("garbage on the line is counted and reported, never a crash, never a request or an approval", async () => {
    const r = await enabledRig();
    r.vmc.sendGarbage();
    await expect.poll(() => r.dev.stats().badLines).toBe(7);
    // The sim's log stays printable for people: the binary noise is shown escaped.
    expect(r.vmc.lines().map((l) => l.line)).toContain("\\x00\\xff\\x13\\x80\\x7f");
    expect(r.vmc.lines().every((l) => /^[\x20-\x7e]{0,200}$/.test(l.line))).toBe(true);
    expect(named(r, "vend-request")).toEqual([]);
    expect(r.dev.state).toBe("enabled");
    // The device still works afterwards.
    r.vmc.select(10);
    await expect.poll(() => r.dev.state).toBe("vend");
    await r.dev.approveVend(150);
    await expect.poll(() => named(r, "vend-success")).toHaveLength(1);
    expect(fromHost(r).filter((l) => l.startsWith("C,VEND"))).toEqual(["C,VEND,1.50"]);
  });

  it("a result nobody asked for, or a request while disabled, is a bad line: no vend-success, no request", async () => {
    const r = await enabledRig();
    r.vmc.sendLine("c,VEND,SUCCESS"); // no vend was approved
    await expect.poll(() => r.dev.stats().badLines).toBe(1);
    r.vmc.select(10);
    await expect.poll(() => r.dev.state).toBe("vend");
    r.vmc.sendLine("c,VEND,SUCCESS"); // requested but not approved
    await expect.poll(() => r.dev.stats().badLines).toBe(2);
    expect(named(r, "vend-success")).toEqual([]);
    r.vmc.setInService(false);
    await expect.poll(() => r.dev.state).toBe("disabled");
    r.vmc.sendLine("c,STATUS,VEND,1.50,10");
    await expect.poll(() => r.dev.stats().badLines).toBe(3);
    expect(named(r, "vend-request")).toHaveLength(1);
    expect(named(r, "bad-line").map((b) => (b as { reason: string }).reason)).toEqual([
      "VEND SUCCESS without a vend this device approved",
      "VEND SUCCESS without a vend this device approved",
      "vend request while the reader is disabled",
    ]);
  });

  it("an interface that does not answer fails open() with MDB_NO_ANSWER; a missing port with MDB_PORT_CLOSED", async () => {
    const pty = await openPtyPair(); // a tty with nobody at the other end: a HAT without power, or the wrong port
    try {
      const dev = openMdbDevice({ path: pty.devicePath, settings: { currencyCode: 978 }, replyTimeoutMs: 300 });
      await expect(dev.open()).rejects.toMatchObject({ code: MdbErrorCode.NO_ANSWER });
      expect(dev.state).toBe("inactive");
    } finally {
      await pty.close();
    }
    const gone = openMdbDevice({ path: pty.devicePath, settings: { currencyCode: 978 } });
    await expect(gone.open()).rejects.toMatchObject({ code: MdbErrorCode.PORT_CLOSED });
  });
});
