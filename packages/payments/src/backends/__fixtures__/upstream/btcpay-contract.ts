// BTCPay Server's Greenfield contract as the adapter and the fake rely on it, for 1.x and 2.x where they differ,
// written down as facts with where upstream states them. Our own words and values, not upstream text.
// upstream-contract.test.ts checks the fake (fake-btcpay.ts) against these.
//
// Sources read (`fetch github:btcpayserver/btcpayserver`):
//   1.x = tag v1.13.7 (83c948d12f2820be0e01d318b389955e61425043)
//   2.x = tag v2.4.1  (03345c2886a58ea4d2f603cb6554b2e3f5d690a4); v2.0.0 (5ad0b128aafa5c9a49d57690a46fc7ac591dd0b2)
//         checked for the legacy payment-method aliases.
// Files: BTCPayServer/wwwroot/swagger/v1/swagger.template.invoices.json and swagger.template.json (the OpenAPI),
// BTCPayServer/Controllers/GreenField/GreenfieldInvoiceController.cs, BTCPayServer/Payments/PaymentMethodId.cs,
// BTCPayServer/Payments/PaymentTypes*.cs, BTCPayServer/Services/Invoices/InvoiceRepository.cs,
// BTCPayServer.Client/Permissions.cs.

/** Payment method ids of Lightning (BOLT 11) on BTC. */
export const BTCPAY_LN_METHOD = {
  /**
   * 2.x: "BTC-LN" (swagger.template.json PaymentMethodId). PaymentMethodId.TryParse (2.x) also takes the legacy
   * spellings: a payment type "lightninglike", "lightningnetwork", "offchain" or "off-chain" after "BTC-" or "BTC_"
   * maps to BTC-LN (present in v2.0.0 and v2.4.1).
   */
  v2: { canonical: "BTC-LN", accepted: ["BTC-LN", "BTC-LightningNetwork", "BTC-LightningLike", "BTC_LightningLike", "BTC-offchain"] },
  /**
   * 1.x: "BTC-LightningNetwork" (swagger.template.json; PaymentMethodId.ToStringNormalized), parsed by splitting on
   * '-' or '_' and matching the type against "LightningLike" / "LightningNetwork" / "offchain" (case-insensitive;
   * PaymentTypes.Lightning.cs). "LN" is no payment type in 1.x: "BTC-LN" is refused.
   */
  v1: { canonical: "BTC-LightningNetwork", accepted: ["BTC-LightningNetwork", "BTC-LightningLike", "BTC_LightningLike", "BTC-offchain"], refused: ["BTC-LN"] },
  /** So one id works on both: "BTC-LightningNetwork" (1.x's own, a legacy alias in 2.x). */
  worksOnBoth: "BTC-LightningNetwork",
} as const;

/** POST /api/v1/stores/{storeId}/invoices with checkout.paymentMethods holding an id the version does not parse. */
export const BTCPAY_BAD_METHOD_REFUSAL = {
  status: 422,
  /** The validation error array: one `{path, message}` per bad entry (GreenfieldInvoiceController.CreateInvoice). */
  path: (index: number) => `Checkout.PaymentMethods[${index}]`,
  messageV1: "Invalid payment method",
  messageV2: "Invalid PaymentMethodId",
} as const;

/** GET .../invoices/{id}/payment-methods items (InvoicePaymentMethodDataModel). */
export const BTCPAY_PAYMENT_METHOD_FIELDS = {
  v1: { id: "paymentMethod", currency: "cryptoCode" },
  v2: { id: "paymentMethodId", currency: "currency" },
  /** Both: the BOLT 11 is `destination`; amounts are decimal strings in BTC; `activated` false until a lazy method is activated. */
  common: ["destination", "paymentLink", "rate", "paymentMethodPaid", "totalPaid", "due", "amount", "activated", "payments"],
} as const;

/**
 * Routes. Both versions serve the store-scoped ones; 2.x (since #7313, in v2.4.1) also serves store-less
 * /api/v1/invoices/{invoiceId}/... The adapter uses the store-scoped ones, which work on both.
 */
export const BTCPAY_ROUTES = {
  list: "/api/v1/stores/{storeId}/invoices",
  create: "/api/v1/stores/{storeId}/invoices",
  get: "/api/v1/stores/{storeId}/invoices/{invoiceId}",
  paymentMethods: "/api/v1/stores/{storeId}/invoices/{invoiceId}/payment-methods",
  activate: "/api/v1/stores/{storeId}/invoices/{invoiceId}/payment-methods/{paymentMethod}/activate",
} as const;

/**
 * GET .../invoices?textSearch=: InvoiceRepository query `InvoiceSearchData.Any(data => data.Value.StartsWith(text))`
 * with `text = textSearch.Truncate(512)`: a PREFIX match of one indexed term. The terms indexed at creation
 * (CreateInvoiceAsync; a lazy method's destination when it is activated): each payment method's destination (for
 * Lightning the BOLT 11 string itself), its amount due once activated, the invoice id, the invoice time, the price,
 * metadata.orderId, the store id, metadata.buyerEmail, and extra terms of apps. The payment hash is never indexed.
 * (Same in 1.x and 2.x.)
 */
export const BTCPAY_TEXT_SEARCH = {
  match: "prefix",
  maxChars: 512,
  indexed: ["destination", "due", "invoiceId", "invoiceTime", "price", "orderId", "storeId", "buyerEmail"],
  notIndexed: ["paymentHash"],
} as const;

/** Greenfield permissions (BTCPayServer.Client/Permissions.cs, same strings in 1.x and 2.x). */
export const BTCPAY_PERMISSIONS = {
  createInvoice: "btcpay.store.cancreateinvoice",
  viewInvoices: "btcpay.store.canviewinvoices",
  /** Needed to invalidate (mark) an invoice; the machine does not ask for it. */
  modifyInvoices: "btcpay.store.canmodifyinvoices",
} as const;

/** Greenfield's error answers (GreenfieldInvoiceController; the auth handler). */
export const BTCPAY_ERRORS = {
  unauthenticated: { status: 401, code: "unauthenticated" },
  missingPermission: { status: 403, code: "missing-permission" },
  invoiceNotFound: { status: 404, code: "invoice-not-found" },
  validation: { status: 422 },
} as const;
