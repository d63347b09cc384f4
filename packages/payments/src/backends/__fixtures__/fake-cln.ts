// A fake Core Lightning node behind clnrest, to the documented contract: `POST /v1/<method>` with a `Rune` header,
// 201 + result on success, 403 {code: 1501} without a rune, 401 {code: 1502} for a rune that does not permit the
// method, 404 {code: -32601} for an unknown method, 500 {code, message} for RPC errors (e.g. 900 duplicate label),
// and the holdinvoice plugin's in-band refusals as 201 {code: -32602, message: "Holdinvoice is in wrong state: ..."}.
import { createHash, randomBytes } from "node:crypto";
import { FAKE_NODE_PUBKEY, fakeBolt11 } from "./bolt11.js";
import { HttpFake, type FakeReply, type FakeRequest, type Handled } from "./http-fake.js";

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
  updatedIndex: number;
  /** Set for invoices created through the holdinvoice plugin. */
  hold?: "OPEN" | "ACCEPTED" | "SETTLED" | "CANCELED";
  cltv?: number;
}

const NODE_ID = FAKE_NODE_PUBKEY;

export class FakeCln {
  readonly http: HttpFake;
  readonly invoices = new Map<string, FakeClnInvoice>();
  /** rune -> the methods it permits (undefined: all). */
  readonly runes = new Map<string, Set<string> | undefined>();
  holdPlugin = true;
  private updated = 0;
  private waiters: Array<{ next: number; resolve: (r: FakeReply) => void }> = [];

  constructor() {
    this.http = new HttpFake((r) => this.handle(r));
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

  /** Calls the fake received for `method`, in order. */
  calls(method: string): unknown[] {
    return this.http.requests.filter((r) => r.path === `/v1/${method}`).map((r) => r.json);
  }

  /** A buyer's HTLCs arrive: a hold invoice goes ACCEPTED; a plain one is paid. */
  pay(paymentHash: string, amountMsat?: bigint): void {
    const inv = this.must(paymentHash);
    if (inv.hold) {
      if (inv.hold === "OPEN") inv.hold = "ACCEPTED";
      return;
    }
    inv.status = "paid";
    inv.receivedMsat = amountMsat ?? inv.amountMsat;
    inv.paidAt = 1_763_700_100;
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

  private bump(inv: FakeClnInvoice): void {
    inv.updatedIndex = ++this.updated;
    const due = this.waiters.filter((w) => w.next <= this.updated);
    this.waiters = this.waiters.filter((w) => w.next > this.updated);
    for (const w of due) w.resolve(this.waitAnswer(inv));
  }

  private waitAnswer(inv?: FakeClnInvoice): FakeReply {
    return {
      status: 201,
      body: { subsystem: "invoices", updated: this.updated, ...(inv ? { details: { status: inv.status, label: inv.label, bolt11: inv.bolt11 } } : {}) },
    };
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
    const inBand = (message: string): FakeReply => ({ status: 201, body: { code: -32602, message } });
    switch (method) {
      case "getinfo":
        return ok({ id: NODE_ID, alias: "fake-cln", network: "regtest", blockheight: 150, num_peers: 1 });
      case "invoice":
      case "holdinvoice": {
        if (method === "holdinvoice" && !this.holdPlugin) break;
        if (method === "holdinvoice" && p["cltv"] === undefined) return inBand("missing required parameter: cltv");
        const label = String(p["label"]);
        if ([...this.invoices.values()].some((i) => i.label === label)) {
          const e = { code: 900, message: "Duplicate label" };
          // The plugin passes CLN's refusal on in-band; plain `invoice` fails the RPC.
          return method === "holdinvoice" ? { status: 201, body: e } : { status: 500, body: e };
        }
        const preimage = typeof p["preimage"] === "string" ? p["preimage"] : randomBytes(32).toString("hex");
        const paymentHash = createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex");
        if (this.invoices.has(paymentHash)) {
          const e = { code: 901, message: "preimage already used" };
          return method === "holdinvoice" ? { status: 201, body: e } : { status: 500, body: e };
        }
        const amountMsat = BigInt(p["amount_msat"] as number);
        const inv: FakeClnInvoice = {
          label,
          paymentHash,
          preimage,
          amountMsat,
          description: String(p["description"]),
          bolt11: fakeBolt11({ paymentHash, amountMsat, description: String(p["description"]), expirySec: Number(p["expiry"] ?? 604_800) }),
          status: "unpaid",
          updatedIndex: 0,
          ...(method === "holdinvoice" ? { hold: "OPEN" as const, cltv: Number(p["cltv"]) } : {}),
        };
        this.invoices.set(paymentHash, inv);
        this.bump(inv);
        return ok({ payment_hash: paymentHash, expires_at: 1_763_700_000 + Number(p["expiry"] ?? 604_800), bolt11: inv.bolt11, payment_secret: "22".repeat(32), created_index: this.invoices.size });
      }
      case "listinvoices": {
        const hash = p["payment_hash"];
        const list = [...this.invoices.values()].filter((i) => hash === undefined || i.paymentHash === hash);
        return ok({
          invoices: list.map((i) => ({
            label: i.label,
            bolt11: i.bolt11,
            payment_hash: i.paymentHash,
            amount_msat: Number(i.amountMsat),
            status: i.status,
            description: i.description,
            expires_at: 1_763_700_180,
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
        if (!inv?.hold) return inBand(`payment_hash '${hash}' not found`);
        if (method === "holdinvoicelookup") return ok({ state: inv.hold, ...(inv.hold === "ACCEPTED" ? { htlc_expiry: 290 } : {}) });
        if (method === "holdinvoicesettle") {
          if (inv.hold !== "ACCEPTED") return inBand(`Holdinvoice is in wrong state: '${inv.hold}'`);
          inv.hold = "SETTLED";
          inv.status = "paid";
          inv.receivedMsat = inv.amountMsat;
          inv.paidAt = 1_763_700_200;
          this.bump(inv);
          return ok({ state: "SETTLED" });
        }
        if (inv.hold === "SETTLED" || inv.hold === "CANCELED") return inBand(`Holdinvoice is in wrong state: '${inv.hold}'`);
        inv.hold = "CANCELED";
        return ok({ state: "CANCELED" });
      }
      case "wait": {
        const next = Number(p["nextvalue"]);
        if (p["subsystem"] !== "invoices") return rpcErr(-32602, "subsystem: should be one of invoices, forwards, sendpays");
        if (next <= this.updated) return this.waitAnswer([...this.invoices.values()].find((i) => i.updatedIndex === this.updated));
        return new Promise<FakeReply>((resolve) => this.waiters.push({ next, resolve }));
      }
    }
    return { status: 404, body: { code: -32601, message: `Unknown command '${method}'` } };
  }
}
