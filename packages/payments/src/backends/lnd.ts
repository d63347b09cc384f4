// The LND REST adapter: hold invoices through invoicesrpc (`/v2/invoices/hodl`, `/settle`, `/cancel`), lookups by
// payment hash, and one `/v2/invoices/subscribe/{hash}` stream per tracked invoice: LND's global invoice stream
// (`/v1/invoices/subscribe`) never reports ACCEPTED, and ACCEPTED is the state a vending machine acts on.
//
// Credentials: the device should hold a macaroon baked with only what this adapter calls:
//   lncli bakemacaroon info:read invoices:read invoices:write
// (`info:read` for getinfo, which tells the node key every invoice must be signed with; LND's stock
// `invoice.macaroon` lacks it and also carries address/onchain rights the machine does not need.) It cannot spend.
import type { Network } from "@zapvend/protocol";
import type {
  BackendCapabilities,
  BackendHint,
  CreatedInvoice,
  HoldInvoiceRequest,
  InvoiceRequest,
  InvoiceStatus,
  LightningBackend,
  NodeInfo,
} from "../backend.js";
import { InvoiceState } from "../backend.js";
import { PaymentError, PaymentErrorCode } from "../errors.js";
import { silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from "../runtime.js";
import { HttpTransport, type HttpResponse } from "../transport.js";
import {
  b64ToHex,
  GrpcCode,
  hexToB64,
  hexToB64Url,
  LndAddHoldInvoiceResp,
  LndAddInvoiceResponse,
  LndErrorBody,
  LndGetInfoResponse,
  LndInvoice,
  LndMessages,
  LndStreamError,
  LndStreamResult,
  type LndAddHoldInvoiceRequest,
  type LndAddInvoiceRequest,
  type LndInvoiceState,
} from "./lnd-wire.js";

export interface LndBackendOptions {
  /** REST endpoint: `https://host:8080` for LND (its `restlisten`), `http://127.0.0.1:8060` for the sim node. */
  url: string;
  /** The macaroon as hex, sent as the `Grpc-Metadata-macaroon` header. See the file comment for which one. */
  macaroonHex?: string;
  /** LND's `tls.cert` (PEM), pinned: only a server presenting exactly this certificate is talked to. */
  tlsCertPem?: string;
  /** Per-request timeout in ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** First reconnect delay of an invoice stream in ms; doubles per failure, with jitter. Default 500. */
  reconnectMinDelayMs?: number;
  /** Longest reconnect delay in ms. Default 30 000. */
  reconnectMaxDelayMs?: number;
  /** Reported as `kind`. Default "lnd"; the sim node wiring passes "sim". */
  kind?: string;
  clock?: Clock;
  logger?: Logger;
  /** Random source in [0, 1) for reconnect jitter; injectable so tests are deterministic. */
  random?: () => number;
}

const HASH_RE = /^[0-9a-f]{64}$/;

/** LND's REST API behind the `LightningBackend` interface. */
export class LndBackend implements LightningBackend {
  readonly kind: string;
  readonly capabilities: BackendCapabilities = { holdInvoices: true, push: true };

  private readonly http: HttpTransport;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly listeners = new Set<(hint: BackendHint) => void>();
  private readonly streams = new Map<string, InvoiceStream>();
  private started = false;
  private stopped = false;
  // Streams start healthy: only a change is worth a hint.
  private lastHealth: "up" | "degraded" = "up";

  constructor(opts: LndBackendOptions) {
    this.kind = opts.kind ?? "lnd";
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    this.minDelayMs = opts.reconnectMinDelayMs ?? 500;
    this.maxDelayMs = opts.reconnectMaxDelayMs ?? 30_000;
    if (opts.macaroonHex !== undefined && !/^[0-9a-fA-F]+$/.test(opts.macaroonHex)) {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "the macaroon must be given as hex");
    }
    this.http = new HttpTransport({
      baseUrl: opts.url,
      tlsCertPem: opts.tlsCertPem,
      headers: opts.macaroonHex ? { "Grpc-Metadata-macaroon": opts.macaroonHex.toLowerCase() } : {},
      timeoutMs: opts.requestTimeoutMs ?? 10_000,
      clock: this.clock,
    });
  }

  /** Checks that the node answers and the macaroon is accepted (getinfo); opens the streams subscribed before. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.stopped) throw new PaymentError(PaymentErrorCode.STOPPED, "this backend was stopped; make a new one");
    const info = await this.nodeInfo(signal);
    this.log.info("connected", { origin: this.http.origin, pubkey: info.pubkey, network: info.network });
    this.started = true;
    for (const s of this.streams.values()) s.open();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.started = false;
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    this.listeners.clear();
    this.http.close();
  }

  async nodeInfo(signal?: AbortSignal): Promise<NodeInfo> {
    const res = await this.call("GET", "/v1/getinfo", undefined, signal);
    const info = parse(LndGetInfoResponse, res.json, "getinfo");
    const chain = info.chains.find((c) => c.chain === "bitcoin") ?? info.chains[0];
    return {
      pubkey: info.identity_pubkey,
      network: toNetwork(chain?.network ?? (info.testnet ? "testnet" : "mainnet")),
      ...(info.alias ? { alias: info.alias } : {}),
      blockHeight: info.block_height,
    };
  }

  async createHoldInvoice(req: HoldInvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice> {
    checkHash(req.paymentHash);
    checkInvoiceRequest(req);
    const body: LndAddHoldInvoiceRequest = {
      memo: req.description,
      hash: hexToB64(req.paymentHash),
      value_msat: req.amountMsat.toString(),
      expiry: String(req.expirySec),
      ...(req.cltvExpiry !== undefined ? { cltv_expiry: String(req.cltvExpiry) } : {}),
    };
    const res = await this.call("POST", "/v2/invoices/hodl", body, signal, req.paymentHash);
    const out = parse(LndAddHoldInvoiceResp, res.json, "addholdinvoice");
    return { bolt11: out.payment_request, paymentHash: req.paymentHash };
  }

  async createInvoice(req: InvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice> {
    checkInvoiceRequest(req);
    const body: LndAddInvoiceRequest = { memo: req.description, value_msat: req.amountMsat.toString(), expiry: String(req.expirySec) };
    const res = await this.call("POST", "/v1/invoices", body, signal);
    const out = parse(LndAddInvoiceResponse, res.json, "addinvoice");
    const paymentHash = b64ToHex(out.r_hash);
    if (!HASH_RE.test(paymentHash)) throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "addinvoice returned an r_hash that is not 32 bytes");
    return { bolt11: out.payment_request, paymentHash };
  }

  async lookupInvoice(paymentHash: string, signal?: AbortSignal): Promise<InvoiceStatus> {
    checkHash(paymentHash);
    // `r_hash_str` is the hex form of the hash; LND still accepts it in the path.
    const res = await this.call("GET", `/v1/invoice/${paymentHash}`, undefined, signal, paymentHash);
    const inv = parse(LndInvoice, res.json, "lookupinvoice");
    // A node (or something in between) answering with another invoice must not be able to mark this one paid.
    if (b64ToHex(inv.r_hash) !== paymentHash) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "lookupinvoice answered with an invoice of another payment hash", { paymentHash });
    }
    return toStatus(paymentHash, inv);
  }

  async settleInvoice(preimage: string, signal?: AbortSignal): Promise<void> {
    if (!HASH_RE.test(preimage)) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "a preimage is 32 bytes as 64 lower-case hex digits");
    // LND itself answers success for an invoice already settled, which makes a retried settle safe.
    await this.call("POST", "/v2/invoices/settle", { preimage: hexToB64(preimage) }, signal);
  }

  async cancelInvoice(paymentHash: string, signal?: AbortSignal): Promise<void> {
    checkHash(paymentHash);
    await this.call("POST", "/v2/invoices/cancel", { payment_hash: hexToB64(paymentHash) }, signal, paymentHash);
  }

  watch(listener: (hint: BackendHint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribe(paymentHash: string): void {
    checkHash(paymentHash);
    if (this.stopped || this.streams.has(paymentHash)) return;
    const s = new InvoiceStream(this, paymentHash);
    this.streams.set(paymentHash, s);
    if (this.started) s.open();
  }

  unsubscribe(paymentHash: string): void {
    const s = this.streams.get(paymentHash);
    if (!s) return;
    s.close();
    this.streams.delete(paymentHash);
    this.updateHealth();
  }

  /** Number of per-invoice streams currently wanted (open or reconnecting); for status pages and tests. */
  get streamCount(): number {
    return this.streams.size;
  }

  // --- internals shared with InvoiceStream ------------------------------------------------------------------------

  /** @internal */
  emit(hint: BackendHint): void {
    for (const l of [...this.listeners]) {
      try {
        l(hint);
      } catch (err) {
        this.log.error("hint listener threw", { err: String(err) });
      }
    }
  }

  /** @internal */
  get deps() {
    return { http: this.http, clock: this.clock, log: this.log };
  }

  /** @internal Backoff with jitter: min * 2^attempt capped at max, then a random 50-100 % of it. */
  reconnectDelayMs(attempt: number): number {
    const capped = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(attempt, 30));
    return Math.round(capped * (0.5 + this.random() * 0.5));
  }

  /** @internal A stream finished for good (the invoice is final): forget it. */
  streamFinished(paymentHash: string): void {
    this.streams.delete(paymentHash);
    this.updateHealth();
  }

  /** @internal Health of the push side: degraded while any wanted stream is down. */
  updateHealth(): void {
    if (!this.started) return;
    const failing = [...this.streams.values()].filter((s) => s.failing);
    const health = failing.length > 0 ? "degraded" : "up";
    if (health === this.lastHealth) return;
    this.lastHealth = health;
    this.emit(
      health === "up"
        ? { type: "health", health: "up" }
        : { type: "health", health: "degraded", reason: `${failing.length} invoice stream(s) reconnecting: ${failing[0]?.lastError ?? ""}` },
    );
  }

  /** One REST call; any non-2xx answer becomes a coded `PaymentError`. */
  private async call(method: string, path: string, body: unknown, signal: AbortSignal | undefined, paymentHash?: string): Promise<HttpResponse> {
    const res = await this.http.request(method, path, body, { signal });
    if (res.status >= 200 && res.status <= 299) return res;
    throw lndError(res.status, res.json, res.text, `${method} ${path.replace(/[0-9a-f]{64}/, "{hash}")}`, paymentHash);
  }
}

/**
 * One `/v2/invoices/subscribe/{hash}` stream, reopened with backoff and jitter after every drop. LND sends the
 * invoice's current state first on every (re)subscribe and ends the stream once the invoice is settled or canceled.
 */
class InvoiceStream {
  private abort: AbortController | undefined;
  private timer: TimerHandle | undefined;
  private attempt = 0;
  private closed = false;
  private hadOpen = false;
  private lastState: LndInvoiceState | undefined;
  failing = false;
  lastError: string | undefined;

  constructor(
    private readonly owner: LndBackend,
    readonly paymentHash: string,
  ) {}

  open(): void {
    if (this.closed || this.abort) return;
    const { http, log } = this.owner.deps;
    const ac = new AbortController();
    this.abort = ac;
    const path = `/v2/invoices/subscribe/${hexToB64Url(this.paymentHash)}`;
    http
      .stream(
        path,
        {
          onOpen: () => {
            const reconnect = this.hadOpen || this.failing;
            this.hadOpen = true;
            this.attempt = 0;
            if (this.failing) {
              this.failing = false;
              this.owner.updateHealth();
            }
            // A notification may have been lost while the stream was down: the monitor sweeps on this hint.
            if (reconnect) {
              log.info("invoice stream reconnected", { paymentHash: this.paymentHash });
              this.owner.emit({ type: "reconnected" });
            }
          },
          onLine: (line) => this.onLine(line),
        },
        ac.signal,
      )
      .then(
        () => this.ended(undefined),
        (err: unknown) => this.ended(err),
      );
  }

  close(): void {
    this.closed = true;
    this.abort?.abort();
    this.abort = undefined;
    if (this.timer !== undefined) this.owner.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onLine(line: string): void {
    const { log } = this.owner.deps;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      log.warn("invoice stream sent a line that is not JSON", { paymentHash: this.paymentHash });
      return;
    }
    const error = LndStreamError.safeParse(msg);
    if (error.success) {
      // The node ends the stream after an error line; the reconnect follows from that.
      this.lastError = error.data.error.message ?? "stream error";
      log.warn("invoice stream error", { paymentHash: this.paymentHash, message: this.lastError });
      return;
    }
    const result = LndStreamResult.safeParse(msg);
    if (!result.success) return;
    const inv = LndInvoice.safeParse(result.data.result);
    if (!inv.success) return;
    // A stream carrying another hash is not about this invoice; it is only a hint either way.
    if (inv.data.r_hash && b64ToHex(inv.data.r_hash) !== this.paymentHash) return;
    this.lastState = inv.data.state;
    this.owner.emit({ type: "invoice", paymentHash: this.paymentHash, state: toState(inv.data.state) });
  }

  private ended(err: unknown): void {
    this.abort = undefined;
    if (this.closed) return;
    const { clock, log } = this.owner.deps;
    if (!err && (this.lastState === "SETTLED" || this.lastState === "CANCELED")) {
      // LND closes the stream of a final invoice: nothing more can happen to it.
      this.closed = true;
      this.owner.streamFinished(this.paymentHash);
      return;
    }
    this.lastError = err ? describe(err) : "stream closed by the node";
    if (!this.failing) {
      this.failing = true;
      this.owner.updateHealth();
    }
    const delayMs = this.owner.reconnectDelayMs(this.attempt++);
    log.warn("invoice stream down; reconnecting", { paymentHash: this.paymentHash, delayMs, reason: this.lastError });
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, delayMs);
  }
}

function describe(err: unknown): string {
  const e = err as { message?: string; status?: number; text?: string };
  if (e.status) return `HTTP ${e.status} ${(e.text ?? "").slice(0, 200)}`;
  return e.message ?? String(err);
}

function checkHash(paymentHash: string): void {
  if (!HASH_RE.test(paymentHash)) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "a payment hash is 32 bytes as 64 lower-case hex digits");
}

function checkInvoiceRequest(req: InvoiceRequest): void {
  if (req.amountMsat <= 0n) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "an invoice needs a positive amount");
  if (!Number.isInteger(req.expirySec) || req.expirySec <= 0) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "expirySec must be a positive integer");
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `${what}: the node's answer does not match LND's API`, { detail: r.error.message.slice(0, 300) });
  return r.data;
}

function toState(s: LndInvoiceState): InvoiceState {
  switch (s) {
    case "OPEN":
      return InvoiceState.OPEN;
    case "ACCEPTED":
      return InvoiceState.ACCEPTED;
    case "SETTLED":
      return InvoiceState.SETTLED;
    case "CANCELED":
      return InvoiceState.CANCELED;
  }
}

function toStatus(paymentHash: string, inv: LndInvoice): InvoiceStatus {
  const state = toState(inv.state);
  const preimage = inv.r_preimage ? b64ToHex(inv.r_preimage) : "";
  const held = inv.htlcs.filter((h) => h.state === "ACCEPTED" && h.expiry_height > 0).map((h) => h.expiry_height);
  const settleDate = Number(inv.settle_date);
  return {
    paymentHash,
    state,
    amountMsat: BigInt(inv.value_msat),
    amountPaidMsat: BigInt(inv.amt_paid_msat),
    // LND fills r_preimage for a hold invoice only once settled; never pass an all-zero or partial value on.
    ...(state === InvoiceState.SETTLED && HASH_RE.test(preimage) ? { preimage } : {}),
    ...(state === InvoiceState.SETTLED && settleDate > 0 ? { settledAt: settleDate * 1000 } : {}),
    ...(held.length > 0 ? { htlcExpiryHeight: Math.min(...held) } : {}),
  };
}

/** LND's network names ("mainnet", "testnet", "testnet4", "signet", "regtest", "simnet") as the protocol's. */
function toNetwork(n: string): Network {
  switch (n) {
    case "mainnet":
    case "bitcoin":
      return "bitcoin";
    case "testnet":
    case "testnet3":
    case "testnet4":
      return "testnet";
    case "signet":
    case "regtest":
    case "simnet":
      return n;
    default:
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, `getinfo reports an unknown network ${JSON.stringify(n.slice(0, 20))}`);
  }
}

/** An LND error answer as a coded error: the gRPC code where it is specific, else LND's own words. */
export function lndError(status: number, json: unknown, text: string, what: string, paymentHash?: string): PaymentError {
  const body = LndErrorBody.safeParse(json);
  const message = (body.success ? (body.data.message ?? body.data.error) : undefined) ?? text.slice(0, 200);
  const grpc = body.success ? body.data.code : undefined;
  const ctx = { status, grpcCode: grpc, message, ...(paymentHash ? { paymentHash } : {}) };
  const has = (m: string) => message.toLowerCase().includes(m);
  let code: PaymentErrorCode;
  if (has(LndMessages.INVOICE_NOT_FOUND) || has("there are no existing invoices") || grpc === GrpcCode.NOT_FOUND || status === 404) {
    code = PaymentErrorCode.INVOICE_NOT_FOUND;
  } else if (has(LndMessages.INVOICE_EXISTS) || grpc === GrpcCode.ALREADY_EXISTS || status === 409) {
    code = PaymentErrorCode.DUPLICATE_PAYMENT_HASH;
  } else if (has(LndMessages.STILL_OPEN)) {
    code = PaymentErrorCode.NOT_HELD;
  } else if (has(LndMessages.ALREADY_CANCELED)) {
    code = PaymentErrorCode.ALREADY_CANCELED;
  } else if (has(LndMessages.ALREADY_SETTLED)) {
    code = PaymentErrorCode.ALREADY_SETTLED;
  } else if (has(LndMessages.PERMISSION_DENIED) || grpc === GrpcCode.PERMISSION_DENIED || status === 403) {
    code = PaymentErrorCode.PERMISSION_DENIED;
  } else if (has("macaroon") || has("verification failed") || grpc === GrpcCode.UNAUTHENTICATED || status === 401) {
    code = PaymentErrorCode.UNAUTHORIZED;
  } else if (has("waiting to start") || has("in the process of starting") || grpc === GrpcCode.UNAVAILABLE || status === 502 || status === 503 || status === 504) {
    code = PaymentErrorCode.BACKEND_UNREACHABLE;
  } else {
    code = PaymentErrorCode.BACKEND_ERROR;
  }
  return new PaymentError(code, `${what}: ${message || `HTTP ${status}`}`, ctx);
}
