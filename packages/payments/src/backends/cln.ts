// The Core Lightning adapter, over clnrest (`POST /v1/<method>`, `Rune` header). Hold invoices come from the
// holdinvoice plugin (github.com/daywalker90/holdinvoice: `holdinvoice`, `holdinvoicesettle`, `holdinvoicecancel`,
// `holdinvoicelookup`) when the node has it; without it the machine gets plain invoices (`invoice`,
// `listinvoices`). Push hints come from CLN's `wait`, long-polled: on the invoices index (paid, expired) and, on CLN
// >= v25.05, on the htlcs index (a buyer's HTLC for a held invoice, confirmed with the plugin before hinting).
// Facts relied on, with upstream sources: backends/__fixtures__/upstream/cln-contract.ts.
//
// Credentials: give the device a rune restricted to exactly the methods below, e.g.
//   lightning-cli createrune restrictions='[["method=getinfo","method=invoice","method=listinvoices","method=wait",
//     "method=holdinvoice","method=holdinvoicesettle","method=holdinvoicecancel","method=holdinvoicelookup",
//     "method=listconfigs"],["method/listconfigs","pnameconfig=holdinvoice-cancel-before-invoice-expiry"]]'
// (alternatives inside one array are OR-ed, arrays AND-ed: the second one lets listconfigs read only the plugin's
// expiry option). It cannot pay, open channels or withdraw. `listconfigs` is optional (see "Hold invoice expiry").
//
// Hold invoice expiry: the plugin refuses an `expiry` not above its `holdinvoice-cancel-before-invoice-expiry`
// (default 1800 s), and once `expires_at - that option` has passed it stops holding: an OPEN hold is canceled and an
// ACCEPTED one is SETTLED by the plugin itself (upstream/cln-contract.ts HOLDINVOICE). So the invoice is made to live
// for the order's own window + `holdSettleWindowSec` + the floor: the plugin holds for the order's window and a vend
// after it, and never settles before the machine has decided. The order's own deadline stays the machine's: the
// controller expires the order and cancels the hold at the order's expiry, whatever the BOLT 11 says. The floor is
// read from the node (`listconfigs`) when the rune allows it, else taken from the plugin's refusal, else 1800.
//
// Why the preimage goes to the node here: the plugin builds the hold invoice with CLN's own `invoice` command, which
// needs the preimage; the plugin then holds the HTLCs until `holdinvoicesettle`, so the node still only takes the
// money when the machine says so. The machine keeps its copy and settles by payment hash.
import { randomBytes } from "node:crypto";
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
import { isTransient, PaymentError, PaymentErrorCode } from "../errors.js";
import { silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from "../runtime.js";
import { HttpTransport } from "../transport.js";
import {
  ClnErrorCode,
  ClnGetinfo,
  ClnInvoiceCreated,
  ClnListConfigsInt,
  ClnListInvoices,
  ClnRpcError,
  ClnWaitHtlcs,
  ClnWaitInvoices,
  HoldLookup,
  HoldStateResult,
  isRpcErrorResult,
  type ClnWaitInvoiceChange,
  type HoldState,
} from "./cln-wire.js";
import { clnError, toNetwork, toStatus } from "./cln-map.js";
import { ClnWaitLoop, type WaitSubsystem } from "./cln-wait.js";
import { bolt11Fields, checkHash, checkInvoiceRequest, HASH_RE, parseWire, sha256Hex, toSafeNumber } from "./common.js";

/** The holdinvoice plugin's option that sets its expiry floor, and its default (upstream/cln-contract.ts HOLDINVOICE). */
const HOLD_FLOOR_OPTION = "holdinvoice-cancel-before-invoice-expiry";
const DEFAULT_HOLD_FLOOR_SEC = 1_800;
const DEFAULT_HOLD_SETTLE_WINDOW_SEC = 600;
/** After an incoming HTLC for a watched hold invoice: ask the plugin this often, this many times (5 s in all). */
const HELD_CHECK_INTERVAL_MS = 250;
const HELD_CHECK_TRIES = 20;

export interface ClnBackendOptions {
  /** clnrest endpoint, e.g. `https://node:3010`. */
  url: string;
  /** The rune, sent as the `Rune` header. See the file comment for its restrictions. */
  rune: string;
  /**
   * clnrest's certificates to trust (PEM): its `ca.pem` (the server's certificate must chain to it and name the host
   * or `tlsServerName`), or its `server.pem` (pinned exactly, whatever it names), or both in one file.
   */
  tlsCertPem?: string;
  /**
   * With `ca.pem` pinned: the name the server's certificate must carry when it does not name the URL's host.
   * Default "cln rest server", the name clnrest gives the server certificate it generates (and not its client one).
   */
  tlsServerName?: string;
  /**
   * Whether the node has the holdinvoice plugin. "auto" (default) asks the node at `start()`: a
   * `holdinvoicelookup` of an unknown hash answers "not found" with the plugin and 404 without it.
   */
  holdInvoices?: boolean | "auto";
  /** min_final_cltv_expiry of hold invoices in blocks when the request gives none (the plugin requires one). Default 80. */
  defaultCltvExpiry?: number;
  /**
   * The plugin's `holdinvoice-cancel-before-invoice-expiry` in seconds, when known. Default: read from the node at
   * `start()` (listconfigs), else learnt from the plugin's refusal, else the plugin's default 1800.
   */
  holdExpiryFloorSec?: number;
  /**
   * Seconds after the order's own expiry during which a held payment is still the machine's to settle or cancel
   * (a payment accepted in the last second, then the vend). Added to a hold invoice's expiry. Default 600.
   */
  holdSettleWindowSec?: number;
  /** Per-request timeout in ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** How long one `wait` long-poll may stay open, in seconds. Default 60. */
  waitTimeoutSec?: number;
  /** First reconnect delay of the `wait` long-poll in ms; doubles per failure, with jitter. Default 500. */
  reconnectMinDelayMs?: number;
  /** Longest reconnect delay in ms. Default 30 000. */
  reconnectMaxDelayMs?: number;
  /** Prefix of the invoice labels this machine creates (CLN labels must be unique per node). Default "zapvend". */
  labelPrefix?: string;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
}

/** A hold request for CLN: the plugin needs the preimage (see the file comment). */
export interface ClnHoldInvoiceRequest extends HoldInvoiceRequest {
  /** 32 bytes hex; sha256(preimage) must equal `paymentHash`. */
  preimage?: string;
}

export class ClnBackend implements LightningBackend {
  readonly kind = "cln";
  readonly capabilities: BackendCapabilities;

  private readonly http: HttpTransport;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly listeners = new Set<(hint: BackendHint) => void>();
  private readonly holdSetting: boolean | "auto";
  private readonly opts: ClnBackendOptions;
  private started = false;
  private stopped = false;
  /** The long-poll loops (invoices, htlcs). */
  private readonly loops: ClnWaitLoop[] = [];
  /** Timers of the held-state checks after an incoming HTLC. */
  private readonly timers = new Set<TimerHandle>();
  /** Payment hashes the monitor watches (`subscribe`), and those whose held state is being checked. */
  private readonly watched = new Set<string>();
  private readonly confirming = new Set<string>();
  /** The plugin's expiry floor in seconds: configured, read from the node, or learnt from a refusal. */
  private holdFloorSec: number | undefined;

  constructor(opts: ClnBackendOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    this.holdSetting = opts.holdInvoices ?? "auto";
    this.holdFloorSec = opts.holdExpiryFloorSec;
    // Until start() has asked the node, only an explicit `true` promises hold invoices.
    this.capabilities = { holdInvoices: this.holdSetting === true, push: true };
    if (!opts.rune || /[\r\n]/.test(opts.rune)) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "a CLN rune is required (one line)");
    this.http = new HttpTransport({
      baseUrl: opts.url,
      tlsCertPem: opts.tlsCertPem,
      tlsServerName: opts.tlsServerName ?? "cln rest server",
      headers: { Rune: opts.rune },
      timeoutMs: opts.requestTimeoutMs ?? 10_000,
      clock: this.clock,
    });
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.stopped) throw new PaymentError(PaymentErrorCode.STOPPED, "this backend was stopped; make a new one");
    const info = await this.nodeInfo(signal);
    if (this.holdSetting === "auto") this.capabilities.holdInvoices = await this.probeHoldPlugin(signal);
    if (this.capabilities.holdInvoices && this.opts.holdExpiryFloorSec === undefined) this.holdFloorSec = await this.readHoldFloor(signal);
    this.log.info("connected", {
      origin: this.http.origin,
      pubkey: info.pubkey,
      network: info.network,
      holdInvoices: this.capabilities.holdInvoices,
      ...(this.capabilities.holdInvoices ? { holdExpiryFloorSec: this.holdFloorSec ?? DEFAULT_HOLD_FLOOR_SEC } : {}),
    });
    this.started = true;
    this.startWaitLoop();
    if (this.capabilities.holdInvoices) this.startHtlcLoop();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.started = false;
    for (const loop of this.loops) loop.stop();
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    this.listeners.clear();
    this.http.close();
  }

  async nodeInfo(signal?: AbortSignal): Promise<NodeInfo> {
    const info = parseWire(ClnGetinfo, await this.call("getinfo", {}, signal), "getinfo", "Core Lightning");
    return {
      pubkey: info.id,
      network: toNetwork(info.network),
      ...(info.alias ? { alias: info.alias } : {}),
      ...(info.blockheight !== undefined ? { blockHeight: info.blockheight } : {}),
    };
  }

  async createHoldInvoice(req: ClnHoldInvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice> {
    checkHash(req.paymentHash);
    checkInvoiceRequest(req);
    if (!this.capabilities.holdInvoices) {
      throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "this Core Lightning node has no holdinvoice plugin");
    }
    if (req.preimage === undefined || !HASH_RE.test(req.preimage) || sha256Hex(req.preimage) !== req.paymentHash) {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "CLN's holdinvoice plugin needs the preimage of the payment hash (sha256(preimage) == paymentHash)", {
        paymentHash: req.paymentHash,
      });
    }
    const params = (floorSec: number) => ({
      amount_msat: toSafeNumber(req.amountMsat, "amountMsat"),
      label: `${this.opts.labelPrefix ?? "zapvend"}-${req.paymentHash}`,
      description: req.description,
      expiry: this.holdExpirySec(req.expirySec, floorSec),
      preimage: req.preimage,
      cltv: req.cltvExpiry ?? this.opts.defaultCltvExpiry ?? 80,
    });
    let res: unknown;
    const assumed = this.holdFloorSec ?? DEFAULT_HOLD_FLOOR_SEC;
    try {
      res = await this.call("holdinvoice", params(assumed), signal, req.paymentHash);
    } catch (err) {
      // The node's floor is higher than assumed: its refusal says by how much. Learn it and ask once more.
      const floor = err instanceof PaymentError ? err.context?.["holdExpiryFloorSec"] : undefined;
      if (typeof floor !== "number" || floor === assumed) throw err;
      this.log.warn("the holdinvoice plugin's expiry floor is higher than assumed; using the node's", { holdExpiryFloorSec: floor, paymentHash: req.paymentHash });
      this.holdFloorSec = floor;
      res = await this.call("holdinvoice", params(floor), signal, req.paymentHash);
    }
    const out = parseWire(ClnInvoiceCreated, res, "holdinvoice", "Core Lightning");
    if (out.payment_hash !== req.paymentHash) {
      throw new PaymentError(PaymentErrorCode.BAD_RESPONSE, "holdinvoice returned an invoice for another payment hash", { paymentHash: req.paymentHash });
    }
    return { bolt11: out.bolt11, paymentHash: out.payment_hash };
  }

  async createInvoice(req: InvoiceRequest, signal?: AbortSignal): Promise<CreatedInvoice> {
    checkInvoiceRequest(req);
    const label = `${this.opts.labelPrefix ?? "zapvend"}-${this.clock.now()}-${randomBytes(6).toString("hex")}`;
    const res = await this.call(
      "invoice",
      { amount_msat: toSafeNumber(req.amountMsat, "amountMsat"), label, description: req.description, expiry: req.expirySec },
      signal,
    );
    const out = parseWire(ClnInvoiceCreated, res, "invoice", "Core Lightning");
    return { bolt11: out.bolt11, paymentHash: out.payment_hash };
  }

  async lookupInvoice(paymentHash: string, signal?: AbortSignal): Promise<InvoiceStatus> {
    checkHash(paymentHash);
    // The plugin's state first: its SETTLED answer waits until CLN has the invoice paid, so the listinvoices that
    // follows already carries the received amount and preimage.
    let hold: { state: HoldState; htlc_expiry?: number } | undefined;
    if (this.capabilities.holdInvoices) {
      try {
        hold = parseWire(HoldLookup, await this.call("holdinvoicelookup", { payment_hash: paymentHash }, signal, paymentHash, 30_000), "holdinvoicelookup", "holdinvoice");
      } catch (err) {
        // A plain invoice of this node is not the plugin's: fall through to listinvoices.
        if (!(err instanceof PaymentError && err.code === PaymentErrorCode.INVOICE_NOT_FOUND)) throw err;
      }
    }
    const list = parseWire(ClnListInvoices, await this.call("listinvoices", { payment_hash: paymentHash }, signal, paymentHash), "listinvoices", "Core Lightning");
    const inv = list.invoices.find((i) => i.payment_hash === paymentHash);
    if (!inv) {
      throw new PaymentError(PaymentErrorCode.INVOICE_NOT_FOUND, "the node has no invoice with this payment hash", { paymentHash });
    }
    return toStatus(paymentHash, inv, hold);
  }

  async settleInvoice(preimage: string, signal?: AbortSignal): Promise<void> {
    checkHash(preimage, "a preimage");
    if (!this.capabilities.holdInvoices) throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "this Core Lightning node has no holdinvoice plugin");
    const paymentHash = sha256Hex(preimage);
    try {
      parseWire(HoldStateResult, await this.call("holdinvoicesettle", { payment_hash: paymentHash }, signal, paymentHash), "holdinvoicesettle", "holdinvoice");
    } catch (err) {
      // A retried settle after a lost answer: the money is taken, which is what the caller wanted.
      if (err instanceof PaymentError && err.context?.["holdState"] === "SETTLED") return;
      throw err;
    }
  }

  async cancelInvoice(paymentHash: string, signal?: AbortSignal): Promise<void> {
    checkHash(paymentHash);
    if (!this.capabilities.holdInvoices) {
      // A plain CLN invoice cannot be withdrawn through the restricted rune; it lapses at its expiry.
      throw new PaymentError(PaymentErrorCode.HOLD_UNSUPPORTED, "without the holdinvoice plugin an open CLN invoice lapses at its expiry", { paymentHash });
    }
    try {
      parseWire(HoldStateResult, await this.call("holdinvoicecancel", { payment_hash: paymentHash }, signal, paymentHash), "holdinvoicecancel", "holdinvoice");
    } catch (err) {
      if (err instanceof PaymentError && err.context?.["holdState"] === "CANCELED") return;
      throw err;
    }
  }

  watch(listener: (hint: BackendHint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * CLN's `wait` covers every invoice; the watched hashes only tell the `htlcs` loop which incoming HTLCs are worth
   * a look at the plugin's state.
   */
  subscribe(paymentHash: string): void {
    checkHash(paymentHash);
    this.watched.add(paymentHash);
  }

  unsubscribe(paymentHash: string): void {
    this.watched.delete(paymentHash);
  }

  // --- internals ---------------------------------------------------------------------------------------------------

  private emit(hint: BackendHint): void {
    for (const l of [...this.listeners]) {
      try {
        l(hint);
      } catch (err) {
        this.log.error("hint listener threw", { err: String(err) });
      }
    }
  }

  private async probeHoldPlugin(signal?: AbortSignal): Promise<boolean> {
    try {
      await this.call("holdinvoicelookup", { payment_hash: "00".repeat(32) }, signal);
      return true;
    } catch (err) {
      if (err instanceof PaymentError && err.code === PaymentErrorCode.INVOICE_NOT_FOUND) return true;
      if (err instanceof PaymentError && err.context?.["rpcCode"] === ClnErrorCode.METHOD_NOT_FOUND) return false;
      if (err instanceof PaymentError && err.code === PaymentErrorCode.PERMISSION_DENIED) {
        this.log.warn("the rune does not permit holdinvoicelookup: plain invoices only", {});
        return false;
      }
      throw err;
    }
  }

  /**
   * The hold invoice's expiry: the order's window, then the settle window, then the plugin's floor (during which the
   * plugin no longer holds). Strictly above the floor, as the plugin requires.
   */
  private holdExpirySec(orderExpirySec: number, floorSec: number): number {
    return orderExpirySec + (this.opts.holdSettleWindowSec ?? DEFAULT_HOLD_SETTLE_WINDOW_SEC) + floorSec;
  }

  /**
   * The payment hash of the invoice a `wait` answer names. A status change carries only the label (and a creation
   * the BOLT 11): a hold invoice's label holds its hash; a plain invoice's is looked up (`listinvoices {label}`).
   * Undefined for an invoice that is not this machine's or no longer exists.
   */
  private async hashOfChange(change: ClnWaitInvoiceChange, signal: AbortSignal): Promise<string | undefined> {
    const prefix = this.opts.labelPrefix ?? "zapvend";
    if (change.label !== undefined) {
      const hash = hashOfHoldLabel(change.label, prefix);
      if (hash) return hash;
      if (!change.label.startsWith(`${prefix}-`)) return undefined;
      const list = parseWire(ClnListInvoices, await this.call("listinvoices", { label: change.label }, signal), "listinvoices", "Core Lightning");
      return list.invoices.find((i) => i.label === change.label)?.payment_hash;
    }
    if (change.bolt11) {
      try {
        return bolt11Fields(change.bolt11).paymentHash;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** The plugin's expiry floor from `listconfigs`, or undefined when the rune or the node does not tell it. */
  private async readHoldFloor(signal?: AbortSignal): Promise<number | undefined> {
    try {
      const res = await this.call("listconfigs", { config: HOLD_FLOOR_OPTION }, signal);
      return parseWire(ClnListConfigsInt(HOLD_FLOOR_OPTION), res, "listconfigs", "Core Lightning").configs[HOLD_FLOOR_OPTION]?.value_int;
    } catch (err) {
      if (isTransient(err)) throw err;
      // A rune without listconfigs, or an older node: the first refusal will tell the floor.
      this.log.info("could not read the holdinvoice plugin's expiry floor; assuming the default until the node says otherwise", {
        reason: String((err as Error).message ?? err),
        assumedSec: DEFAULT_HOLD_FLOOR_SEC,
      });
      return undefined;
    }
  }

  /**
   * Long-polls `wait invoices updated` and turns every change into a hint. A status change (paid, expired) moves the
   * index and names the invoice by its label, under `invoices` (v25.05+) or `details` (before v26.06). An answer that
   * names no invoice (the index had moved on before the call) makes the monitor sweep. After the loop recovers from
   * a failure it emits `reconnected` so the monitor sweeps: a payment made while the loop was down would otherwise be
   * noticed only by the slow poll. An answer it cannot read is a failure (health degraded, retried), never silence: a
   * push path that delivers nothing must not look healthy.
   */
  private startWaitLoop(): void {
    this.runWaitLoop("invoices", true, async (res, signal) => {
      const w = parseWire(ClnWaitInvoices, res, "wait", "Core Lightning");
      const change = w.invoices ?? w.details;
      if (!change) {
        // Nothing says which invoice changed (possibly several did): look at all of them.
        this.emit({ type: "reconnected" });
        return w.updated;
      }
      const hash = await this.hashOfChange(change, signal);
      if (hash) this.emit({ type: "invoice", paymentHash: hash, ...(change.status === "paid" ? { state: InvoiceState.SETTLED } : {}) });
      return w.updated;
    });
  }

  /**
   * A held HTLC moves no invoice index (the plugin holds it outside the invoice record), so ACCEPTED would only be seen
   * by the monitor's poll. CLN >= v25.05 has an `htlcs` index whose changes carry the payment hash: an incoming HTLC
   * for a watched hold invoice starts a short check of the plugin's state, and the hint goes out once the plugin has
   * marked it ACCEPTED (it does so right after CLN hands it the HTLC). An older CLN has no such index: the loop stops
   * and the poll alone finds ACCEPTED. This loop only speeds things up, so its failures are logged, not health.
   */
  private startHtlcLoop(): void {
    this.runWaitLoop("htlcs", false, async (res) => {
      const w = parseWire(ClnWaitHtlcs, res, "wait htlcs", "Core Lightning");
      const h = w.htlcs;
      if (h?.direction === "in" && h.payment_hash !== undefined && this.watched.has(h.payment_hash)) this.confirmHeld(h.payment_hash);
      return w.updated;
    });
  }

  /** Asks the plugin for a watched invoice's state a few times after its HTLC arrived; hints once it is not OPEN. */
  private confirmHeld(paymentHash: string): void {
    if (this.confirming.has(paymentHash) || this.stopped) return;
    this.confirming.add(paymentHash);
    let tries = 0;
    const check = async (): Promise<void> => {
      if (this.stopped) return;
      let state: HoldState | undefined;
      try {
        state = parseWire(HoldLookup, await this.call("holdinvoicelookup", { payment_hash: paymentHash }, undefined, paymentHash), "holdinvoicelookup", "holdinvoice").state;
      } catch (err) {
        this.log.warn("holdinvoicelookup after an incoming HTLC failed", { paymentHash, reason: String((err as Error).message ?? err) });
      }
      if (state !== undefined && state !== "OPEN") {
        this.confirming.delete(paymentHash);
        this.emit({ type: "invoice", paymentHash });
        return;
      }
      if (++tries >= HELD_CHECK_TRIES || this.stopped) {
        // Not (yet) enough to fill the invoice: more HTLCs will move the index again; the poll covers the rest.
        this.confirming.delete(paymentHash);
        return;
      }
      const t = this.clock.setTimeout(() => {
        this.timers.delete(t);
        void check();
      }, HELD_CHECK_INTERVAL_MS);
      this.timers.add(t);
    };
    void check();
  }

  private runWaitLoop(subsystem: WaitSubsystem, ownsHealth: boolean, handle: (res: unknown, signal: AbortSignal) => Promise<number | undefined>): void {
    const loop = new ClnWaitLoop({
      subsystem,
      ownsHealth,
      handle,
      wait: (params, signal, timeoutMs) => this.call("wait", params, signal, undefined, timeoutMs),
      emit: (hint) => this.emit(hint),
      onNoPermission: () => {
        if (ownsHealth) this.capabilities.push = false;
      },
      clock: this.clock,
      random: this.random,
      logger: this.log,
      waitTimeoutSec: this.opts.waitTimeoutSec ?? 60,
      reconnectMinDelayMs: this.opts.reconnectMinDelayMs ?? 500,
      reconnectMaxDelayMs: this.opts.reconnectMaxDelayMs ?? 30_000,
    });
    this.loops.push(loop);
    loop.start();
  }

  /** One clnrest call; any refusal (HTTP or in-band) becomes a coded `PaymentError`. */
  private async call(method: string, params: Record<string, unknown>, signal?: AbortSignal, paymentHash?: string, timeoutMs?: number): Promise<unknown> {
    const res = await this.http.request("POST", `/v1/${method}`, params, { signal, ...(timeoutMs ? { timeoutMs } : {}) });
    if (res.status >= 200 && res.status <= 299) {
      const inBand = isRpcErrorResult(res.json);
      if (inBand) throw clnError(res.status, inBand, method, paymentHash);
      return res.json;
    }
    const body = ClnRpcError.safeParse(res.json);
    throw clnError(res.status, body.success ? body.data : { code: 0, message: res.text.slice(0, 200) }, method, paymentHash);
  }
}

/** The payment hash in a label this adapter gave a hold invoice (`<prefix>-<hash>`), if it is one. */
function hashOfHoldLabel(label: string, prefix: string): string | undefined {
  return new RegExp(`^${prefix.replace(/[^a-zA-Z0-9_-]/g, "")}-([0-9a-f]{64})$`).exec(label)?.[1];
}
