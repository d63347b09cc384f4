// Core Lightning's contract as the adapter and the fake rely on it, written down as facts, each with where upstream
// states it. Our own words and values, not upstream text. The fake (fake-cln.ts) is built from these, and
// upstream-contract.test.ts checks that the fake keeps to them, so a fake that drifts from upstream fails a test.
//
// Sources read (the search tools, `fetch github:...`):
//   CLN  = github.com/ElementsProject/lightning, tag v26.06 (55617a524e234b4c1651fa1e93d81a848e2d597f),
//          compared with v25.05 (2b8b709bfd3d1b296d453eff3f2316a90e6290b8) where marked
//   HOLD = github.com/daywalker90/holdinvoice, tag v4.0.0 (82d34b02131cb94ed3e9350a0a727ae44d2763b9); main at
//          2d7ebf9dc7ba31820b0f4871e606045161ad0828 differs only by formatting and crate upgrades in these places.
//   (Not BoltzExchange/hold: that plugin has other method names (`holdinvoice` with `payment_hash`, `settle`, ...);
//   the adapter targets daywalker90's, whose methods take the preimage and a label like CLN's `invoice`.)

/** `wait` (CLN doc/schemas/wait.json; lightningd/wait.c json_wait, json_add_index; wallet/invoices.c invoice_index_inc). */
export const CLN_WAIT = {
  /** The request: all three required. */
  requestFields: ["subsystem", "indexname", "nextvalue"],
  indexNames: ["created", "updated", "deleted"],
  /**
   * When the index is already at or past `nextvalue`, `wait` answers at once with only `subsystem` and the index
   * (json_wait passes no details to json_add_index): no `invoices`, no `details`.
   */
  immediateAnswerFields: ["subsystem", "updated"],
  /**
   * The object that carries what changed: `invoices` since v25.05 ("added": "v25.05"); `details` deprecated in
   * v25.05 and gone by default from v26.06 ("deprecated": ["v25.05", "v26.06"]; wait.c command_deprecated_out_ok).
   */
  changeObject: { current: "invoices", addedIn: "v25.05", legacy: "details", legacyDeprecatedIn: "v25.05", legacyRemovedIn: "v26.06" },
  /** Fields of the change object for the invoices subsystem (wait.json). There is no payment_hash. */
  invoiceChangeFields: ["status", "label", "description", "bolt11", "bolt12"],
  /**
   * An `updated` bump from a status change carries `status` and `label` only (invoice_index_update_status passes no
   * invstring); a `created` bump carries `status`, `label` and `bolt11`.
   */
  updatedCarries: ["status", "label"],
  createdCarries: ["status", "label", "bolt11"],
  invoiceStatuses: ["unpaid", "paid", "expired"],
  /**
   * The `htlcs` subsystem ("added": "v25.05"; lightningd/peer_htlcs.c htlcs_index_inc): every HTLC state change moves
   * its `updated` index, and the change (under `htlcs`; never `details`) carries these fields. Before v25.05 `wait`
   * refuses the subsystem (-32602).
   */
  htlcsAddedIn: "v25.05",
  htlcChangeFields: ["state", "short_channel_id", "direction", "htlc_id", "cltv_expiry", "payment_hash", "amount_msat"],
} as const;

/** `invoice` (CLN doc/schemas/invoice.json). */
export const CLN_INVOICE = {
  requestRequired: ["amount_msat", "label", "description"],
  /** `expiry` in seconds; absent means 604800 (one week). */
  defaultExpirySec: 604_800,
  responseRequired: ["payment_hash", "expires_at", "created_index", "bolt11", "payment_secret"],
} as const;

/** `listinvoices` (CLN doc/schemas/listinvoices.json). */
export const CLN_LISTINVOICES = {
  requestFields: ["label", "invstring", "payment_hash", "offer_id", "index", "start", "limit"],
  itemRequired: ["label", "created_index", "payment_hash", "status", "expires_at"],
  statuses: ["unpaid", "paid", "expired"],
} as const;

/**
 * `listconfigs {config}` (CLN doc/schemas/listconfigs.json, "added": "v23.08"): `configs` is an object keyed by option
 * name; plugin options appear there too ("Plugins can add fields to this") with `value_int` for integer options,
 * `source` and `plugin`.
 */
export const CLN_LISTCONFIGS = { resultKey: "configs", intValueKey: "value_int" } as const;

/**
 * clnrest (CLN plugins/rest-plugin/src/certs.rs generate_certificates; doc/developers-guide/app-development/rest.md).
 * HTTPS by default (`clnrest-protocol`), certificates in `clnrest-certs` (default: the lightning-dir/<network>).
 */
export const CLNREST_TLS = {
  files: { ca: "ca.pem", caKey: "ca-key.pem", server: "server.pem", serverKey: "server-key.pem", client: "client.pem", clientKey: "client-key.pem" },
  /** ca.pem: self-signed, a CA (IsCa::Ca), DNS names below. */
  caNames: ["cln Root REST CA", "cln", "localhost"],
  /** server.pem: signed by ca.pem, not a CA, CN "cln rest server", DNS names below, plus the IP of `clnrest-host` when it is an IP. */
  serverCommonName: "cln rest server",
  serverNames: ["cln rest server", "cln", "localhost"],
  /** client.pem: signed by the same CA, with these DNS names: only "cln rest server" tells the server's apart. */
  clientNames: ["cln rest client", "cln", "localhost"],
  /** `clnrest-host` default. */
  defaultHost: "127.0.0.1",
} as const;

/**
 * clnrest answers (CLN plugins/rest-plugin/src/handlers.rs, shared.rs): `POST /v1/<method>`, named params as JSON,
 * `Rune` header. 201 with the result; 403 without a rune; 401 for a rune refused; 500 with {code, message} for an RPC
 * error. (Unchanged from what cln-wire.ts describes.)
 */
export const CLNREST_HTTP = { successStatus: 201, missingRuneStatus: 403, runeRefusedStatus: 401, rpcErrorStatus: 500 } as const;

/**
 * Rune restrictions (CLN doc/schemas/createrune.json): each inner array is OR-ed, the arrays AND-ed; `=` equals, `/`
 * not equals; `pnameX` is the named parameter X (underscores kept since v24.05). So `["method/listconfigs",
 * "pnameconfig=<name>"]` lets listconfigs read one option only and leaves every other method alone.
 */
export const CLN_RUNE = { notEquals: "/", equals: "=", namedParam: "pname" } as const;

/** The holdinvoice plugin (HOLD src/main.rs, src/util.rs build_invoice_request, src/errors.rs, src/model.rs, src/hooks.rs). */
export const HOLDINVOICE = {
  methods: ["holdinvoice", "holdinvoicesettle", "holdinvoicecancel", "holdinvoicelookup"],
  /** holdinvoice's named params (util.rs valid_arg_keys); any other name is refused with code -1 "Invalid argument". */
  holdinvoiceParams: ["amount_msat", "label", "description", "expiry", "fallbacks", "preimage", "cltv", "deschashonly", "exposeprivatechannels"],
  /** `cltv` is required (missing_parameter_error). */
  requiredParams: ["amount_msat", "label", "description", "cltv"],
  options: {
    /** Seconds before the invoice's expiry at which the plugin stops holding: default 1800 (main.rs). */
    cancelBeforeInvoiceExpiry: { name: "holdinvoice-cancel-before-invoice-expiry", defaultSec: 1_800 },
    /** Blocks before an HTLC's expiry at which the plugin stops holding: default 6. */
    cancelBeforeHtlcExpiry: { name: "holdinvoice-cancel-before-htlc-expiry", defaultBlocks: 6 },
  },
  /**
   * `expiry` must be strictly greater than the invoice-expiry option (util.rs: `exp <= option` refused), else an
   * in-band error: code -32602, message "expiry: needs to be greater than '<option>' requested: '<expiry>'".
   * `cltv` likewise must be greater than the HTLC option: "cltv: needs to be greater than '<option>' requested: '<cltv>'".
   */
  expiryRefusal: (floorSec: number, requestedSec: number) => ({ code: -32602, message: `expiry: needs to be greater than '${floorSec}' requested: '${requestedSec}'` }),
  cltvRefusal: (floorBlocks: number, requested: number) => ({ code: -32602, message: `cltv: needs to be greater than '${floorBlocks}' requested: '${requested}'` }),
  /**
   * The plugin's refusals are *results*, not RPC errors (its methods return Ok(json!({code, message}))), so clnrest
   * answers them 201. Errors of CLN's `invoice` that the plugin propagates with `?` are real RPC errors (500).
   */
  refusalsAreResults: true,
  states: ["OPEN", "ACCEPTED", "SETTLED", "CANCELED"],
  /**
   * model.rs is_valid_transition: OPEN -> anything but SETTLED; ACCEPTED -> anything but OPEN; SETTLED -> SETTLED only;
   * CANCELED -> CANCELED only. So a repeated settle or cancel answers {state} again, and a refused one answers
   * code -32602 "Holdinvoice is in wrong state: '<STATE>'".
   */
  validTransitions: {
    OPEN: ["OPEN", "ACCEPTED", "CANCELED"],
    ACCEPTED: ["ACCEPTED", "SETTLED", "CANCELED"],
    SETTLED: ["SETTLED"],
    CANCELED: ["CANCELED"],
  },
  wrongState: (state: string) => ({ code: -32602, message: `Holdinvoice is in wrong state: '${state}'` }),
  notFound: (paymentHash: string) => ({ code: -32602, message: `payment_hash '${paymentHash}' not found` }),
  /** holdinvoicelookup: {state, htlc_expiry?} (htlc_expiry only while ACCEPTED); settle/cancel: {state}. */
  lookupFields: ["state", "htlc_expiry"],
  /**
   * hooks.rs loop_htlc_hold: "soft expiry" is `expires_at <= now + cancel-before-invoice-expiry` (or the HTLC within
   * the block margin). At soft expiry an OPEN hold is CANCELED, and an ACCEPTED one is SETTLED by the plugin itself
   * (CLN cannot settle an expired invoice). So the invoice must outlive the machine's own settle-or-cancel deadline
   * by more than the option, or the plugin takes the money on its own.
   */
  softExpiryAutoSettlesAccepted: true,
  /**
   * An error of CLN's own `invoice` inside `holdinvoice` (the plugin calls it with `?`) becomes a *real* RPC error:
   * cln-plugin (CLN plugins/src/lib.rs parse_error) sends `{code: -32700, message: e.to_string()}`, and cln-rpc's
   * RpcError displays as "Error code <code>: <message>" (cln-rpc/src/primitives.rs). So clnrest answers 500
   * `{code: -32700, message: "Error code 900: Duplicate label '...'"}`: the inner code survives only in the text.
   */
  wrappedRpcError: (innerCode: number, innerMessage: string) => ({ code: -32700, message: `Error code ${innerCode}: ${innerMessage}` }),
} as const;

/** CLN's own refusals of `invoice` (common/jsonrpc_errors.h; lightningd/invoice.c). */
export const CLN_INVOICE_ERRORS = {
  duplicateLabel: (label: string) => ({ code: 900, message: `Duplicate label '${label}'` }),
  preimageUsed: { code: 901, message: "preimage already used" },
} as const;
