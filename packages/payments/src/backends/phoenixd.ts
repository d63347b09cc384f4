// The phoenixd adapter (ACINQ's Lightning server): HTTP basic auth with an empty user name and the password from
// phoenix.conf, form-encoded `POST /createinvoice` (amountSat, description, expirySeconds, externalId),
// `GET /payments/incoming/{paymentHash}`, `GET /getinfo`.
//
// Credentials: give the device `http-password-limited-access`, never `http-password`. In phoenixd 0.8.0
// (github.com/ACINQ/phoenixd, src/commonMain/kotlin/fr/acinq/phoenixd/Api.kt, tag v0.8.0 de6f8ae8) the limited
// password is refused only by the routes that move money out (payinvoice, payoffer, paylnaddress, lnurlpay,
// lnurlauth, sendtoaddress, bumpfee, closechannel); it still reads balance and payment history. phoenixd >= 0.5
// generates it into phoenix.conf on first start.
//
// No hold invoices (phoenixd has none). No push: phoenixd's `/websocket` would need a WebSocket client, which Node
// 20 lacks without a dependency, and a push is only a hint; the monitor's poll finds every payment.
//
// Amounts: phoenixd takes whole sats, and reports `receivedSat` *after* its own fees (liquidity, on-the-fly
// channels) plus `fees` in msat; what the buyer paid is the sum of the two.
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
import { bolt11Fields, checkHash, checkInvoiceRequest, HASH_RE, msatToWholeSat, parseWire, sha256Hex } from "./common.js";

export interface PhoenixdBackendOptions {
  /** phoenixd's HTTP API, default port 9740: `http://127.0.0.1:9740`. */
  url: string;
  /** `http-password-limited-access` from phoenix.conf. */
  password: string;
  /** The network the machine is configured for; checked against phoenixd's `chain` where it reports one. */
  network: Network;
  /** Per-request timeout in ms. Default 10 000. */
  requestTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Injectable for tests; default the global fetch. */
  fetch?: typeof fetch;
}

const GetInfo = z.looseObject({
  nodeId: z.string().regex(/^(02|03)[0-9a-f]{64}$/),
  chain: z.string().optional(),
  blockHeight: z.int().optional(),
  version: z.string().optional(),
});

const CreatedInvoiceBody = z.looseObject({
  amountSat: z.number().int().optional(),
  paymentHash: z.string().regex(/^[0-9a-f]{64}$/),
  serialized: z.string().min(1),
});

const IncomingPayment = z.looseObject({
  paymentHash: z.string().regex(/^[0-9a-f]{64}$/),
  preimage: z.string().optional(),
  invoice: z.string().optional(),
  isPaid: z.boolean(),
  isExpired: z.boolean().optional(),
  receivedSat: z.number().int().min(0).default(0),
  /** msat */
  fees: z.number().int().min(0).default(0),
  completedAt: z.number().nullable().optional(),
  createdAt: z.number().optional(),
});

export class PhoenixdBackend implements LightningBackend {
  readonly kind = "phoenixd";
  readonly capabilities: BackendCapabilities = { holdInvoices: false, push: false };

  private readonly base: URL;
  private readonly auth: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private stopped = false;

  constructor(private readonly opts: PhoenixdBackendOptions) {
    this.base = new URL(opts.url);
    if (this.base.protocol !== "http:" && this.base.protocol !== "https:") throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "phoenixd's URL is http(s)://");
    if (!opts.password) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "the phoenixd password is required");
    this.auth = `Basic ${Buffer.from(`:${opts.password}`, "utf8").toString("base64")}`;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.stopped) throw new PaymentError(PaymentErrorCode.STOPPED, "this backend was stopped; make a new one");
    const info = await this.nodeInfo(signal);
    this.log.info("connected", { origin: this.base.origin, pubkey: info.pubkey, network: info.network });
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  async nodeInfo(signal?: AbortSignal): Promise<NodeInfo> {
    const info = parseWire(GetInfo, await this.call("GET", "/getinfo", undefined, signal), "getinfo", "phoenixd");
    if (info.chain !== undefined && toNetwork(info.chain) !== this.opts.network) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `phoenixd runs on ${info.chain}, the machine is configured for ${this.opts.network}`);
    }
    return { pubkey: info.nodeId, network: this.opts.network, ...(info.blockHeight !== undefined ? { blockHeight: info.blockHeight } : {}) };
  }

  async createHoldInvoice(): Promise<CreatedInvoice> {
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "phoenixd has no hold invoices");
  }

  async createInvoice(req: InvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice> {
    checkInvoiceRequest(req);
    const amountSat = msatToWholeSat(req.amountMsat, "phoenixd");
    const form = new URLSearchParams({ amountSat: amountSat.toString(), description: req.description, expirySeconds: String(req.expirySec) });
    const out = parseWire(CreatedInvoiceBody, await this.call("POST", "/createinvoice", form, signal), "createinvoice", "phoenixd");
    if (bolt11Fields(out.serialized).paymentHash !== out.paymentHash) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "phoenixd returned a payment hash that is not the invoice's", { paymentHash: out.paymentHash });
    }
    return { bolt11: out.serialized, paymentHash: out.paymentHash };
  }

  async lookupInvoice(paymentHash: string, signal?: AbortSignal): Promise<InvoiceStatus> {
    checkHash(paymentHash);
    const body = await this.call("GET", `/payments/incoming/${paymentHash}`, undefined, signal, paymentHash);
    if (body === undefined || body === null) throw new PaymentError(PaymentErrorCode.INVOICE_NOT_FOUND, "phoenixd has no incoming payment with this hash", { paymentHash });
    const p = parseWire(IncomingPayment, body, "incoming payment", "phoenixd");
    if (p.paymentHash !== paymentHash) throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "phoenixd answered with a payment of another hash", { paymentHash });
    const amountMsat = p.invoice ? (bolt11Fields(p.invoice).amountMsat ?? 0n) : 0n;
    if (p.isPaid) {
      const preimage = p.preimage && HASH_RE.test(p.preimage) && sha256Hex(p.preimage) === paymentHash ? p.preimage : undefined;
      return {
        paymentHash,
        state: InvoiceState.SETTLED,
        amountMsat,
        amountPaidMsat: BigInt(p.receivedSat) * 1000n + BigInt(p.fees),
        ...(preimage ? { preimage } : {}),
        ...(p.completedAt ? { settledAt: p.completedAt } : {}),
      };
    }
    return { paymentHash, state: p.isExpired ? InvoiceState.CANCELED : InvoiceState.OPEN, amountMsat, amountPaidMsat: 0n };
  }

  async settleInvoice(): Promise<void> {
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "phoenixd has no hold invoices");
  }

  async cancelInvoice(paymentHash: string): Promise<void> {
    checkHash(paymentHash);
    throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "a phoenixd invoice cannot be withdrawn; it lapses at its expiry", { paymentHash });
  }

  watch(_listener: (hint: BackendHint) => void): () => void {
    return () => undefined;
  }

  subscribe(paymentHash: string): void {
    checkHash(paymentHash);
  }

  unsubscribe(): void {}

  /** One request, bounded by the injected clock; answers the parsed JSON (undefined for an empty body). */
  private async call(method: string, path: string, form: URLSearchParams | undefined, signal?: AbortSignal, paymentHash?: string): Promise<unknown> {
    if (signal?.aborted) throw new PaymentError(PaymentErrorCode.ABORTED, "request aborted");
    const ac = new AbortController();
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.timeoutMs);
    const onAbort = () => ac.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const what = `${method} ${path.replace(/[0-9a-f]{64}/, "{hash}")}`;
    try {
      const url = new URL(this.base.pathname.replace(/\/$/, "") + path, this.base);
      const res = await this.fetch(url, {
        method,
        headers: { authorization: this.auth, accept: "application/json", ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
        ...(form ? { body: form.toString() } : {}),
        signal: ac.signal,
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (res.ok) {
        if (text && json === undefined) throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `${what}: phoenixd answered something that is not JSON`);
        return json;
      }
      const message = text.slice(0, 200);
      const ctx = { status: res.status, message, ...(paymentHash ? { paymentHash } : {}) };
      if (res.status === 401) throw new PaymentError(PaymentErrorCode.UNAUTHORIZED, `${what}: phoenixd refused the password`, ctx);
      if (res.status === 403) throw new PaymentError(PaymentErrorCode.PERMISSION_DENIED, `${what}: ${message}`, ctx);
      if (res.status === 404 && paymentHash) throw new PaymentError(PaymentErrorCode.INVOICE_NOT_FOUND, `${what}: no such payment`, ctx);
      if (res.status === 400) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, `${what}: ${message}`, ctx);
      if (res.status === 502 || res.status === 503 || res.status === 504) throw new PaymentError(PaymentErrorCode.BACKEND_UNREACHABLE, `${what}: HTTP ${res.status}`, ctx);
      throw new PaymentError(PaymentErrorCode.BACKEND_ERROR, `${what}: ${message || `HTTP ${res.status}`}`, ctx);
    } catch (err) {
      if (err instanceof PaymentError) throw err;
      if (timedOut) throw new PaymentError(PaymentErrorCode.BACKEND_TIMEOUT, `${what} got no answer within ${this.timeoutMs} ms`, { origin: this.base.origin });
      if (signal?.aborted) throw new PaymentError(PaymentErrorCode.ABORTED, "request aborted");
      throw new PaymentError(PaymentErrorCode.BACKEND_UNREACHABLE, `${what} failed: ${String((err as Error).message ?? err)}`, { origin: this.base.origin }, { cause: err });
    } finally {
      this.clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

function toNetwork(chain: string): Network {
  switch (chain.toLowerCase()) {
    case "mainnet":
    case "bitcoin":
      return "bitcoin";
    case "testnet":
    case "testnet3":
    case "testnet4":
      return "testnet";
    case "signet":
      return "signet";
    case "regtest":
      return "regtest";
    default:
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `phoenixd reports an unknown chain ${JSON.stringify(chain.slice(0, 20))}`);
  }
}
