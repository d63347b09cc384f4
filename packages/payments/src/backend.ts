import type { Network } from "@zapvend/protocol";

/**
 * The one interface every Lightning backend implements (LND REST, Core Lightning, LNbits, BTCPay Greenfield,
 * phoenixd, and the sim node through the LND adapter). The controller only ever sees this interface.
 *
 * Trust rule: nothing a backend *pushes* is proof of payment. `watch` notifications are hints that make the
 * `PaymentMonitor` look the invoice up; only an authenticated `lookupInvoice` that shows ACCEPTED or SETTLED with
 * the full amount counts.
 */
export interface LightningBackend {
  /** "lnd", "cln", "lnbits", "btcpay", "phoenixd". */
  readonly kind: string;
  readonly capabilities: BackendCapabilities;

  /** Connects and checks credentials; rejects with a `PaymentError` (code `backend_unreachable`, `unauthorized`, ...). */
  start(signal?: AbortSignal): Promise<void>;
  /** Closes streams and timers; idempotent. */
  stop(): Promise<void>;

  nodeInfo(signal?: AbortSignal): Promise<NodeInfo>;

  /**
   * Creates a hold invoice for a payment hash the machine chose (the machine keeps the preimage). Only when
   * `capabilities.holdInvoices`.
   */
  createHoldInvoice(req: HoldInvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice>;
  /** Creates a plain invoice (the backend keeps the preimage). */
  createInvoice(req: InvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice>;
  /** An authenticated lookup by payment hash (hex). Rejects with code `invoice_not_found` when the node does not know it. */
  lookupInvoice(paymentHash: string, signal?: AbortSignal): Promise<InvoiceStatus>;
  /** Settles a held invoice with its 32-byte preimage (hex). Idempotent for an invoice already settled. */
  settleInvoice(preimage: string, signal?: AbortSignal): Promise<void>;
  /** Cancels an open or held invoice: a held payment goes back to the payer. Idempotent for an invoice already canceled. */
  cancelInvoice(paymentHash: string, signal?: AbortSignal): Promise<void>;

  /**
   * Push hints about invoices (where the backend has a stream or webhook). The backend reconnects by itself with
   * backoff and jitter and emits `reconnected` after every reconnect so the monitor sweeps every open invoice.
   * Returns a function that removes the listener.
   */
  watch(listener: (hint: BackendHint) => void): () => void;
  /**
   * Tells the backend an invoice it issued before a restart, from the machine's journal: its payment hash and its
   * BOLT 11. Optional: only backends that cannot find an invoice by its payment hash alone need it (BTCPay, whose
   * search does not index the hash but does index the BOLT 11). Called before the first lookup of that hash.
   */
  restoreInvoice?(paymentHash: string, bolt11: string): void;
  /** Ask the backend to subscribe to one invoice (LND's per-invoice stream); a no-op where the stream is global. */
  subscribe(paymentHash: string): void;
  unsubscribe(paymentHash: string): void;
}

export interface BackendCapabilities {
  /** Hold invoices (settle/cancel with a machine-held preimage): a failed vend refunds the buyer automatically. */
  holdInvoices: boolean;
  /** Push notifications of invoice changes (a stream or webhooks); without it, polling alone. */
  push: boolean;
}

export interface NodeInfo {
  /** The node's public key, 33 bytes compressed, hex: every invoice must be signed by it. */
  pubkey: string;
  network: Network;
  alias?: string;
  /** The node's chain tip, where the backend tells it (compare with `InvoiceStatus.htlcExpiryHeight`). */
  blockHeight?: number;
}

export interface InvoiceRequest {
  amountMsat: bigint;
  description: string;
  expirySec: number;
}

export interface HoldInvoiceRequest extends InvoiceRequest {
  /** 32 bytes hex: sha256 of the preimage the machine keeps. */
  paymentHash: string;
  /** min_final_cltv_expiry in blocks; the backend default when absent. */
  cltvExpiry?: number;
  /**
   * The preimage (hex) itself, for backends whose hold-invoice API needs it at creation (Core Lightning's holdinvoice
   * plugin creates the invoice with CLN's `invoice`, which takes the preimage). LND never receives it.
   */
  preimage?: string;
}

export interface CreatedInvoice {
  bolt11: string;
  paymentHash: string;
}

export const InvoiceState = {
  OPEN: "open",
  /** Held: the HTLC arrived and waits for settle or cancel (hold invoices only). */
  ACCEPTED: "accepted",
  SETTLED: "settled",
  CANCELED: "canceled",
} as const;
export type InvoiceState = (typeof InvoiceState)[keyof typeof InvoiceState];

export interface InvoiceStatus {
  paymentHash: string;
  state: InvoiceState;
  /** What the invoice asks for. */
  amountMsat: bigint;
  /** What the HTLCs held or settled add up to (0 while open). */
  amountPaidMsat: bigint;
  /** The preimage, where the backend reveals it (settled plain invoices). */
  preimage?: string;
  /** Milliseconds since the epoch. */
  settledAt?: number;
  /** Blocks: the height at which the earliest held HTLC times out, where the backend tells it. */
  htlcExpiryHeight?: number;
}

export type BackendHint =
  | { type: "invoice"; paymentHash: string; state?: InvoiceState }
  | { type: "reconnected" }
  | { type: "health"; health: "up" | "degraded" | "down"; reason?: string };
