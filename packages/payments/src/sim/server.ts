// The sim node on the network: LND's REST shape (the routes the LND adapter uses, with LND's field names, base64
// bytes, 64-bit numbers as strings and grpc-gateway error bodies) so that the demo runs the production adapter,
// plus the buyer's wallet (`POST /wallet/pay`) and the fault switchboard (`/sim/faults`).
import { once } from "node:events";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";
import { z } from "zod";
import { GrpcCode, hexToB64, LndMessages } from "../backends/lnd-wire.js";
import { faultsToJson, SimFaultRequest } from "./faults.js";
import { SimLightningNode, SimPayError, SimRpcError, type SimInvoice, type SimNodeOptions } from "./node.js";
import { walletPage } from "./page.js";

export interface SimServerOptions extends SimNodeOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 8060; 0 picks a free port (tests). */
  port?: number;
  /**
   * When set, every LND route requires this macaroon (hex) in the `Grpc-Metadata-macaroon` header, answering as
   * LND does when it is missing or wrong. The sim compares it as an opaque secret (no caveats).
   */
  macaroonHex?: string;
  /** Serve HTTPS with this key and certificate (PEM), as LND does with its self-signed tls.cert. */
  tls?: { keyPem: string; certPem: string };
  /** Serve this node instead of making one from the options above. */
  node?: SimLightningNode;
}

const MAX_BODY_BYTES = 64 * 1024;

/** HTTP statuses grpc-gateway gives gRPC codes. */
function httpStatusOf(grpcCode: number): number {
  switch (grpcCode) {
    case GrpcCode.INVALID_ARGUMENT:
      return 400;
    case GrpcCode.NOT_FOUND:
      return 404;
    case GrpcCode.ALREADY_EXISTS:
      return 409;
    case GrpcCode.PERMISSION_DENIED:
      return 403;
    case GrpcCode.UNAUTHENTICATED:
      return 401;
    case GrpcCode.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

/** int64/uint64 fields: grpc-gateway takes a JSON number or a decimal string. */
const Int64In = z.union([z.string().regex(/^-?[0-9]{1,20}$/), z.int()]).transform((v) => BigInt(v));
const BytesIn = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/);

const HoldInvoiceBody = z.looseObject({
  memo: z.string().optional(),
  hash: BytesIn,
  value: Int64In.optional(),
  value_msat: Int64In.optional(),
  expiry: Int64In.optional(),
  cltv_expiry: Int64In.optional(),
  private: z.boolean().optional(),
});
const AddInvoiceBody = z.looseObject({
  memo: z.string().optional(),
  value: Int64In.optional(),
  value_msat: Int64In.optional(),
  expiry: Int64In.optional(),
  cltv_expiry: Int64In.optional(),
  r_preimage: BytesIn.optional(),
});
const SettleBody = z.looseObject({ preimage: BytesIn });
const CancelBody = z.looseObject({ payment_hash: BytesIn });
const PayBody = z.strictObject({ bolt11: z.string().min(1).max(7089), amountMsat: z.string().regex(/^[1-9][0-9]{0,18}$/).optional() });
const BlocksBody = z.strictObject({ n: z.int().min(1).max(10_000) });

function fromB64(s: string): string {
  return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("hex");
}

/** lnrpc.Invoice as LND's REST gateway writes it (every field, defaults included). */
export function lndInvoiceJson(inv: SimInvoice): Record<string, unknown> {
  const sec = (ms: number) => String(Math.floor(ms / 1000));
  // LND reveals a plain invoice's preimage from the start, a hold invoice's only once it is settled.
  const preimage = inv.preimage && (!inv.hold || inv.state === "SETTLED") ? hexToB64(inv.preimage) : "";
  return {
    memo: inv.memo,
    r_preimage: preimage,
    r_hash: hexToB64(inv.paymentHash),
    value: (inv.valueMsat / 1000n).toString(),
    value_msat: inv.valueMsat.toString(),
    settled: inv.state === "SETTLED",
    creation_date: sec(inv.createdAtMs),
    settle_date: inv.settledAtMs ? sec(inv.settledAtMs) : "0",
    payment_request: inv.bolt11,
    description_hash: "",
    expiry: String(inv.expirySec),
    fallback_addr: "",
    cltv_expiry: String(inv.cltvExpiry),
    route_hints: [],
    private: false,
    add_index: String(inv.addIndex),
    settle_index: String(inv.settleIndex),
    amt_paid: inv.amtPaidMsat.toString(),
    amt_paid_sat: (inv.amtPaidMsat / 1000n).toString(),
    amt_paid_msat: inv.amtPaidMsat.toString(),
    state: inv.state,
    htlcs: inv.htlcs.map((h) => ({
      chan_id: "1099511693312",
      htlc_index: String(h.htlcIndex),
      amt_msat: h.amtMsat.toString(),
      accept_height: h.acceptHeight,
      accept_time: sec(h.acceptTimeMs),
      resolve_time: h.resolveTimeMs ? sec(h.resolveTimeMs) : "0",
      expiry_height: h.expiryHeight,
      state: h.state,
      custom_records: {},
      mpp_total_amt_msat: h.amtMsat.toString(),
      amp: null,
    })),
    features: {
      "9": { name: "tlv-onion", is_required: false, is_known: true },
      "14": { name: "payment-addr", is_required: true, is_known: true },
    },
    is_keysend: false,
    payment_addr: hexToB64(inv.paymentAddr),
    is_amp: false,
    amp_invoice_state: {},
  };
}

export class SimNodeServer {
  readonly node: SimLightningNode;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly stalled: Array<() => void> = [];
  private readonly removeFaultListener: () => void;
  private urlValue: string | undefined;

  constructor(private readonly opts: SimServerOptions = {}) {
    this.node = opts.node ?? new SimLightningNode(opts);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) json(res, 500, { error: { code: "internal", message: String((err as Error).message ?? err) } });
        else res.destroy();
      });
    };
    this.server = opts.tls ? https.createServer({ key: opts.tls.keyPem, cert: opts.tls.certPem }, handler) : http.createServer(handler);
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.removeFaultListener = this.node.onFaultsChanged(() => {
      const f = this.node.faults;
      // A node that goes down drops its streams; one that stops stalling answers what it held back.
      if (f.refuse) this.node.restartStreams();
      if (!f.stall) for (const release of this.stalled.splice(0)) release();
    });
  }

  /** `http://127.0.0.1:<port>` once listening. */
  get url(): string {
    if (!this.urlValue) throw new Error("SimNodeServer: start() first");
    return this.urlValue;
  }

  /** LND requests held back by the `stall` fault. */
  get stalledRequests(): number {
    return this.stalled.length;
  }

  async start(): Promise<string> {
    // Loads the node's state file, if it has one, before the first request can reach it.
    this.node.start();
    const host = this.opts.host ?? "127.0.0.1";
    this.server.listen(this.opts.port ?? 8060, host);
    await once(this.server, "listening");
    const { port } = this.server.address() as AddressInfo;
    this.urlValue = `${this.opts.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return this.urlValue;
  }

  /** Stops the node (payments in flight fail) and closes every connection. */
  async stop(): Promise<void> {
    this.removeFaultListener();
    this.node.stop();
    for (const release of this.stalled.splice(0)) release();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sim");
    const path = url.pathname;
    const method = req.method ?? "GET";

    // The buyer's side and the switchboard: never affected by the node's own faults.
    if (path === "/" && method === "GET") return html(res, walletPage(this.node));
    if (path === "/wallet" && method === "GET") return this.wallet(res);
    if (path === "/wallet/pay" && method === "POST") return this.walletPay(req, res);
    if (path === "/sim/faults" && method === "GET") return json(res, 200, faultsToJson(this.node.faults));
    if (path === "/sim/faults" && method === "POST") return this.setFaults(req, res);
    if (path === "/sim/invoices" && method === "GET") return json(res, 200, { invoices: this.node.listInvoices().map(lndInvoiceJson) });
    if (path === "/sim/blocks" && method === "POST") {
      const body = BlocksBody.safeParse(await readJson(req).catch(() => undefined));
      if (!body.success) return json(res, 400, { error: { code: "bad_request", message: body.error.message } });
      this.node.mineBlocks(body.data.n);
      return json(res, 200, { blockHeight: this.node.blockHeight });
    }

    // LND's routes.
    if (this.node.faults.refuse) {
      req.socket.destroy();
      return;
    }
    if (this.node.faults.stall) {
      await new Promise<void>((resolve) => this.stalled.push(resolve));
      if (res.destroyed) return;
    }
    const auth = this.checkMacaroon(req);
    if (auth) return lndError(res, new SimRpcError(GrpcCode.UNKNOWN, auth));

    try {
      if (path === "/v1/getinfo" && method === "GET") return json(res, 200, this.getInfo());
      if (path === "/v2/invoices/hodl" && method === "POST") return await this.addHold(req, res);
      if (path === "/v1/invoices" && method === "POST") return await this.addInvoice(req, res);
      const lookup = /^\/v1\/invoice\/([0-9a-fA-F]*)$/.exec(path);
      if (lookup && method === "GET") return this.lookup(res, (lookup[1] ?? "").toLowerCase());
      if (path === "/v2/invoices/settle" && method === "POST") {
        const body = parseLnd(SettleBody, await readJson(req));
        this.node.settle(fromB64(body.preimage));
        return json(res, 200, {});
      }
      if (path === "/v2/invoices/cancel" && method === "POST") {
        const body = parseLnd(CancelBody, await readJson(req));
        const hash = fromB64(body.payment_hash);
        if (hash.length !== 64) throw new SimRpcError(GrpcCode.INVALID_ARGUMENT, "payment hash must be exactly 32 bytes");
        this.node.cancel(hash);
        return json(res, 200, {});
      }
      const sub = /^\/v2\/invoices\/subscribe\/([A-Za-z0-9_=-]+)$/.exec(path);
      if (sub && method === "GET") return this.subscribe(req, res, fromB64(sub[1] ?? ""));
      // grpc-gateway's answer to a route it does not have.
      return json(res, 404, { code: GrpcCode.NOT_FOUND, message: "Not Found", details: [] });
    } catch (err) {
      if (err instanceof SimRpcError) return lndError(res, err);
      throw err;
    }
  }

  private checkMacaroon(req: http.IncomingMessage): string | undefined {
    const want = this.opts.macaroonHex?.toLowerCase();
    if (!want) return undefined;
    const got = req.headers["grpc-metadata-macaroon"];
    if (typeof got !== "string" || got.length === 0) return LndMessages.NO_MACAROON;
    if (got.toLowerCase() !== want) return LndMessages.BAD_MACAROON;
    return undefined;
  }

  private getInfo(): Record<string, unknown> {
    const n = this.node;
    return {
      version: "0.18.5-beta zapvend-sim",
      commit_hash: "",
      identity_pubkey: n.pubkey,
      alias: n.alias,
      color: "#f7931a",
      num_pending_channels: 0,
      num_active_channels: 1,
      num_inactive_channels: 0,
      num_peers: 1,
      block_height: n.blockHeight,
      block_hash: "00".repeat(32),
      best_header_timestamp: String(Math.floor(Date.now() / 1000)),
      synced_to_chain: true,
      synced_to_graph: true,
      testnet: n.network === "testnet",
      chains: [{ chain: "bitcoin", network: n.network === "bitcoin" ? "mainnet" : n.network }],
      uris: [],
      features: {},
      require_htlc_interceptor: false,
      store_final_htlc_resolutions: false,
    };
  }

  private async addHold(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = parseLnd(HoldInvoiceBody, await readJson(req));
    const hash = fromB64(body.hash);
    if (hash.length !== 64) throw new SimRpcError(GrpcCode.UNKNOWN, "payment hash must be exactly 32 bytes");
    const inv = this.node.createHoldInvoice({
      paymentHash: hash,
      amountMsat: amountOf(body.value, body.value_msat),
      memo: body.memo ?? "",
      expirySec: Number(body.expiry ?? 0n),
      cltvExpiry: Number(body.cltv_expiry ?? 0n),
    });
    json(res, 200, { payment_request: inv.bolt11, add_index: String(inv.addIndex), payment_addr: hexToB64(inv.paymentAddr) });
  }

  private async addInvoice(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = parseLnd(AddInvoiceBody, await readJson(req));
    if (body.r_preimage) throw new SimRpcError(GrpcCode.UNKNOWN, "the sim node makes its own preimages");
    const inv = this.node.createInvoice({
      amountMsat: amountOf(body.value, body.value_msat),
      memo: body.memo ?? "",
      expirySec: Number(body.expiry ?? 0n),
      cltvExpiry: Number(body.cltv_expiry ?? 0n),
    });
    json(res, 200, {
      r_hash: hexToB64(inv.paymentHash),
      payment_request: inv.bolt11,
      add_index: String(inv.addIndex),
      payment_addr: hexToB64(inv.paymentAddr),
    });
  }

  private lookup(res: http.ServerResponse, hash: string): void {
    if (hash.length !== 64) throw new SimRpcError(GrpcCode.INVALID_ARGUMENT, "payment hash must be exactly 32 bytes");
    const inv = this.node.lookup(hash);
    if (!inv) throw new SimRpcError(GrpcCode.NOT_FOUND, LndMessages.INVOICE_NOT_FOUND);
    json(res, 200, lndInvoiceJson(inv));
  }

  /**
   * `/v2/invoices/subscribe/{r_hash}`: the current state first, then every change; ends once final. As LND's REST
   * gateway, the HTTP head goes out with the first message, not before (grpc-gateway's stream handler waits for the
   * gRPC stream's header, which grpc-go sends with the first message), and an unknown hash gets no answer at all:
   * lnd@v0.21.6-beta invoices/invoiceregistry.go SubscribeSingleInvoice registers the client and delivers no
   * backlog for an invoice it does not have, so the stream stays open and silent.
   */
  private subscribe(req: http.IncomingMessage, res: http.ServerResponse, hash: string): void {
    if (hash.length !== 64) {
      // lntypes.MakeHash fails before the stream starts: grpc-gateway answers it as a plain error (Unknown -> 500).
      return json(res, 500, { error: { code: GrpcCode.UNKNOWN, message: `invalid hash length of ${hash.length / 2}, want 32`, details: [] } });
    }
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    const inv = this.node.lookup(hash);
    let open = true;
    const sub = {
      send: (i: SimInvoice) => {
        if (!open) return;
        res.write(`${JSON.stringify({ result: lndInvoiceJson(i) })}\n`);
        const real = this.node.lookup(hash);
        if (real && real === i && (i.state === "SETTLED" || i.state === "CANCELED")) {
          open = false;
          unsubscribe();
          res.end();
        }
      },
      restart: () => {
        open = false;
        unsubscribe();
        // Cut, not ended: a node that restarts does not finish its chunked bodies.
        res.socket?.destroy();
      },
    };
    const unsubscribe = this.node.subscribe(hash, sub);
    req.on("close", () => {
      open = false;
      unsubscribe();
    });
    if (inv) this.node.deliver(sub, inv);
  }

  private wallet(res: http.ServerResponse): void {
    json(res, 200, {
      balanceMsat: this.node.walletBalanceMsat.toString(),
      payments: this.node.walletPayments().map((p) => ({ ...p, amountMsat: p.amountMsat.toString() })),
    });
  }

  private async walletPay(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = PayBody.safeParse(await readJson(req).catch(() => undefined));
    if (!body.success) return json(res, 400, { error: { code: "bad_request", message: 'expected {"bolt11": "ln...", "amountMsat"?: "1000"}' } });
    try {
      const r = await this.node.pay(body.data.bolt11.trim(), body.data.amountMsat ? { amountMsat: BigInt(body.data.amountMsat) } : {});
      json(res, 200, { paymentHash: r.paymentHash, preimage: r.preimage, amountMsat: r.amountMsat.toString(), ...(r.secondAttempt ? { secondAttempt: r.secondAttempt } : {}) });
    } catch (err) {
      if (!(err instanceof SimPayError)) throw err;
      const status = err.code === "bad_invoice" ? 400 : err.code === "stopped" ? 503 : 409;
      json(res, status, { error: { code: err.code, message: err.message } });
    }
  }

  private async setFaults(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = SimFaultRequest.safeParse(await readJson(req).catch(() => undefined));
    if (!body.success) return json(res, 400, { error: { code: "bad_request", message: body.error.message.slice(0, 500) } });
    const { clear, restartStreams, forgePush, payAmountDeltaMsat, ...rest } = body.data;
    if (clear) this.node.clearFaults();
    const set = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    if (payAmountDeltaMsat !== undefined) Object.assign(set, { payAmountDeltaMsat: BigInt(payAmountDeltaMsat) });
    if (Object.keys(set).length > 0) this.node.setFaults(set);
    if (restartStreams) this.node.restartStreams();
    if (forgePush) this.node.forgePush(forgePush.paymentHash, forgePush.state);
    json(res, 200, faultsToJson(this.node.faults));
  }
}

/** Starts a sim node server; resolves once it listens. */
export async function startSimNode(opts: SimServerOptions = {}): Promise<SimNodeServer> {
  const s = new SimNodeServer(opts);
  await s.start();
  return s;
}

function amountOf(value: bigint | undefined, valueMsat: bigint | undefined): bigint {
  const sat = value ?? 0n;
  const msat = valueMsat ?? 0n;
  if (sat !== 0n && msat !== 0n) throw new SimRpcError(GrpcCode.UNKNOWN, "value and value_msat are mutually exclusive");
  const amount = msat !== 0n ? msat : sat * 1000n;
  if (amount < 0n) throw new SimRpcError(GrpcCode.UNKNOWN, "amount must not be negative");
  return amount;
}

function parseLnd<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new SimRpcError(GrpcCode.INVALID_ARGUMENT, `invalid request body: ${r.error.issues[0]?.message ?? "bad JSON"}`);
  return r.data;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new SimRpcError(GrpcCode.INVALID_ARGUMENT, "request body too large");
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SimRpcError(GrpcCode.INVALID_ARGUMENT, "invalid character in request body: not JSON");
  }
}

function lndError(res: http.ServerResponse, err: SimRpcError): void {
  json(res, httpStatusOf(err.grpcCode), { code: err.grpcCode, message: err.message, details: [] });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function html(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(body);
}
