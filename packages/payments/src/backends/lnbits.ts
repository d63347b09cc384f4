// The LNbits adapter: a wallet's *invoice/read key* (`X-Api-Key`), `POST /api/v1/payments` with `out: false` to
// create an invoice, `GET /api/v1/payments/{payment_hash}` to look it up, `GET /api/v1/wallet` to check the key.
//
// No hold invoices: LNbits can hold only on some versions and funding sources, and the key that could settle or
// cancel them is more than the device should carry, so this adapter declares `holdInvoices: false` and the machine
// runs the plain-invoice flow (dispense after SETTLED, credit on a failed vend). No push either: LNbits' websocket
// needs the same key in a URL and is only a hint anyway; the monitor's poll does the work.
//
// LNbits speaks sat in requests and msat in answers: the amount is refused unless it is a whole sat.
import type { Network } from "@zapvend/protocol";
import { z } from "zod";
import type {
  BackendCapabilities,
  BackendHint,
  CreatedInvoice,
  InvoiceRequest,
  InvoiceStatus,
  LightningBackend,
  NodeInfo,
} from "../backend.js";
import { InvoiceState } from "../backend.js";
import { PaymentError, PaymentErrorCode } from "../errors.js";
import { silentLogger, systemClock, type Clock, type Logger } from "../runtime.js";
import { HttpTransport, type HttpResponse } from "../transport.js";
import { bolt11Fields, checkHash, checkInvoiceRequest, HASH_RE, msatToWholeSat, parseWire, sha256Hex, toSafeNumber } from "./common.js";

export interface LnbitsBackendOptions {
  /** The LNbits instance, e.g. `https://lnbits.example.com`. */
  url: string;
  /** The wallet's invoice/read key (never the admin key). */
  apiKey: string;
  /**
   * The key of the Lightning node behind LNbits: LNbits does not tell an invoice key which node signs, so `nodeInfo`
   * reports this (the machine's `payments.payeeNodeKey`).
   */
  nodePubkey?: string;
  /** The network the machine is configured for (LNbits does not report it). */
  network: Network;
  /** Per-request timeout in ms. Default 10 000. */
  requestTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

const CreatedPayment = z.looseObject({
  payment_hash: z.string().regex(/^[0-9a-f]{64}$/),
  // LNbits < 1.0 answers `payment_request`, later versions `bolt11`.
  payment_request: z.string().min(1).optional(),
  bolt11: z.string().min(1).optional(),
});

const PaymentLookup = z.looseObject({
  paid: z.boolean(),
  status: z.string().optional(),
  preimage: z.string().nullable().optional(),
  details: z
    .looseObject({
      payment_hash: z.string().optional(),
      /** msat; negative for outgoing payments. */
      amount: z.number().int().optional(),
      bolt11: z.string().optional(),
      status: z.string().optional(),
      pending: z.boolean().optional(),
      time: z.union([z.number(), z.string()]).optional(),
    })
    .optional(),
});

const Wallet = z.looseObject({ name: z.string().optional(), balance: z.number().optional() });
const ErrorBody = z.looseObject({ detail: z.unknown() });

export class LnbitsBackend implements LightningBackend {
  readonly kind = "lnbits";
  readonly capabilities: BackendCapabilities = { holdInvoices: false, push: false };

  private readonly http: HttpTransport;
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: LnbitsBackendOptions) {
    if (!opts.apiKey || /[\r\n]/.test(opts.apiKey)) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "an LNbits invoice key is required");
    if (opts.nodePubkey !== undefined && !/^(02|03)[0-9a-f]{64}$/.test(opts.nodePubkey)) {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "nodePubkey is a 33-byte compressed key in hex");
    }
    const clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.http = new HttpTransport({ baseUrl: opts.url, headers: { "X-Api-Key": opts.apiKey }, timeoutMs: opts.requestTimeoutMs ?? 10_000, clock });
  }

  /** Checks that LNbits answers and takes the key. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.stopped) throw new PaymentError(PaymentErrorCode.STOPPED, "this backend was stopped; make a new one");
    const res = await this.call("GET", "/api/v1/wallet", undefined, signal);
    const w = parseWire(Wallet, res.json, "wallet", "LNbits");
    this.log.info("connected", { origin: this.http.origin, wallet: w.name });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.http.close();
  }

  async nodeInfo(): Promise<NodeInfo> {
    if (!this.opts.nodePubkey) {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "LNbits does not tell an invoice key its node's key: set payments.payeeNodeKey");
    }
    return { pubkey: this.opts.nodePubkey, network: this.opts.network };
  }

  async createHoldInvoice(): Promise<CreatedInvoice> {
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "the LNbits adapter has no hold invoices");
  }

  async createInvoice(req: InvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice> {
    checkInvoiceRequest(req);
    const amountSat = toSafeNumber(msatToWholeSat(req.amountMsat, "LNbits"), "amount");
    const res = await this.call("POST", "/api/v1/payments", { out: false, amount: amountSat, memo: req.description, expiry: req.expirySec }, signal);
    const out = parseWire(CreatedPayment, res.json, "create invoice", "LNbits");
    const bolt11 = out.bolt11 ?? out.payment_request;
    if (!bolt11) throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "LNbits created an invoice but returned no BOLT 11 string");
    // The hash LNbits names must be the one inside the invoice, or lookups would watch the wrong payment.
    if (bolt11Fields(bolt11).paymentHash !== out.payment_hash) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "LNbits returned a payment hash that is not the invoice's", { paymentHash: out.payment_hash });
    }
    return { bolt11, paymentHash: out.payment_hash };
  }

  async lookupInvoice(paymentHash: string, signal?: AbortSignal): Promise<InvoiceStatus> {
    checkHash(paymentHash);
    const res = await this.call("GET", `/api/v1/payments/${paymentHash}`, undefined, signal, paymentHash);
    const p = parseWire(PaymentLookup, res.json, "payment lookup", "LNbits");
    if (p.details?.payment_hash !== undefined && p.details.payment_hash !== paymentHash) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "LNbits answered with a payment of another hash", { paymentHash });
    }
    const fromBolt11 = p.details?.bolt11 ? bolt11Fields(p.details.bolt11).amountMsat : null;
    const amountMsat = fromBolt11 ?? (p.details?.amount !== undefined ? BigInt(Math.abs(p.details.amount)) : 0n);
    if (p.details?.amount !== undefined && p.details.amount < 0) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "this payment hash is an outgoing LNbits payment, not an invoice", { paymentHash });
    }
    const status = p.status ?? p.details?.status;
    if (p.paid) {
      // LNbits marks an incoming payment paid only when the whole invoice amount arrived.
      const preimage = p.preimage && HASH_RE.test(p.preimage) && sha256Hex(p.preimage) === paymentHash ? p.preimage : undefined;
      return { paymentHash, state: InvoiceState.SETTLED, amountMsat, amountPaidMsat: amountMsat, ...(preimage ? { preimage } : {}) };
    }
    return { paymentHash, state: status === "failed" || status === "expired" ? InvoiceState.CANCELED : InvoiceState.OPEN, amountMsat, amountPaidMsat: 0n };
  }

  async settleInvoice(): Promise<void> {
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "the LNbits adapter has no hold invoices");
  }

  async cancelInvoice(paymentHash: string): Promise<void> {
    checkHash(paymentHash);
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "an LNbits invoice cannot be withdrawn with an invoice key; it lapses at its expiry", { paymentHash });
  }

  watch(_listener: (hint: BackendHint) => void): () => void {
    // No push: nothing will ever be emitted, the monitor polls.
    return () => undefined;
  }

  subscribe(paymentHash: string): void {
    checkHash(paymentHash);
  }

  unsubscribe(): void {}

  private async call(method: string, path: string, body: unknown, signal: AbortSignal | undefined, paymentHash?: string): Promise<HttpResponse> {
    const res = await this.http.request(method, path, body, { signal });
    if (res.status >= 200 && res.status <= 299) return res;
    throw lnbitsError(res, `${method} ${path.replace(/[0-9a-f]{64}/, "{hash}")}`, paymentHash);
  }
}

/** LNbits (FastAPI) errors: `{"detail": "..."}` or, for validation, `{"detail": [{loc, msg, type}]}`. */
export function lnbitsError(res: HttpResponse, what: string, paymentHash?: string): PaymentError {
  const body = ErrorBody.safeParse(res.json);
  const detail = body.success ? body.data.detail : undefined;
  const message = typeof detail === "string" ? detail : Array.isArray(detail) ? JSON.stringify(detail).slice(0, 200) : res.text.slice(0, 200);
  const ctx = { status: res.status, message, ...(paymentHash ? { paymentHash } : {}) };
  let code: PaymentErrorCode;
  if (res.status === 401) code = PaymentErrorCode.UNAUTHORIZED;
  else if (res.status === 403) code = PaymentErrorCode.PERMISSION_DENIED;
  else if (res.status === 404 && paymentHash) code = PaymentErrorCode.INVOICE_NOT_FOUND;
  else if (res.status === 400 || res.status === 422) code = PaymentErrorCode.BAD_REQUEST;
  else if (res.status === 502 || res.status === 503 || res.status === 504) code = PaymentErrorCode.BACKEND_UNREACHABLE;
  else code = PaymentErrorCode.BACKEND_ERROR;
  return new PaymentError(code, `${what}: ${message || `HTTP ${res.status}`}`, ctx);
}
