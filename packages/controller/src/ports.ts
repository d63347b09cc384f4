// The ports the controller drives. They are structural: `@zapvend/hal`'s Hardware, `@zapvend/payments`' backend and
// monitor, and `@zapvend/mqtt-bridge`'s Outbox satisfy them, and the machine daemon wires the concrete ones. The
// controller never names a board or a backend.
import type { EventBody, OrderEvidence, VendEvidence, VendProgress } from "@zapvend/protocol";

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface VendOptions {
  signal: AbortSignal;
  onProgress?: (progress: VendProgress) => void;
}

/** What a vend failure carries: a stable fault code and, where the sensors saw something, the partial evidence. */
export interface VendFailure {
  code: string;
  message: string;
  evidence?: OrderEvidence;
}

/** The hardware as the vend cycle needs it (`@zapvend/hal`'s `Hardware`). */
export interface VendHardware {
  /** `station`: the pin map's pour station to pour from (see `ControllerOptions.pourStation`); absent: the first. */
  pour(volumeMl: number, opts: VendOptions & { station?: string }): Promise<VendEvidence>;
  vendSpiral(slot: string, opts: VendOptions): Promise<VendEvidence>;
  /** Faults standing now; one with a `slot` stops only that slot, one without stops the machine. */
  status(): { ready: boolean; door: "open" | "closed"; temperatureC: number | null; faults: Array<{ code: string; message: string; slot?: string }> };
}

/** Invoice states as an authenticated lookup reports them. */
export type PaidState = "open" | "accepted" | "settled" | "canceled";

export interface InvoiceLookup {
  state: PaidState;
  amountMsat: bigint;
  amountPaidMsat: bigint;
  preimage?: string;
}

/** The Lightning side as the vend cycle needs it: the backend plus the verifying monitor of `@zapvend/payments`. */
export interface PaymentsPort {
  readonly holdInvoices: boolean;
  /** Health of the backend as the monitor sees it: no invoice is issued unless "up". */
  health(): "up" | "degraded" | "down";
  /** Creates a hold invoice for the machine's payment hash and returns it only after verifying it (signature, amount, hash, expiry). */
  createHoldInvoice(req: { paymentHash: string; preimage: string; amountMsat: bigint; description: string; expirySec: number }): Promise<{ bolt11: string }>;
  /** Creates a plain invoice, verified the same way. */
  createInvoice(req: { amountMsat: bigint; description: string; expirySec: number }): Promise<{ bolt11: string; paymentHash: string }>;
  lookup(paymentHash: string): Promise<InvoiceLookup>;
  settle(preimage: string): Promise<void>;
  cancel(paymentHash: string): Promise<void>;
  /**
   * Hands the backend an invoice issued before a restart, from the journal (its payment hash and BOLT 11), before the
   * first lookup: some backends cannot find an invoice by payment hash alone (BTCPay). Optional.
   */
  restoreInvoice?(paymentHash: string, bolt11: string): void;
  /** Starts watching an invoice; `onPaid` fires only after an authenticated lookup showed it accepted/settled with the full amount. */
  track(paymentHash: string, amountMsat: bigint): void;
  untrack(paymentHash: string): void;
  /**
   * Verified invoice updates (accepted, settled, canceled), each backed by an authenticated lookup, never by a push
   * alone. Returns the function that removes the listener.
   */
  onUpdate(listener: (paymentHash: string, lookup: InvoiceLookup) => void): () => void;
  /**
   * Lookups that showed something the machine must not act on (`@zapvend/payments`' monitor `rejected`): e.g.
   * `underpaid`, an HTLC below the invoice amount that a broken or dishonest node accepted. Optional: a port
   * without it leaves such a payment to the invoice's expiry. Returns the function that removes the listener.
   */
  onRejected?(listener: (paymentHash: string, rejection: PaymentRejection) => void): () => void;
}

/** A lookup the payment monitor refused to report as paid, and why. */
export interface PaymentRejection {
  /** `underpaid`, `amount_mismatch`, `bad_preimage`, `not_found`, ... */
  reason: string;
  message: string;
  /** The lookup it rests on, when there was one. */
  status?: { state: PaidState; amountMsat: bigint; amountPaidMsat: bigint };
}

/** Where fleet events go: written synchronously inside the journal's transaction (the bridge's on-disk outbox). */
export interface EventSink {
  enqueue(body: EventBody): void;
}
