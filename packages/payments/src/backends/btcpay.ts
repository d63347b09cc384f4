// The BTCPay Server adapter, over the Greenfield API (`Authorization: token <apiKey>`): an invoice restricted to the
// Lightning payment method, its payment methods for the BOLT 11 string and what was paid, and webhooks
// (`BTCPay-Sig: sha256=<hmac>`) as push hints. Facts relied on: backends/__fixtures__/upstream/btcpay-contract.ts.
//
// The Lightning payment method id: "BTC-LN" on 2.x; 1.x knows only "BTC-LightningNetwork" (and refuses "BTC-LN"
// with 422), which 2.x still takes as a legacy alias. Unless `paymentMethodId` is configured, the adapter asks for
// "BTC-LN" and, refused so, switches to "BTC-LightningNetwork" for good.
//
// BTCPay invoices are identified by BTCPay's own invoice id; the machine identifies payments by payment hash. The
// adapter keeps the mapping for the invoices it created. After a restart it finds an invoice again with Greenfield's
// text search, which matches a *prefix* of indexed terms and does not index the payment hash but does index the
// BOLT 11 string: the machine hands the BOLT 11 from its journal over (`restoreInvoice`), and the match is proven by
// the payment hash inside the BOLT 11 of the invoice found.
//
// Credentials: an API key with `btcpay.store.cancreateinvoice` and `btcpay.store.canviewinvoices` on the one store,
// nothing else. No hold invoices (BTCPay has none); no preimage in answers (Greenfield does not give it).
import type { Network } from "@zapvend/protocol";
import { createHmac, timingSafeEqual } from "node:crypto";
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
import { bolt11Fields, checkHash, checkInvoiceRequest, decimalToUnits, msatToBtcString, msatToWholeSat, parseWire } from "./common.js";

export interface BtcpayBackendOptions {
  /** The BTCPay Server, e.g. `https://btcpay.example.com`. */
  url: string;
  /** Greenfield API key with invoice rights on this store only. */
  apiKey: string;
  storeId: string;
  /** The secret of the store webhook that points at the machine; without it webhooks are refused and polling alone is used. */
  webhookSecret?: string;
  /** The key of the Lightning node behind the store (BTCPay does not tell an invoice-only key). */
  nodePubkey?: string;
  network: Network;
  /**
   * Payment method id to ask for: "BTC-LN" (BTCPay 2.x) or "BTC-LightningNetwork" (1.x, also taken by 2.x). Default:
   * "BTC-LN", switching to "BTC-LightningNetwork" when the server refuses it (1.x).
   */
  paymentMethodId?: string;
  /** Per-request timeout in ms. Default 10 000. */
  requestTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** 2.x's id, and 1.x's (which 2.x also takes). */
const DEFAULT_METHOD_ID = "BTC-LN";
const LEGACY_METHOD_ID = "BTC-LightningNetwork";
/** How the payment-methods answer names Lightning: `paymentMethodId` "BTC-LN" (2.x), `paymentMethod` "BTC-LightningNetwork" (1.x). */
const LN_METHOD_IDS = new Set(["BTC-LN", "BTC-LightningNetwork", "BTC_LightningLike"]);
/** Greenfield truncates a search term to 512 characters (InvoiceRepository). */
const SEARCH_MAX_CHARS = 512;

/** The 422 of an invoice request whose checkout.paymentMethods the server does not know. */
function isPaymentMethodRefusal(err: unknown): boolean {
  return err instanceof PaymentError && err.code === PaymentErrorCode.BAD_REQUEST && /paymentmethods/i.test(String(err.context?.["message"] ?? ""));
}

const Invoice = z.looseObject({
  id: z.string().min(1),
  storeId: z.string().optional(),
  status: z.enum(["New", "Processing", "Expired", "Invalid", "Settled"]),
  additionalStatus: z.string().optional(),
  expirationTime: z.number().optional(),
});
const InvoiceList = z.array(Invoice);

const PaymentMethod = z.looseObject({
  paymentMethodId: z.string().optional(),
  paymentMethod: z.string().optional(),
  destination: z.string().nullable().optional(),
  amount: z.string().optional(),
  paymentMethodPaid: z.string().optional(),
  activated: z.boolean().optional(),
  payments: z.array(z.looseObject({ receivedDate: z.number().optional(), value: z.string().optional(), status: z.string().optional() })).optional(),
  additionalData: z.looseObject({ paymentHash: z.string().optional(), preimage: z.string().nullable().optional() }).nullable().optional(),
});
const PaymentMethods = z.array(PaymentMethod);
type PaymentMethod = z.infer<typeof PaymentMethod>;

const GreenfieldError = z.looseObject({ code: z.string().optional(), message: z.string().optional() });
const ValidationErrors = z.array(z.looseObject({ path: z.string().optional(), message: z.string() }));

const WebhookEvent = z.looseObject({
  deliveryId: z.string().optional(),
  type: z.string(),
  storeId: z.string().optional(),
  invoiceId: z.string().optional(),
});

/** What `handleWebhook` made of a delivery; the HTTP route answers 200 when `accepted`, else 401/400. */
export interface WebhookOutcome {
  accepted: boolean;
  /** 401 for a bad signature, 400 for a body that is not a BTCPay event of this store. */
  status: 200 | 400 | 401;
  reason?: string;
}

export class BtcpayBackend implements LightningBackend {
  readonly kind = "btcpay";
  readonly capabilities: BackendCapabilities;

  private readonly http: HttpTransport;
  private readonly log: Logger;
  private readonly listeners = new Set<(hint: BackendHint) => void>();
  private readonly hashToInvoice = new Map<string, string>();
  private readonly invoiceToHash = new Map<string, string>();
  /** BOLT 11 strings of invoices issued before a restart (from the journal), by payment hash, until found. */
  private readonly restored = new Map<string, string>();
  /** The payment method id asked for (see the file comment); changes once when 1.x refuses the default. */
  private methodId: string;
  private readonly methodFixed: boolean;
  private readonly storePath: string;
  private stopped = false;

  constructor(private readonly opts: BtcpayBackendOptions) {
    if (!opts.apiKey || /[\r\n]/.test(opts.apiKey)) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "a BTCPay API key is required");
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(opts.storeId)) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "a BTCPay store id is letters and digits");
    this.capabilities = { holdInvoices: false, push: Boolean(opts.webhookSecret) };
    this.log = opts.logger ?? silentLogger;
    this.storePath = `/api/v1/stores/${opts.storeId}`;
    this.methodFixed = opts.paymentMethodId !== undefined;
    this.methodId = opts.paymentMethodId ?? DEFAULT_METHOD_ID;
    this.http = new HttpTransport({
      baseUrl: opts.url,
      headers: { Authorization: `token ${opts.apiKey}` },
      timeoutMs: opts.requestTimeoutMs ?? 10_000,
      clock: opts.clock ?? systemClock,
    });
  }

  /** Checks that BTCPay answers and the key may read this store's invoices. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.stopped) throw new PaymentError(PaymentErrorCode.STOPPED, "this backend was stopped; make a new one");
    await this.call("GET", `${this.storePath}/invoices?take=1`, undefined, signal);
    this.log.info("connected", { origin: this.http.origin, storeId: this.opts.storeId, webhooks: this.capabilities.push });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listeners.clear();
    this.http.close();
  }

  async nodeInfo(): Promise<NodeInfo> {
    if (!this.opts.nodePubkey) {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "BTCPay does not tell an invoice-only key its node's key: set payments.payeeNodeKey");
    }
    return { pubkey: this.opts.nodePubkey, network: this.opts.network };
  }

  async createHoldInvoice(): Promise<CreatedInvoice> {
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "BTCPay Server has no hold invoices");
  }

  async createInvoice(req: InvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice> {
    checkInvoiceRequest(req);
    // BTCPay prices BTC to 8 decimals: a sub-sat amount cannot be asked for exactly, so it is refused.
    msatToWholeSat(req.amountMsat, "BTCPay");
    const body = (methodId: string) => ({
      amount: msatToBtcString(req.amountMsat),
      currency: "BTC",
      metadata: { itemDesc: req.description },
      checkout: {
        paymentMethods: [methodId],
        // Greenfield takes whole minutes; rounding up keeps the buyer's window at least as long as asked.
        expirationMinutes: Math.ceil(req.expirySec / 60),
      },
    });
    let res: HttpResponse;
    try {
      res = await this.call("POST", `${this.storePath}/invoices`, body(this.methodId), signal);
    } catch (err) {
      if (this.methodFixed || this.methodId !== DEFAULT_METHOD_ID || !isPaymentMethodRefusal(err)) throw err;
      // BTCPay 1.x: "BTC-LN" is no payment method id there. Its own name works on both major versions.
      this.log.warn("BTCPay refused the payment method id BTC-LN (BTCPay 1.x); using BTC-LightningNetwork", { refused: DEFAULT_METHOD_ID });
      this.methodId = LEGACY_METHOD_ID;
      res = await this.call("POST", `${this.storePath}/invoices`, body(this.methodId), signal);
    }
    const inv = parseWire(Invoice, res.json, "create invoice", "BTCPay");
    let method = await this.lightningMethod(inv.id, signal);
    if (method.activated === false || !method.destination) {
      // Stores with "lazy payment methods" make the BOLT 11 only when asked.
      await this.call("POST", `${this.storePath}/invoices/${encodeURIComponent(inv.id)}/payment-methods/${encodeURIComponent(methodId(method))}/activate`, undefined, signal);
      method = await this.lightningMethod(inv.id, signal);
    }
    if (!method.destination) throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "BTCPay created the invoice without a Lightning invoice", { invoiceId: inv.id });
    const bolt11 = method.destination.replace(/^lightning:/i, "");
    const { paymentHash, amountMsat } = bolt11Fields(bolt11);
    if (amountMsat !== req.amountMsat) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `BTCPay's Lightning invoice asks ${amountMsat} msat, not ${req.amountMsat}`, { invoiceId: inv.id, paymentHash });
    }
    this.remember(paymentHash, inv.id);
    return { bolt11, paymentHash };
  }

  async lookupInvoice(paymentHash: string, signal?: AbortSignal): Promise<InvoiceStatus> {
    checkHash(paymentHash);
    const invoiceId = this.hashToInvoice.get(paymentHash) ?? (await this.findInvoiceId(paymentHash, signal));
    const inv = parseWire(Invoice, (await this.call("GET", `${this.storePath}/invoices/${encodeURIComponent(invoiceId)}`, undefined, signal, paymentHash)).json, "invoice", "BTCPay");
    const method = await this.lightningMethod(invoiceId, signal, paymentHash);
    const bolt11 = (method.destination ?? "").replace(/^lightning:/i, "");
    const fields = bolt11Fields(bolt11);
    if (fields.paymentHash !== paymentHash) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "BTCPay's invoice carries another payment hash", { invoiceId, paymentHash });
    }
    const amountMsat = fields.amountMsat ?? 0n;
    // What the Lightning method received, not the invoice status: a store owner can "mark settled" by hand.
    const paidMsat = decimalToUnits(method.paymentMethodPaid ?? "0", 11);
    if (paidMsat === null) throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "BTCPay sent a paid amount that is not a decimal", { invoiceId });
    const settledAt = method.payments?.find((p) => p.status === "Settled")?.receivedDate;
    switch (inv.status) {
      case "Settled":
        return { paymentHash, state: InvoiceState.SETTLED, amountMsat, amountPaidMsat: paidMsat, ...(settledAt ? { settledAt: settledAt * 1000 } : {}) };
      case "Expired":
      case "Invalid":
        // A Lightning payment cannot arrive after the BOLT 11 expired, so nothing paid here is money kept.
        return { paymentHash, state: paidMsat > 0n ? InvoiceState.SETTLED : InvoiceState.CANCELED, amountMsat, amountPaidMsat: paidMsat };
      default:
        return { paymentHash, state: InvoiceState.OPEN, amountMsat, amountPaidMsat: 0n };
    }
  }

  async settleInvoice(): Promise<void> {
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "BTCPay Server has no hold invoices");
  }

  async cancelInvoice(paymentHash: string): Promise<void> {
    checkHash(paymentHash);
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "an invoice-only BTCPay key cannot invalidate invoices; the invoice lapses at its expiry", { paymentHash });
  }

  watch(listener: (hint: BackendHint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribe(paymentHash: string): void {
    checkHash(paymentHash);
  }

  unsubscribe(): void {}

  /** An invoice issued before a restart: its BOLT 11 (BTCPay indexes it for search; see the file comment). */
  restoreInvoice(paymentHash: string, bolt11: string): void {
    checkHash(paymentHash);
    if (!this.hashToInvoice.has(paymentHash) && bolt11) this.restored.set(paymentHash, bolt11.replace(/^lightning:/i, ""));
  }

  /** Records a payment hash <-> BTCPay invoice id pair known from elsewhere. */
  remember(paymentHash: string, invoiceId: string): void {
    this.hashToInvoice.set(paymentHash, invoiceId);
    this.invoiceToHash.set(invoiceId, paymentHash);
    this.restored.delete(paymentHash);
  }

  /**
   * Takes one webhook delivery: the raw body exactly as received and the `BTCPay-Sig` header. The signature is
   * checked (HMAC-SHA256 with the webhook secret, constant-time) before anything in the body is read. A valid event
   * about one of this store's invoices becomes a hint; it is never proof: the monitor then looks the invoice up.
   */
  async handleWebhook(rawBody: Uint8Array | string, signatureHeader: string | undefined): Promise<WebhookOutcome> {
    const secret = this.opts.webhookSecret;
    if (!secret) return { accepted: false, status: 401, reason: "no webhook secret configured" };
    const raw = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : Buffer.from(rawBody);
    const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`, "utf8");
    const given = Buffer.from((signatureHeader ?? "").trim().toLowerCase(), "utf8");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.log.warn("webhook with a bad signature refused", {});
      return { accepted: false, status: 401, reason: "bad signature" };
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString("utf8"));
    } catch {
      return { accepted: false, status: 400, reason: "body is not JSON" };
    }
    const ev = WebhookEvent.safeParse(json);
    if (!ev.success) return { accepted: false, status: 400, reason: "not a BTCPay event" };
    if (ev.data.storeId !== undefined && ev.data.storeId !== this.opts.storeId) return { accepted: false, status: 400, reason: "event of another store" };
    const invoiceId = ev.data.invoiceId;
    if (!invoiceId) return { accepted: true, status: 200 };
    let paymentHash = this.invoiceToHash.get(invoiceId);
    if (!paymentHash) {
      try {
        const method = await this.lightningMethod(invoiceId);
        paymentHash = bolt11Fields((method.destination ?? "").replace(/^lightning:/i, "")).paymentHash;
        this.remember(paymentHash, invoiceId);
      } catch (err) {
        // A delivery about an invoice without Lightning (or one BTCPay no longer has) is no hint for the machine.
        this.log.warn("webhook for an invoice that could not be mapped to a payment hash", { invoiceId, err: String(err) });
        return { accepted: true, status: 200 };
      }
    }
    this.emit({ type: "invoice", paymentHash });
    return { accepted: true, status: 200 };
  }

  private emit(hint: BackendHint): void {
    for (const l of [...this.listeners]) {
      try {
        l(hint);
      } catch (err) {
        this.log.error("hint listener threw", { err: String(err) });
      }
    }
  }

  private async lightningMethod(invoiceId: string, signal?: AbortSignal, paymentHash?: string): Promise<PaymentMethod> {
    const res = await this.call("GET", `${this.storePath}/invoices/${encodeURIComponent(invoiceId)}/payment-methods`, undefined, signal, paymentHash);
    const methods = parseWire(PaymentMethods, res.json, "payment methods", "BTCPay");
    const ln = methods.find((m) => LN_METHOD_IDS.has(methodId(m)));
    if (!ln) throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "the BTCPay invoice has no Lightning payment method (is Lightning set up for the store?)", { invoiceId });
    return ln;
  }

  /**
   * After a restart: find the invoice by the BOLT 11 the machine restored, with Greenfield's text search (a prefix
   * match of at most 512 characters against indexed terms, among them each payment method's destination), and keep
   * only one whose own BOLT 11 carries this hash. The payment hash itself is never indexed, so without the BOLT 11
   * there is nothing to search for.
   */
  private async findInvoiceId(paymentHash: string, signal?: AbortSignal): Promise<string> {
    const bolt11 = this.restored.get(paymentHash);
    if (!bolt11) {
      throw new PaymentError(
        PaymentErrorCode.INVOICE_NOT_FOUND,
        "BTCPay cannot be searched by payment hash and the machine did not restore this invoice's BOLT 11",
        { paymentHash },
      );
    }
    const term = encodeURIComponent(bolt11.slice(0, SEARCH_MAX_CHARS));
    const res = await this.call("GET", `${this.storePath}/invoices?textSearch=${term}&take=5`, undefined, signal, paymentHash);
    for (const inv of parseWire(InvoiceList, res.json, "invoice search", "BTCPay")) {
      try {
        const m = await this.lightningMethod(inv.id, signal);
        if (bolt11Fields((m.destination ?? "").replace(/^lightning:/i, "")).paymentHash === paymentHash) {
          this.remember(paymentHash, inv.id);
          return inv.id;
        }
      } catch {
        // not this one
      }
    }
    throw new PaymentError(PaymentErrorCode.INVOICE_NOT_FOUND, "BTCPay has no invoice with this BOLT 11", { paymentHash });
  }

  private async call(method: string, path: string, body: unknown, signal: AbortSignal | undefined, paymentHash?: string): Promise<HttpResponse> {
    const res = await this.http.request(method, path, body, { signal });
    if (res.status >= 200 && res.status <= 299) return res;
    throw btcpayError(res, `${method} ${path.replace(/\?.*$/, "")}`, paymentHash);
  }
}

function methodId(m: PaymentMethod): string {
  return m.paymentMethodId ?? m.paymentMethod ?? "";
}

/** Greenfield errors: `{code, message}`, or for 422 an array of `{path, message}`. */
export function btcpayError(res: HttpResponse, what: string, paymentHash?: string): PaymentError {
  const one = GreenfieldError.safeParse(res.json);
  const many = ValidationErrors.safeParse(res.json);
  const message = many.success
    ? many.data.map((e) => `${e.path ?? ""}: ${e.message}`).join("; ").slice(0, 300)
    : one.success && one.data.message
      ? one.data.message
      : res.text.slice(0, 200);
  const gfCode = one.success ? one.data.code : undefined;
  const ctx = { status: res.status, greenfieldCode: gfCode, message, ...(paymentHash ? { paymentHash } : {}) };
  let code: PaymentErrorCode;
  if (res.status === 401) code = PaymentErrorCode.UNAUTHORIZED;
  else if (res.status === 403) code = PaymentErrorCode.PERMISSION_DENIED;
  else if (res.status === 404 && gfCode === "invoice-not-found") code = PaymentErrorCode.INVOICE_NOT_FOUND;
  else if (res.status === 400 || res.status === 422) code = PaymentErrorCode.BAD_REQUEST;
  else if (res.status === 502 || res.status === 503 || res.status === 504) code = PaymentErrorCode.BACKEND_UNREACHABLE;
  else code = PaymentErrorCode.BACKEND_ERROR;
  return new PaymentError(code, `${what}: ${message || `HTTP ${res.status}`}`, ctx);
}
