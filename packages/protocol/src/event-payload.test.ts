// EventPayload is one object schema per event type behind the `type` discriminator (for the fleet's ingest speed).
// It must accept, refuse and output exactly what the schema it replaced did: the envelope intersected with the body.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Envelope, EventBody, EventPayload, InstallId } from "./mqtt-payloads.js";
import { parseValue } from "./result.js";

const reference = z.intersection(Envelope.extend({ install: InstallId.optional() }), EventBody);

const envelope = { v: 1, id: "evt_0000000001", ts: 1_763_700_000_000, boot: 3, seq: 17 };
const hash = "b".repeat(64);
const reason = { code: "motor_stalled", message: "the spiral did not turn" };
const events: Record<string, Record<string, unknown>> = {
  sale: {
    type: "sale", orderId: "ord_00000001", slot: "A1", productName: "Cola", amountMsat: "250000", fiat: { currency: "EUR", amountMinor: 150 },
    paymentHash: hash, hold: true, evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1800 }, settledAt: envelope.ts,
  },
  mdbSale: {
    type: "sale", orderId: "ord_00000002", slot: "S12", productName: "Selection 12", amountMsat: "0", fiat: null, paymentHash: hash, hold: false,
    evidence: { kind: "mdb", selection: 12, priceUnits: 150, result: "success", waitedMs: 900 }, settledAt: envelope.ts, selection: 12,
    paidByCreditMsat: "250000", creditId: "cred_0000001",
  },
  refund: { type: "refund", orderId: "ord_00000001", slot: "A1", amountMsat: "250000", paymentHash: hash, reason, possiblyVended: true },
  vendFailed: { type: "vend-failed", orderId: "ord_00000001", slot: "A1", reason, evidence: null },
  credit: { type: "credit", orderId: "ord_00000001", slot: "A1", creditId: "cred_0000001", amountMsat: "250000", paymentHash: hash, reason },
  fault: { type: "fault", fault: reason, active: true, severity: "critical" },
  door: { type: "door", open: false },
  restock: { type: "restock", slot: "B2", previous: 1, stock: 9 },
};

/** Same verdict, same output (key order included: the fleet stores the body as JSON text), same first error. */
function expectSame(input: unknown, label: string): void {
  const ours = parseValue(EventPayload, input);
  const theirs = parseValue(reference, input);
  expect(ours.ok, label).toBe(theirs.ok);
  if (ours.ok && theirs.ok) expect(JSON.stringify(ours.value), label).toBe(JSON.stringify(theirs.value));
  if (!ours.ok && !theirs.ok) expect({ code: ours.error.code, path: ours.error.path }, label).toEqual({ code: theirs.error.code, path: theirs.error.path });
}

describe("EventPayload", () => {
  it("accepts and outputs what the envelope intersected with the body did, envelope keys first", () => {
    for (const [name, body] of Object.entries(events)) {
      for (const install of [undefined, 42]) {
        const input = { ...envelope, ...(install ? { install } : {}), ...body };
        const r = parseValue(EventPayload, input);
        expect(r.ok, name).toBe(true);
        if (r.ok) expect(Object.keys(r.value).slice(0, 5), name).toEqual(["v", "id", "ts", "boot", "seq"]);
        expectSame(input, `${name} install=${String(install)}`);
        // Body first on the wire: the output order is still the envelope's first.
        expectSame({ ...body, ...envelope }, `${name} body first`);
        // Unknown keys are stripped, as before (an older fleet reads a newer machine's events).
        expectSame({ ...input, later: { x: 1 } }, `${name} unknown key`);
      }
    }
  }, 60_000);

  it("refuses what it refused, with the same first error", () => {
    const bad = [undefined, null, "x", -1, 1.5, 2 ** 60, {}, [], true];
    let refused = 0;
    for (const [name, body] of Object.entries(events)) {
      const input: Record<string, unknown> = { ...envelope, install: 7, ...body };
      for (const key of Object.keys(input)) {
        for (const value of bad) {
          const mutated = { ...input, [key]: value };
          if (value === undefined) delete mutated[key];
          expectSame(mutated, `${name}.${key} = ${JSON.stringify(value)}`);
          if (!parseValue(EventPayload, mutated).ok) refused++;
        }
      }
    }
    // The mutations do reach the refusals (a sanity check of this test itself).
    expect(refused).toBeGreaterThan(300);
    expectSame({ ...envelope, type: "free-beer" }, "unknown type");
    expectSame({ ...envelope }, "no type");
    expectSame("sale", "not an object");
    // Hundreds of altered payloads through both schemas: 9 s on a CI machine under load (5 s by default).
  }, 60_000);
});
