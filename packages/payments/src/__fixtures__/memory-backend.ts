// An in-memory LightningBackend for the monitor's tests: its lookups answer from `invoices`, and the test decides
// separately what it pushes, so a push can lie (a forged "settled") or be lost, as on a real network.
import type { BackendHint, CreatedInvoice, InvoiceStatus, LightningBackend, NodeInfo } from "../backend.js";
import { PaymentError, PaymentErrorCode } from "../errors.js";

export class MemoryBackend implements LightningBackend {
  readonly kind = "memory";
  readonly capabilities = { holdInvoices: true, push: true };
  invoices = new Map<string, InvoiceStatus>();
  lookups: string[] = [];
  subscribed = new Set<string>();
  /** When set, every request fails with it (the node is unreachable). */
  failWith: PaymentError | undefined;
  private listeners = new Set<(hint: BackendHint) => void>();

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async nodeInfo(): Promise<NodeInfo> {
    if (this.failWith) throw this.failWith;
    return { pubkey: `02${"11".repeat(32)}`, network: "regtest" };
  }
  async createHoldInvoice(): Promise<CreatedInvoice> {
    throw new Error("not used by the monitor");
  }
  async createInvoice(): Promise<CreatedInvoice> {
    throw new Error("not used by the monitor");
  }
  async lookupInvoice(paymentHash: string): Promise<InvoiceStatus> {
    this.lookups.push(paymentHash);
    if (this.failWith) throw this.failWith;
    const inv = this.invoices.get(paymentHash);
    if (!inv) throw new PaymentError(PaymentErrorCode.INVOICE_NOT_FOUND, "unable to locate invoice");
    return { ...inv };
  }
  async settleInvoice(): Promise<void> {}
  async cancelInvoice(): Promise<void> {}
  watch(listener: (hint: BackendHint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  subscribe(paymentHash: string): void {
    this.subscribed.add(paymentHash);
  }
  unsubscribe(paymentHash: string): void {
    this.subscribed.delete(paymentHash);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
  /** What the push channel says (true or not). */
  push(hint: BackendHint): void {
    for (const l of this.listeners) l(hint);
  }
  /** Sets what an authenticated lookup will show. */
  set(paymentHash: string, s: Partial<InvoiceStatus>): void {
    const prev = this.invoices.get(paymentHash) ?? { paymentHash, state: "open" as const, amountMsat: 0n, amountPaidMsat: 0n };
    this.invoices.set(paymentHash, { ...prev, ...s });
  }
}
