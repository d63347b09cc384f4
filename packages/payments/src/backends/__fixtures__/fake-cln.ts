// A fake Core Lightning node behind clnrest with daywalker90's holdinvoice plugin, built from the facts in
// upstream/cln-contract.ts (each cites the upstream file and tag): `POST /v1/<method>` with a `Rune` header, 201 +
// result on success, 403 {code: 1501} without a rune, 401 {code: 1502} for a rune that does not permit the method,
// 404 {code: -32601} for an unknown method, 500 {code, message} for RPC errors; the plugin's refusals as 201
// results {code: -32602, message}; its expiry floor; `wait` shaped per CLN release (`details` before v26.06,
// `invoices` from v25.05); and HTTPS with clnrest's CA chain when given certificates.
import { createHash, randomBytes } from "node:crypto";
import { FAKE_NODE_PUBKEY, fakeBolt11 } from "./bolt11.js";
import { HttpFake, type FakeReply, type FakeRequest, type Handled } from "./http-fake.js";
import { CLN_INVOICE, CLN_INVOICE_ERRORS, HOLDINVOICE } from "./upstream/cln-contract.js";

export interface FakeClnInvoice {
  label: string;
  paymentHash: string;
  preimage: string;
  amountMsat: bigint;
  description: string;
  bolt11: string;
  status: "unpaid" | "paid" | "expired";
  receivedMsat?: bigint;
  paidAt?: number;
  expiresAt: number;
  updatedIndex: number;
  /** Set for invoices created through the holdinvoice plugin. */
  hold?: "OPEN" | "ACCEPTED" | "SETTLED" | "CANCELED";
  cltv?: number;
}

/** The CLN releases whose `wait` answers differ (upstream/cln-contract.ts CLN_WAIT.changeObject). */
export type FakeClnRelease = "v24.11" | "v25.05" | "v26.06";

export interface FakeClnOptions {
  /** Shapes `wait`: "v24.11" sends `details` only, "v25.05" both, "v26.06" (default) `invoices` only. */
  release?: FakeClnRelease;
  /** The plugin's `holdinvoice-cancel-before-invoice-expiry` in seconds. Default 1800 (the plugin's default). */
  holdExpiryFloorSec?: number;
  /** Serve HTTPS with this key and certificate (clnrest's server.pem, signed by its ca.pem). */
  tls?: { keyPem: string; certPem: string };
}

const NODE_ID = FAKE_NODE_PUBKEY;
/** The fake's clock for invoice timestamps, in seconds. */
const NOW_SEC = 1_763_700_000;

export class FakeCln {
  readonly http: HttpFake;
  readonly invoices = new Map<string, FakeClnInvoice>();
  /** rune -> the methods it permits (undefined: all). */
  readonly runes = new Map<string, Set<string> | undefined>();
  holdPlugin = true;
  release: FakeClnRelease;
  holdExpiryFloorSec: number;
  /**
   * How many `holdinvoicelookup` calls still answer OPEN after a hold invoice's HTLC arrived, before the plugin's
   * ACCEPTED shows (the plugin marks it from CLN's htlc_accepted hook, a moment after the HTLC index moved). Default 0.
   */
  acceptAfterLookups = 0;
  private readonly pendingAccept = new Map<string, number>();
  /** The `updated` index of each subsystem the fake models. */
  private readonly index = { invoices: 0, htlcs: 0 };
  private waiters: Array<{ subsystem: "invoices" | "htlcs"; next: number; resolve: (r: FakeReply) => void }> = [];
  private htlcId = 0;

  constructor(opts: FakeClnOptions = {}) {
    this.release = opts.release ?? "v26.06";
    this.holdExpiryFloorSec = opts.holdExpiryFloorSec ?? HOLDINVOICE.options.cancelBeforeInvoiceExpiry.defaultSec;
    this.http = new HttpFake((r) => this.handle(r), opts.tls);
  }

  get url(): string {
    return this.http.url;
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /** Long-polls (`wait`) on the invoices index waiting for the next change right now. */
  get waiting(): number {
    return this.waiters.filter((w) => w.subsystem === "invoices").length;
  }

  /** Long-polls on the htlcs index (CLN >= v25.05) waiting right now. */
  get waitingHtlcs(): number {
    return this.waiters.filter((w) => w.subsystem === "htlcs").length;
  }

  /** Calls the fake received for `method`, in order. */
  calls(method: string): unknown[] {
    return this.http.requests.filter((r) => r.path === `/v1/${method}`).map((r) => r.json);
  }

  /**
   * A buyer's HTLCs arrive: a hold invoice goes ACCEPTED (the plugin holds them outside the invoice record, so no
   * index moves); a plain one is paid.
   */
  pay(paymentHash: string, amountMsat?: bigint): void {
    const inv = this.must(paymentHash);
    if (inv.hold) {
      // The HTLC is committed: the htlcs index moves (v25.05+), then the plugin marks the hold ACCEPTED.
      if (this.release !== "v24.11") {
        this.bumpIndex("htlcs", {
          state: "RCVD_ADD_ACK_REVOCATION",
          short_channel_id: "103x1x0",
          direction: "in",
          htlc_id: ++this.htlcId,
          cltv_expiry: 290,
          payment_hash: inv.paymentHash,
          amount_msat: Number(amountMsat ?? inv.amountMsat),
        });
      }
      if (inv.hold === "OPEN") {
        if (this.acceptAfterLookups > 0) this.pendingAccept.set(paymentHash, this.acceptAfterLookups);
        else inv.hold = "ACCEPTED";
      }
      return;
    }
    inv.status = "paid";
    inv.receivedMsat = amountMsat ?? inv.amountMsat;
    inv.paidAt = NOW_SEC + 100;
    this.bump(inv);
  }

  expire(paymentHash: string): void {
    const inv = this.must(paymentHash);
    inv.status = "expired";
    if (inv.hold === "OPEN") inv.hold = "CANCELED";
    this.bump(inv);
  }

  private must(hash: string): FakeClnInvoice {
    const inv = this.invoices.get(hash);
    if (!inv) throw new Error(`fake cln: no invoice ${hash}`);
    return inv;
  }

  /** A status change moves the `updated` index; waiters get `status` and `label` only (CLN_WAIT.updatedCarries). */
  private bump(inv: FakeClnInvoice): void {
    inv.updatedIndex = this.bumpIndex("invoices", { status: inv.status, label: inv.label });
  }

  /** Moves a subsystem's `updated` index and answers the long-polls waiting for it, shaped per release. */
  private bumpIndex(subsystem: "invoices" | "htlcs", change: Record<string, unknown>): number {
    const value = ++this.index[subsystem];
    const body: Record<string, unknown> = { subsystem, updated: value };
    // `details` never existed for htlcs (added after it was deprecated: lightningd/wait.c).
    if (subsystem === "invoices" && this.release !== "v26.06") body["details"] = change;
    if (this.release !== "v24.11") body[subsystem] = change;
    const due = this.waiters.filter((w) => w.subsystem === subsystem && w.next <= value);
    this.waiters = this.waiters.filter((w) => !due.includes(w));
    for (const w of due) w.resolve({ status: 201, body });
    return value;
  }

  private handle(req: FakeRequest): Handled {
    if (req.method !== "POST") return { status: 405, body: { code: -32601, message: "Wrong http method" } };
    const method = req.path.replace(/^\/v1\//, "");
    const rune = req.headers["rune"];
    if (typeof rune !== "string") return { status: 403, body: { code: 1501, message: "Not authorized: Missing rune" } };
    if (!this.runes.has(rune)) return { status: 401, body: { code: 1501, message: "Not authorized: Not derived from master" } };
    const allowed = this.runes.get(rune);
    if (allowed && !allowed.has(method)) return { status: 401, body: { code: 1502, message: `Not permitted: method is not equal to ${[...allowed][0]}` } };
    const p = (req.json ?? {}) as Record<string, unknown>;
    const ok = (body: unknown): FakeReply => ({ status: 201, body });
    const rpcErr = (code: number, message: string): FakeReply => ({ status: 500, body: { code, message } });
    const inBand = (e: { code: number; message: string }): FakeReply => ({ status: 201, body: e });
    switch (method) {
      case "getinfo":
        return ok({ id: NODE_ID, alias: "fake-cln", network: "regtest", blockheight: 150, num_peers: 1 });
      case "listconfigs": {
        const name = HOLDINVOICE.options.cancelBeforeInvoiceExpiry.name;
        if (p["config"] === name && this.holdPlugin) {
          return ok({ configs: { [name]: { value_int: this.holdExpiryFloorSec, source: "default", plugin: "/usr/local/libexec/c-lightning/plugins/holdinvoice" } } });
        }
        return rpcErr(-32602, `config: Unknown config option ${JSON.stringify(p["config"])}`);
      }
      case "invoice":
      case "holdinvoice": {
        const hold = method === "holdinvoice";
        if (hold && !this.holdPlugin) break;
        if (hold) {
          // The plugin's own checks come first and answer as results (HOLDINVOICE.refusalsAreResults).
          const unknown = Object.keys(p).find((k) => !(HOLDINVOICE.holdinvoiceParams as readonly string[]).includes(k));
          if (unknown) return inBand({ code: -1, message: `Invalid argument: '${unknown}'` });
          if (p["expiry"] !== undefined && Number(p["expiry"]) <= this.holdExpiryFloorSec) {
            return inBand(HOLDINVOICE.expiryRefusal(this.holdExpiryFloorSec, Number(p["expiry"])));
          }
          if (p["cltv"] === undefined) return inBand({ code: -32602, message: "missing required parameter: cltv" });
          const htlcFloor = HOLDINVOICE.options.cancelBeforeHtlcExpiry.defaultBlocks;
          if (Number(p["cltv"]) <= htlcFloor) return inBand(HOLDINVOICE.cltvRefusal(htlcFloor, Number(p["cltv"])));
        }
        // CLN's own refusals: an RPC error from `invoice`, wrapped by cln-plugin when it comes through the plugin.
        const refuse = (e: { code: number; message: string }): FakeReply =>
          hold ? rpcErr(HOLDINVOICE.wrappedRpcError(e.code, e.message).code, HOLDINVOICE.wrappedRpcError(e.code, e.message).message) : rpcErr(e.code, e.message);
        const label = String(p["label"]);
        if ([...this.invoices.values()].some((i) => i.label === label)) return refuse(CLN_INVOICE_ERRORS.duplicateLabel(label));
        const preimage = typeof p["preimage"] === "string" ? p["preimage"] : randomBytes(32).toString("hex");
        const paymentHash = createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex");
        if (this.invoices.has(paymentHash)) return refuse(CLN_INVOICE_ERRORS.preimageUsed);
        const amountMsat = BigInt(p["amount_msat"] as number);
        const expirySec = Number(p["expiry"] ?? CLN_INVOICE.defaultExpirySec);
        const inv: FakeClnInvoice = {
          label,
          paymentHash,
          preimage,
          amountMsat,
          description: String(p["description"]),
          bolt11: fakeBolt11({ paymentHash, amountMsat, description: String(p["description"]), timestampSec: NOW_SEC, expirySec }),
          status: "unpaid",
          expiresAt: NOW_SEC + expirySec,
          updatedIndex: 0,
          ...(hold ? { hold: "OPEN" as const, cltv: Number(p["cltv"]) } : {}),
        };
        // Creation moves the `created` index, not `updated`.
        this.invoices.set(paymentHash, inv);
        return ok({ payment_hash: paymentHash, expires_at: inv.expiresAt, bolt11: inv.bolt11, payment_secret: "22".repeat(32), created_index: this.invoices.size });
      }
      case "listinvoices": {
        const hash = p["payment_hash"];
        const label = p["label"];
        const list = [...this.invoices.values()].filter((i) => (hash === undefined || i.paymentHash === hash) && (label === undefined || i.label === label));
        return ok({
          invoices: list.map((i) => ({
            label: i.label,
            bolt11: i.bolt11,
            payment_hash: i.paymentHash,
            amount_msat: Number(i.amountMsat),
            status: i.status,
            description: i.description,
            expires_at: i.expiresAt,
            created_index: 1,
            ...(i.updatedIndex ? { updated_index: i.updatedIndex } : {}),
            ...(i.status === "paid"
              ? { pay_index: 1, amount_received_msat: Number(i.receivedMsat), paid_at: i.paidAt, payment_preimage: i.preimage }
              : {}),
          })),
        });
      }
      case "holdinvoicelookup":
      case "holdinvoicesettle":
      case "holdinvoicecancel": {
        if (!this.holdPlugin) break;
        const hash = String(p["payment_hash"]);
        const inv = this.invoices.get(hash);
        if (!inv?.hold) return inBand(HOLDINVOICE.notFound(hash));
        const pending = this.pendingAccept.get(hash);
        if (pending !== undefined) {
          if (pending <= 1) {
            this.pendingAccept.delete(hash);
            if (inv.hold === "OPEN") inv.hold = "ACCEPTED";
          } else this.pendingAccept.set(hash, pending - 1);
          if (method === "holdinvoicelookup") return ok({ state: "OPEN" });
        }
        if (method === "holdinvoicelookup") return ok({ state: inv.hold, ...(inv.hold === "ACCEPTED" ? { htlc_expiry: 290 } : {}) });
        const to = method === "holdinvoicesettle" ? "SETTLED" : "CANCELED";
        if (!(HOLDINVOICE.validTransitions[inv.hold] as readonly string[]).includes(to)) return inBand(HOLDINVOICE.wrongState(inv.hold));
        if (inv.hold !== to) {
          inv.hold = to;
          if (to === "SETTLED") {
            inv.status = "paid";
            inv.receivedMsat = inv.amountMsat;
            inv.paidAt = NOW_SEC + 200;
            this.bump(inv);
          }
        }
        return ok({ state: to });
      }
      case "wait": {
        const next = Number(p["nextvalue"]);
        const subsystem = p["subsystem"];
        // v24.11 knows invoices, forwards and sendpays; htlcs came in v25.05.
        if (subsystem !== "invoices" && (subsystem !== "htlcs" || this.release === "v24.11")) {
          return rpcErr(-32602, "subsystem: should be one of invoices, forwards, sendpays");
        }
        if (p["indexname"] !== "updated") return rpcErr(-32602, "the fake models the updated index only");
        // Already there: the index alone, nothing about what changed (CLN_WAIT.immediateAnswerFields).
        if (next <= this.index[subsystem]) return ok({ subsystem, updated: this.index[subsystem] });
        return new Promise<FakeReply>((resolve) => this.waiters.push({ subsystem, next, resolve }));
      }
    }
    return { status: 404, body: { code: -32601, message: `Unknown command '${method}'` } };
  }
}
