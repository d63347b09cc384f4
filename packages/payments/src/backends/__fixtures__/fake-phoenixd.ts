// A fake phoenixd to its documented HTTP API: basic auth with an empty user and either password (401 with a text
// body otherwise; the limited-access password may not spend), form-encoded `POST /createinvoice` (400 with a text
// message for a missing field), `GET /payments/incoming/{hash}` (404 for an unknown hash), `GET /getinfo`.
import { createHash, randomBytes } from "node:crypto";
import { FAKE_NODE_PUBKEY, fakeBolt11 } from "./bolt11.js";
import { HttpFake, type FakeRequest, type Handled } from "./http-fake.js";

export interface FakeIncoming {
  paymentHash: string;
  preimage: string;
  invoice: string;
  description: string;
  isPaid: boolean;
  receivedSat: number;
  feesMsat: number;
  createdAt: number;
  completedAt: number | null;
}

export class FakePhoenixd {
  readonly http: HttpFake;
  readonly incoming = new Map<string, FakeIncoming>();
  password = "full-secret";
  limitedPassword = "limited-secret";
  nodeId = FAKE_NODE_PUBKEY;
  chain = "regtest";

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

  /** The buyer pays; phoenixd keeps `feesMsat` of it (e.g. for a new channel) and reports the rest as received. */
  pay(paymentHash: string, amountSat: number, feesMsat = 0): void {
    const p = this.incoming.get(paymentHash);
    if (!p) throw new Error("fake phoenixd: unknown payment");
    p.isPaid = true;
    p.receivedSat = amountSat - feesMsat / 1000;
    p.feesMsat = feesMsat;
    p.completedAt = 1_763_700_123_456;
  }

  private handle(req: FakeRequest): Handled {
    const auth = req.headers["authorization"] ?? "";
    const pw = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString("utf8").replace(/^[^:]*:/, "") : "";
    if (pw !== this.password && pw !== this.limitedPassword) return { status: 401, text: "Unauthorized" };
    if (req.method === "GET" && req.path === "/getinfo") {
      return { status: 200, body: { nodeId: this.nodeId, channels: [], chain: this.chain, blockHeight: 150, version: "0.6.0" } };
    }
    if (req.method === "POST" && req.path === "/createinvoice") {
      const amountSat = req.form.get("amountSat");
      const description = req.form.get("description");
      if (description === null) return { status: 400, text: "Missing parameter description" };
      if (amountSat !== null && !/^[0-9]+$/.test(amountSat)) return { status: 400, text: "Invalid parameter amountSat" };
      const preimage = randomBytes(32).toString("hex");
      const paymentHash = createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex");
      const invoice = fakeBolt11({ paymentHash, amountMsat: BigInt(amountSat ?? "0") * 1000n, description, expirySec: Number(req.form.get("expirySeconds") ?? 3600) });
      this.incoming.set(paymentHash, { paymentHash, preimage, invoice, description, isPaid: false, receivedSat: 0, feesMsat: 0, createdAt: 1_763_700_000_000, completedAt: null });
      return { status: 200, body: { amountSat: Number(amountSat), paymentHash, serialized: invoice } };
    }
    const m = /^\/payments\/incoming\/([^/]+)$/.exec(req.path);
    if (req.method === "GET" && m) {
      const p = this.incoming.get(m[1] ?? "");
      if (!p) return { status: 404, text: "Not Found" };
      return {
        status: 200,
        body: { type: "incoming_payment", subType: "lightning", paymentHash: p.paymentHash, preimage: p.preimage, externalId: null, description: p.description, invoice: p.invoice, isPaid: p.isPaid, receivedSat: p.receivedSat, fees: p.feesMsat, completedAt: p.completedAt, createdAt: p.createdAt },
      };
    }
    return { status: 404, text: "Not Found" };
  }
}
