// The console's hand-written checks against protocol's schemas (what the server answers with): every answer the
// server can give passes, and what the console must never act on (a wrong kind, an amount that is not msat, an
// unknown live message) is refused, by both.
import { describe, expect, it, vi } from "vitest";
import { Alert, DesiredView, FleetWsMessage, MachineDetail, Sale } from "@zapvend/protocol";
import { alert, desiredView, machineDetail, parseWsFrame, sale } from "./check.js";

const summary = { id: "snacks-01", status: "online", boot: 3, lastSeen: 1_700_000_000_000, model: "zv-1", softwareVersion: "0.1.0", stock: [{ slot: "A1", name: "Cola", stock: 4, capacity: 10 }], faults: [], missingEvents: 0 };
const aSale = {
  machineId: "snacks-01",
  eventId: "sale-00000001",
  seq: 1,
  orderId: "ord-00000001",
  slot: "A1",
  productName: "Cola",
  amountMsat: "1500000",
  fiat: { currency: "EUR", amountMinor: 150 },
  paymentHash: "ab".repeat(32),
  hold: true,
  evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1200 },
  settledAt: 1_700_000_000_000,
};
const desired = { version: 2, slots: { A1: { enabled: false, price: { unit: "msat", amountMsat: "2000000" } } }, mode: null, requestedAt: 1, reportedVersion: 1, reportedStatus: "applied", reportedError: null, pending: true };
const detail = {
  machine: summary,
  slots: [{ slot: "A1", name: "Cola", kind: "spiral", capacity: 10, stock: 4, price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, enabled: true }],
  telemetry: { ts: 5, temperatureC: null, door: "closed", payments: "up", hardware: "degraded", rssMb: 80 },
  history: [],
  desired,
  events: [{ machineId: "snacks-01", eventId: "sale-00000001", seq: 1, type: "sale", ts: 1, receivedAt: 2, body: {} }],
  gaps: [{ fromSeq: 2, toSeq: 4 }],
  commands: [{ rid: "r-00000001", machineId: "snacks-01", name: "test-vend", args: { slot: "A1" }, sentAt: 1, expiresAt: 2, status: "error", data: null, error: { code: "SPIRAL_JAM", message: "jammed" }, completedAt: 2 }],
  sales: [aSale],
};
const anAlert = { id: "a-00000001", machineId: "snacks-01", kind: "low-stock", severity: "warning", message: "A1 has 1 left", raisedAt: 1, clearedAt: null, acknowledgedAt: null };

const accepts = <T>(check: (v: unknown, p: string) => T, v: unknown) => {
  try {
    check(v, "");
    return true;
  } catch {
    return false;
  }
};

describe("console answer checks", () => {
  it("accept what the server answers, as protocol does", () => {
    expect(MachineDetail.safeParse(detail).success).toBe(true);
    expect(accepts(machineDetail, detail)).toBe(true);
    expect(Sale.safeParse(aSale).success && accepts(sale, aSale)).toBe(true);
    expect(Alert.safeParse(anAlert).success && accepts(alert, anAlert)).toBe(true);
    expect(DesiredView.safeParse(desired).success && accepts(desiredView, desired)).toBe(true);
  });

  it("refuse what the console would act on wrongly, as protocol does, and say where", () => {
    const bad: Array<[string, unknown, (v: unknown, p: string) => unknown, { safeParse(v: unknown): { success: boolean } }]> = [
      ["float amount", { ...aSale, amountMsat: "1.5" }, sale, Sale],
      ["number amount", { ...aSale, amountMsat: 1500 }, sale, Sale],
      ["unknown status", { ...detail, machine: { ...summary, status: "asleep" } }, machineDetail, MachineDetail],
      ["price without unit", { ...detail, slots: [{ ...detail.slots[0], price: { amountMsat: "1" } }] }, machineDetail, MachineDetail],
      ["negative stock", { ...detail, machine: { ...summary, stock: [{ slot: "A1", name: "x", stock: -1, capacity: 1 }] } }, machineDetail, MachineDetail],
      ["severity", { ...anAlert, severity: "loud" }, alert, Alert],
      ["pending as text", { ...desired, pending: "yes" }, desiredView, DesiredView],
    ];
    for (const [what, v, check, schema] of bad) {
      expect([what, schema.safeParse(v).success]).toEqual([what, false]);
      expect([what, accepts(check, v)]).toEqual([what, false]);
    }
    expect(() => sale({ ...aSale, fiat: { currency: "EUR", amountMinor: "1" } }, "sales[0]")).toThrow("sales[0].fiat.amountMinor: expected a whole number >= 0, got string");
  });

  it("take the live messages protocol takes and drop the rest", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const frames = [
        { type: "hello", machines: [summary], alerts: [anAlert] },
        { type: "sale", sale: aSale },
        { type: "desired", machineId: "snacks-01", desired },
        { type: "telemetry", machineId: "snacks-01", sample: detail.telemetry },
      ];
      for (const f of frames) {
        expect(FleetWsMessage.safeParse(f).success).toBe(true);
        expect(parseWsFrame(JSON.stringify(f))).toEqual(f);
      }
      expect(parseWsFrame(JSON.stringify({ type: "reboot" }))).toBeNull();
      expect(parseWsFrame(JSON.stringify({ type: "toString" }))).toBeNull();
      expect(parseWsFrame(JSON.stringify({ type: "machine", machine: { ...summary, missingEvents: "0" } }))).toBeNull();
      expect(parseWsFrame("{not json")).toBeNull();
      expect(warn).toHaveBeenCalledTimes(4);
    } finally {
      warn.mockRestore();
    }
  });
});
