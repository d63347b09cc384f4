// Test doubles for the controller's ports. They follow the port contracts (a payment is reported only as an
// authenticated lookup would show it); the real implementations are exercised in the root end-to-end tests.
import { createHash, randomBytes } from "node:crypto";
import { EventBody, parseValue, type VendEvidence } from "@zapvend/protocol";
import type { Clock, EventSink, InvoiceLookup, PaymentRejection, PaymentsPort, VendHardware, VendOptions } from "../ports.js";

export class ManualClock implements Clock {
  t = 1_763_700_000_000;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  /** Moves time forward, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Inv {
  hash: string;
  amountMsat: bigint;
  state: InvoiceLookup["state"];
  paidMsat: bigint;
  preimage?: string;
  hold: boolean;
}

export class FakeLightning implements PaymentsPort {
  holdInvoices: boolean;
  up: "up" | "degraded" | "down" = "up";
  invoices = new Map<string, Inv>();
  tracked = new Set<string>();
  settleFails = 0;
  /** Cancels that fail as an unreachable backend would (the invoice is left as it was). */
  cancelFails = 0;
  calls: string[] = [];
  private listeners = new Set<(h: string, l: InvoiceLookup) => void>();
  private rejectedListeners = new Set<(h: string, r: PaymentRejection) => void>();

  constructor(hold = true) {
    this.holdInvoices = hold;
  }
  health() {
    return this.up;
  }
  async createHoldInvoice(req: { paymentHash: string; amountMsat: bigint }) {
    this.invoices.set(req.paymentHash, { hash: req.paymentHash, amountMsat: req.amountMsat, state: "open", paidMsat: 0n, hold: true });
    return { bolt11: `lnbcrt${req.amountMsat / 1000n}n1fake${req.paymentHash.slice(0, 16)}` };
  }
  async createInvoice(req: { amountMsat: bigint }) {
    const preimage = randomBytes(32).toString("hex");
    const hash = createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex");
    this.invoices.set(hash, { hash, amountMsat: req.amountMsat, state: "open", paidMsat: 0n, preimage, hold: false });
    return { bolt11: `lnbcrt${req.amountMsat / 1000n}n1fake${hash.slice(0, 16)}`, paymentHash: hash };
  }
  async lookup(hash: string): Promise<InvoiceLookup> {
    const inv = this.invoices.get(hash);
    if (!inv) throw Object.assign(new Error("not found"), { code: "invoice_not_found" });
    return { state: inv.state, amountMsat: inv.amountMsat, amountPaidMsat: inv.paidMsat, ...(inv.state === "settled" && inv.preimage ? { preimage: inv.preimage } : {}) };
  }
  async settle(preimage: string) {
    this.calls.push("settle");
    if (this.settleFails > 0) {
      this.settleFails--;
      throw new Error("backend unreachable");
    }
    const hash = createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex");
    const inv = this.invoices.get(hash);
    if (!inv || inv.state !== "accepted") throw new Error(`cannot settle invoice in state ${inv?.state}`);
    inv.state = "settled";
    inv.preimage = preimage;
  }
  async cancel(hash: string) {
    this.calls.push("cancel");
    if (this.cancelFails > 0) {
      this.cancelFails--;
      throw new Error("backend unreachable");
    }
    const inv = this.invoices.get(hash);
    if (!inv) throw new Error("not found");
    if (inv.state === "settled") throw new Error("already settled");
    inv.state = "canceled";
  }
  track(hash: string) {
    this.tracked.add(hash);
  }
  untrack(hash: string) {
    this.tracked.delete(hash);
  }
  onUpdate(l: (h: string, lookup: InvoiceLookup) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  onRejected(l: (h: string, r: PaymentRejection) => void) {
    this.rejectedListeners.add(l);
    return () => this.rejectedListeners.delete(l);
  }
  /** A buyer pays `amountMsat` (default: the invoice amount). */
  async pay(hash: string, amountMsat?: bigint): Promise<void> {
    const inv = this.invoices.get(hash);
    if (!inv || inv.state !== "open") throw new Error("not payable");
    inv.paidMsat = amountMsat ?? inv.amountMsat;
    inv.state = inv.hold ? "accepted" : "settled";
    await this.notify(hash);
  }
  /** As the payment monitor does: a lookup held/settled below the amount is a rejection, anything else an update. */
  async notify(hash: string): Promise<void> {
    const l = await this.lookup(hash);
    if ((l.state === "accepted" || l.state === "settled") && l.amountPaidMsat < l.amountMsat) {
      const r: PaymentRejection = { reason: "underpaid", message: `${l.amountPaidMsat} msat paid of ${l.amountMsat} msat`, status: l };
      for (const fn of this.rejectedListeners) fn(hash, r);
    } else {
      for (const fn of this.listeners) fn(hash, l);
    }
    await flush();
  }
}

export class FakeHardware implements VendHardware {
  door: "open" | "closed" = "closed";
  ready = true;
  faults: Array<{ code: string; message: string; slot?: string }> = [];
  nextFailure: { code: string; message: string; evidence?: VendEvidence } | undefined;
  /** When set, a vend waits for this promise (to "crash" mid-vend). */
  gate: Promise<void> | undefined;
  vends: string[] = [];
  status() {
    return { ready: this.ready, door: this.door, temperatureC: 5, faults: this.faults.map((f) => ({ ...f })) };
  }
  async pour(volumeMl: number, opts: VendOptions & { station?: string }): Promise<VendEvidence> {
    this.vends.push(`pour:${volumeMl}${opts.station !== undefined ? `@${opts.station}` : ""}`);
    opts.onProgress?.({ kind: "pour", pouredMl: volumeMl / 2, targetMl: volumeMl });
    if (this.gate) await this.gate;
    this.throwIfFailing();
    return { kind: "pour", targetMl: volumeMl, pouredMl: volumeMl, pulses: Math.round(volumeMl * 0.45), runMs: 4000 };
  }
  async vendSpiral(slot: string, opts: VendOptions): Promise<VendEvidence> {
    this.vends.push(`spiral:${slot}`);
    opts.onProgress?.({ kind: "spiral", phase: "turning" });
    if (this.gate) await this.gate;
    this.throwIfFailing();
    return { kind: "spiral", dropSeen: true, homed: true, runMs: 1800 };
  }
  private throwIfFailing() {
    const f = this.nextFailure;
    if (f) {
      this.nextFailure = undefined;
      throw Object.assign(new Error(f.message), { code: f.code, evidence: f.evidence });
    }
  }
}

/**
 * The outbox as the controller sees it: like `@zapvend/mqtt-bridge`'s, it refuses (throws on) a body that protocol's
 * `EventBody` does not accept, so every controller test also checks that each event it causes would be sent.
 * `refuse` makes it refuse valid bodies too (an outbox that is stricter than expected).
 */
export class MemorySink implements EventSink {
  events: EventBody[] = [];
  refused: Array<{ body: unknown; why: string }> = [];
  refuse: ((body: EventBody) => boolean) | undefined;
  enqueue(body: EventBody) {
    const parsed = parseValue(EventBody, body);
    if (!parsed.ok || this.refuse?.(body)) {
      const why = parsed.ok ? "refused by the test" : `${parsed.error.path}: ${parsed.error.message}`;
      this.refused.push({ body, why });
      throw Object.assign(new Error(`event refused: ${why}`), { code: "invalid_event" });
    }
    this.events.push(parsed.value);
  }
  types() {
    return this.events.map((e) => e.type);
  }
}
