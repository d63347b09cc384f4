// A fake BTCPay Server to the Greenfield contract, built from the facts in upstream/btcpay-contract.ts (each cites
// the upstream file and tag): `Authorization: token <key>` (401 {code: "unauthenticated"}, 403 {code:
// "missing-permission"}), `POST /api/v1/stores/{storeId}/invoices` (200 with the invoice; 422 with [{path, message}]
// for a bad amount or a payment method id this version does not parse: 1.x refuses "BTC-LN"),
// `GET .../invoices/{id}` (404 {code: "invoice-not-found"}), `GET .../invoices/{id}/payment-methods` (BTC amounts as
// decimal strings, the BOLT 11 in `destination`, the id under `paymentMethodId` (2.x) or `paymentMethod` (1.x)),
// lazy payment methods activated with `POST .../payment-methods/{id}/activate`, `textSearch` as BTCPay does it (a
// prefix match against the indexed terms, which do not include the payment hash), and signed webhooks.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { fakeBolt11 } from "./bolt11.js";
import { HttpFake, type FakeRequest, type Handled } from "./http-fake.js";
import { BTCPAY_BAD_METHOD_REFUSAL, BTCPAY_LN_METHOD, BTCPAY_TEXT_SEARCH } from "./upstream/btcpay-contract.js";

export interface FakeBtcpayInvoice {
  id: string;
  amountBtc: string;
  amountMsat: bigint;
  paymentHash: string;
  bolt11: string;
  status: "New" | "Processing" | "Expired" | "Invalid" | "Settled";
  additionalStatus: string;
  paidMsat: bigint;
  activated: boolean;
  orderId?: string;
  createdTime: number;
}

export class FakeBtcpay {
  readonly http: HttpFake;
  readonly invoices = new Map<string, FakeBtcpayInvoice>();
  storeId = "Store7xQ";
  /** api key -> permissions */
  readonly keys = new Map<string, string[]>([["key-invoices", ["btcpay.store.cancreateinvoice", "btcpay.store.canviewinvoices"]]]);
  lazyPaymentMethods = false;
  /** The store's "Lightning description template" (BTCPay's default below); `{ItemDescription}` is metadata.itemDesc. */
  lightningDescriptionTemplate = "Paid to {StoreName} (Order ID: {OrderId})";
  /** The major version: payment method ids it parses, and how its answers name them. */
  version: 1 | 2 = 2;
  private n = 0;

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

  pay(invoiceId: string): void {
    const inv = this.invoices.get(invoiceId);
    if (!inv) throw new Error("fake btcpay: no invoice");
    inv.status = "Settled";
    inv.paidMsat = inv.amountMsat;
  }

  /** What BTCPay POSTs to a webhook: the body and its `BTCPay-Sig` header. */
  webhook(secret: string, type: string, invoiceId: string, storeId = this.storeId): { body: string; signature: string } {
    const body = JSON.stringify({ deliveryId: `d${++this.n}`, webhookId: "wh1", originalDeliveryId: `d${this.n}`, isRedelivery: false, type, timestamp: 1_763_700_000, storeId, invoiceId, metadata: {} });
    return { body, signature: `sha256=${createHmac("sha256", secret).update(body).digest("hex")}` };
  }

  private handle(req: FakeRequest): Handled {
    const auth = req.headers["authorization"] ?? "";
    const key = /^token (.+)$/.exec(auth)?.[1];
    const perms = key ? this.keys.get(key) : undefined;
    if (!perms) return { status: 401, body: { code: "unauthenticated", message: "Authentication is required for accessing this endpoint" } };
    const base = `/api/v1/stores/${this.storeId}/invoices`;
    if (!req.path.startsWith(base)) return { status: 404, body: { code: "store-not-found", message: "The store was not found" } };
    const need = (p: string): Handled | undefined =>
      perms.includes(p) ? undefined : { status: 403, body: { code: "missing-permission", message: `Insufficient API Permissions. Please use an API key with permission: ${p}` } };
    const rest = req.path.slice(base.length);
    if (rest === "" && req.method === "POST") {
      const denied = need("btcpay.store.cancreateinvoice");
      if (denied) return denied;
      const b = (req.json ?? {}) as { amount?: string; currency?: string; metadata?: { itemDesc?: string; orderId?: string }; checkout?: { paymentMethods?: string[]; expirationMinutes?: number } };
      if (!b.amount || !/^[0-9]+(\.[0-9]{1,8})?$/.test(b.amount) || b.currency !== "BTC") {
        return { status: 422, body: [{ path: "amount", message: "Amount should be a positive decimal with at most 8 decimals" }] };
      }
      const known = (this.version === 1 ? BTCPAY_LN_METHOD.v1.accepted : BTCPAY_LN_METHOD.v2.accepted).map((m) => m.toLowerCase());
      const badMethods = (b.checkout?.paymentMethods ?? [])
        .map((m, i) => ({ m, i }))
        .filter(({ m }) => !known.includes(m.toLowerCase()))
        .map(({ i }) => ({
          path: BTCPAY_BAD_METHOD_REFUSAL.path(i),
          message: this.version === 1 ? BTCPAY_BAD_METHOD_REFUSAL.messageV1 : BTCPAY_BAD_METHOD_REFUSAL.messageV2,
        }));
      if (badMethods.length > 0) return { status: BTCPAY_BAD_METHOD_REFUSAL.status, body: badMethods };
      const [whole = "0", frac = ""] = b.amount.split(".");
      const amountMsat = (BigInt(whole) * 100_000_000n + BigInt(frac.padEnd(8, "0"))) * 1000n;
      const preimage = randomBytes(32);
      const paymentHash = createHash("sha256").update(preimage).digest("hex");
      const id = `Inv${++this.n}${randomBytes(4).toString("hex")}`;
      const inv: FakeBtcpayInvoice = {
        id,
        amountBtc: b.amount,
        amountMsat,
        paymentHash,
        bolt11: fakeBolt11({
          paymentHash,
          amountMsat,
          description: this.lightningDescriptionTemplate
            .replace("{StoreName}", "Vending Co")
            .replace("{OrderId}", b.metadata?.orderId ?? "")
            .replace("{ItemDescription}", b.metadata?.itemDesc ?? ""),
          expirySec: (b.checkout?.expirationMinutes ?? 15) * 60,
        }),
        status: "New",
        additionalStatus: "None",
        paidMsat: 0n,
        activated: !this.lazyPaymentMethods,
        ...(b.metadata?.orderId ? { orderId: b.metadata.orderId } : {}),
        createdTime: 1_763_700_000 + this.n,
      };
      this.invoices.set(id, inv);
      return { status: 200, body: this.invoiceBody(inv) };
    }
    if (rest === "" && req.method === "GET") {
      const denied = need("btcpay.store.canviewinvoices");
      if (denied) return denied;
      const q = req.query.get("textSearch")?.slice(0, BTCPAY_TEXT_SEARCH.maxChars);
      const list = [...this.invoices.values()].filter((i) => !q || this.searchTerms(i).some((t) => t.startsWith(q)));
      return { status: 200, body: list.slice(0, Number(req.query.get("take") ?? 50)).map((i) => this.invoiceBody(i)) };
    }
    const m = /^\/([^/]+)(\/payment-methods(?:\/([^/]+)\/activate)?)?$/.exec(rest);
    const inv = m ? this.invoices.get(decodeURIComponent(m[1] ?? "")) : undefined;
    if (!m || !inv) return { status: 404, body: { code: "invoice-not-found", message: "The invoice was not found" } };
    if (m[3] && req.method === "POST") {
      inv.activated = true;
      return { status: 200, text: "" };
    }
    const denied = need("btcpay.store.canviewinvoices");
    if (denied) return denied;
    if (!m[2]) return { status: 200, body: this.invoiceBody(inv) };
    const paidBtc = (Number(inv.paidMsat / 1000n) / 1e8).toFixed(8);
    const id = this.version === 2 ? { paymentMethodId: BTCPAY_LN_METHOD.v2.canonical, currency: "BTC" } : { paymentMethod: BTCPAY_LN_METHOD.v1.canonical, cryptoCode: "BTC" };
    return {
      status: 200,
      body: [
        {
          ...id,
          destination: inv.activated ? inv.bolt11 : "",
          paymentLink: inv.activated ? `lightning:${inv.bolt11}` : null,
          rate: "1.0",
          paymentMethodPaid: paidBtc,
          totalPaid: paidBtc,
          due: inv.status === "Settled" ? "0.00000000" : inv.amountBtc,
          amount: inv.amountBtc,
          networkFee: "0.0",
          activated: inv.activated,
          payments: inv.paidMsat > 0n ? [{ id: inv.paymentHash, receivedDate: 1_763_700_050, value: paidBtc, fee: "0.0", status: "Settled", destination: inv.bolt11 }] : [],
          additionalData: {},
        },
      ],
    };
  }

  /** What BTCPay indexes for `textSearch` (BTCPAY_TEXT_SEARCH.indexed); never the payment hash. */
  private searchTerms(inv: FakeBtcpayInvoice): string[] {
    return [
      ...(inv.activated ? [inv.bolt11, inv.amountBtc] : []),
      inv.id,
      String(inv.createdTime),
      inv.amountBtc,
      ...(inv.orderId ? [inv.orderId] : []),
      this.storeId,
    ];
  }

  private invoiceBody(inv: FakeBtcpayInvoice) {
    return { id: inv.id, storeId: this.storeId, amount: inv.amountBtc, currency: "BTC", type: "Standard", checkoutLink: `${this.url}/i/${inv.id}`, createdTime: inv.createdTime, expirationTime: 1_763_700_180, monitoringExpiration: 1_763_700_180, status: inv.status, additionalStatus: inv.additionalStatus, archived: false, metadata: {} };
  }
}
