// A fake LNbits instance to its documented API: `X-Api-Key` checked against a wallet's invoice and admin keys
// (401 {"detail": "Invalid key"} otherwise), `POST /api/v1/payments` (201, sat in, msat out, 422 FastAPI validation
// errors), `GET /api/v1/payments/{hash}` ({paid, status, preimage, details}, 404 {"detail": "Payment does not
// exist."}), `GET /api/v1/wallet`.
import { createHash, randomBytes } from "node:crypto";
import { fakeBolt11 } from "./bolt11.js";
import { HttpFake, type FakeRequest, type Handled } from "./http-fake.js";

export interface FakeLnbitsPayment {
  paymentHash: string;
  preimage: string;
  amountMsat: bigint;
  memo: string;
  bolt11: string;
  expiry: number;
  status: "pending" | "success" | "failed";
}

export class FakeLnbits {
  readonly http: HttpFake;
  readonly payments = new Map<string, FakeLnbitsPayment>();
  invoiceKey = "inkey-0123";
  adminKey = "adminkey-4567";
  /** LNbits < 1.0 answered `payment_request`; 1.x answers `bolt11`. */
  legacyCreateShape = false;

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

  pay(paymentHash: string): void {
    const p = this.payments.get(paymentHash);
    if (!p) throw new Error("fake lnbits: unknown payment");
    p.status = "success";
  }

  private handle(req: FakeRequest): Handled {
    const key = req.headers["x-api-key"];
    if (key !== this.invoiceKey && key !== this.adminKey) return { status: 401, body: { detail: "Invalid key" } };
    if (req.method === "GET" && req.path === "/api/v1/wallet") return { status: 200, body: { name: "vending", balance: 123_000 } };
    if (req.method === "POST" && req.path === "/api/v1/payments") {
      const b = (req.json ?? {}) as Record<string, unknown>;
      if (b["out"] !== false) return { status: 401, body: { detail: "Invoice (or Admin) key required." } };
      if (typeof b["amount"] !== "number" || !Number.isInteger(b["amount"]) || b["amount"] < 1) {
        return { status: 422, body: { detail: [{ loc: ["body", "amount"], msg: "ensure this value is greater than or equal to 1", type: "value_error" }] } };
      }
      const preimage = randomBytes(32).toString("hex");
      const paymentHash = createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex");
      const amountMsat = BigInt(b["amount"]) * 1000n;
      const p: FakeLnbitsPayment = {
        paymentHash,
        preimage,
        amountMsat,
        memo: String(b["memo"] ?? ""),
        bolt11: fakeBolt11({ paymentHash, amountMsat, description: String(b["memo"] ?? ""), expirySec: Number(b["expiry"] ?? 3600) }),
        expiry: Number(b["expiry"] ?? 3600),
        status: "pending",
      };
      this.payments.set(paymentHash, p);
      return {
        status: 201,
        body: this.legacyCreateShape
          ? { payment_hash: paymentHash, payment_request: p.bolt11, checking_id: paymentHash }
          : { checking_id: paymentHash, payment_hash: paymentHash, wallet_id: "w1", amount: Number(amountMsat), fee: 0, bolt11: p.bolt11, status: "pending", memo: p.memo, expiry: p.expiry },
      };
    }
    const m = /^\/api\/v1\/payments\/([^/]+)$/.exec(req.path);
    if (req.method === "GET" && m) {
      const p = this.payments.get(m[1] ?? "");
      if (!p) return { status: 404, body: { detail: "Payment does not exist." } };
      return {
        status: 200,
        body: {
          paid: p.status === "success",
          status: p.status,
          preimage: p.status === "success" ? p.preimage : null,
          details: { payment_hash: p.paymentHash, amount: Number(p.amountMsat), fee: 0, bolt11: p.bolt11, status: p.status, memo: p.memo, time: 1_763_700_000 },
        },
      };
    }
    return { status: 404, body: { detail: "Not Found" } };
  }
}
