// Every event type as one readable line, from bodies shaped as protocol's EventBody (the fixtures' defaults).
import { describe, expect, it } from "vitest";
import { eventLine } from "./event-lines.js";

const names = new Map([["A1", "Crisps"], ["P1", "Cola"]]);

describe("machine events as readable lines", () => {
  it("sale: spiral, pour, MDB selection, a credit and no fiat", () => {
    const spiral = { type: "sale", slot: "A1", productName: "Crisps", amountMsat: "1500000", fiat: null, hold: true, evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1800 } };
    expect(eventLine({ type: "sale", body: spiral })).toBe("A1 Crisps sold, 1,500 sat, drop seen");
    expect(eventLine({ type: "sale", body: { ...spiral, fiat: { currency: "EUR", amountMinor: 150 } } })).toBe("A1 Crisps sold, 1,500 sat (1.50 EUR), drop seen");
    const pour = { type: "sale", slot: "P1", productName: "Cola", amountMsat: "2500500", fiat: null, hold: false, evidence: { kind: "pour", pouredMl: 329.6, targetMl: 330, pulses: 140, runMs: 4000 } };
    expect(eventLine({ type: "sale", body: pour })).toBe("P1 Cola sold, 2,500.5 sat, poured 330/330 ml, paid (no hold invoice)");
    const mdb = { type: "sale", slot: "S12", productName: "Water", selection: 12, amountMsat: "1000000", fiat: null, hold: true, evidence: { kind: "mdb", selection: 12, priceUnits: 150, result: "success", waitedMs: 900 } };
    expect(eventLine({ type: "sale", body: mdb })).toBe("Selection 12 Water sold, 1,000 sat, VMC reported VEND SUCCESS");
    expect(eventLine({ type: "sale", body: { ...spiral, amountMsat: "0", paidByCreditMsat: "1500000" } })).toBe("A1 Crisps sold, 0 sat, 1,500 sat from a credit, drop seen");
  });

  it("refund, vend-failed and credit name the product from the slot and say why", () => {
    expect(eventLine({ type: "refund", body: { slot: "A1", amountMsat: "1500000", reason: { code: "SPIRAL_JAM", message: "jammed" } } }, names)).toBe("A1 Crisps refunded 1,500 sat: SPIRAL_JAM (jammed)");
    expect(eventLine({ type: "refund", body: { slot: "S3", amountMsat: "1000", reason: { code: "VMC_TIMEOUT", message: "no answer" }, possiblyVended: true } })).toBe(
      "S3 refunded 1 sat: VMC_TIMEOUT (no answer), the product may have come out",
    );
    expect(eventLine({ type: "vend-failed", body: { slot: "A1", reason: { code: "SPIRAL_JAM", message: "jammed" }, evidence: { kind: "spiral", dropSeen: false, homed: false, runMs: 5000 } } }, names)).toBe(
      "A1 Crisps vend failed: SPIRAL_JAM (jammed), drop not seen, spiral not homed",
    );
    expect(eventLine({ type: "vend-failed", body: { slot: "P1", reason: { code: "PUMP_DRY_RUN", message: "tank empty" }, evidence: null } }, names)).toBe("P1 Cola vend failed: PUMP_DRY_RUN (tank empty)");
    expect(eventLine({ type: "credit", body: { slot: "A1", creditId: "crd-1", amountMsat: "1500000", reason: { code: "DROP_NOT_SEEN", message: "no drop" } } }, names)).toBe(
      "A1 Crisps credit of 1,500 sat given to the buyer: DROP_NOT_SEEN (no drop)",
    );
  });

  it("fault, door and restock", () => {
    expect(eventLine({ type: "fault", body: { fault: { code: "PUMP_DRY_RUN", message: "tank empty" }, active: true, severity: "critical" } })).toBe("Fault PUMP_DRY_RUN raised (critical): tank empty");
    expect(eventLine({ type: "fault", body: { fault: { code: "PUMP_DRY_RUN", message: "tank empty" }, active: false, severity: "critical" } })).toBe("Fault PUMP_DRY_RUN cleared");
    expect(eventLine({ type: "door", body: { open: true } })).toBe("Door opened");
    expect(eventLine({ type: "door", body: { open: false } })).toBe("Door closed");
    expect(eventLine({ type: "restock", body: { slot: "A1", previous: 0, stock: 10 } }, names)).toBe("A1 Crisps restocked 0 → 10");
  });

  it("never prints undefined for a body it does not know", () => {
    const line = eventLine({ type: "sale", body: { slot: 5, amountMsat: 12, evidence: "x" } });
    expect(line).toBe("? sold");
    expect(eventLine({ type: "refund", body: {} })).toBe("? refunded: no reason given");
    expect(eventLine({ type: "mystery" as never, body: {} })).toBe("mystery event");
  });
});
