// Core Lightning's answers through clnrest, as its JSON-RPC schemas (doc/schemas) and the holdinvoice plugin
// (github.com/daywalker90/holdinvoice) define them. Only the fields the adapter reads are validated.
//
// clnrest (CLN >= 23.08) maps `POST /v1/<method>` with a JSON body of named parameters onto the RPC call and answers
//   201 + the result                            on success,
//   403 {code: 1501, message}                   without a `Rune` header,
//   401 {code: 1501 | 1502, message}            for a rune that is invalid or does not permit this method/params,
//   404 {code: -32601, message}                 for a method the node does not have (no holdinvoice plugin),
//   500 {code, message}                         for any error of the RPC method itself.
// The holdinvoice plugin is special: it reports its own refusals ("Holdinvoice is in wrong state: 'OPEN'",
// "payment_hash '...' not found") and those of CLN's `invoice` it wraps as a *successful* result shaped
// {code, message}, so clnrest answers them with 201. `isRpcErrorResult` catches that.
import { z } from "zod";

/** msat amounts: a JSON number in CLN >= 23.02, a string "1000msat" before. */
export const ClnMsat = z.union([
  z.int().min(0).transform((n) => BigInt(n)),
  z
    .string()
    .regex(/^[0-9]{1,20}(msat)?$/)
    .transform((s) => BigInt(s.replace(/msat$/, ""))),
]);

export const ClnRpcError = z.looseObject({ code: z.int(), message: z.string(), data: z.unknown().optional() });
export type ClnRpcError = z.infer<typeof ClnRpcError>;

export const ClnGetinfo = z.looseObject({
  id: z.string().regex(/^(02|03)[0-9a-f]{64}$/),
  alias: z.string().optional(),
  network: z.string(),
  blockheight: z.int().min(0).optional(),
});

export const ClnInvoiceCreated = z.looseObject({
  bolt11: z.string().min(1),
  payment_hash: z.string().regex(/^[0-9a-f]{64}$/),
  expires_at: z.int().optional(),
});

export const ClnInvoiceStatus = z.enum(["unpaid", "paid", "expired"]);

export const ClnListedInvoice = z.looseObject({
  label: z.string(),
  payment_hash: z.string().regex(/^[0-9a-f]{64}$/),
  status: ClnInvoiceStatus,
  amount_msat: ClnMsat.optional(),
  amount_received_msat: ClnMsat.optional(),
  paid_at: z.int().optional(),
  payment_preimage: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  expires_at: z.int().optional(),
  bolt11: z.string().optional(),
});
export type ClnListedInvoice = z.infer<typeof ClnListedInvoice>;

export const ClnListInvoices = z.looseObject({ invoices: z.array(ClnListedInvoice) });

export const HoldState = z.enum(["OPEN", "ACCEPTED", "SETTLED", "CANCELED"]);
export type HoldState = z.infer<typeof HoldState>;

export const HoldLookup = z.looseObject({ state: HoldState, htlc_expiry: z.int().optional() });
export const HoldStateResult = z.looseObject({ state: HoldState });

/**
 * What changed, in a `wait` answer for the invoices subsystem: `status` and `label` for a status change, plus
 * `bolt11` for a creation (CLN wallet/invoices.c invoice_index_inc; upstream/cln-contract.ts CLN_WAIT).
 */
export const ClnWaitInvoiceChange = z.looseObject({
  status: z.enum(["unpaid", "paid", "expired"]).optional(),
  label: z.string().optional(),
  bolt11: z.string().optional(),
});
export type ClnWaitInvoiceChange = z.infer<typeof ClnWaitInvoiceChange>;

/**
 * `wait {subsystem: "invoices", indexname: "updated", nextvalue}` (CLN >= 23.08). The change is under `invoices`
 * from v25.05 and under `details` before; v25.05 to v26.05 send both, v26.06 `invoices` only (doc/schemas/wait.json:
 * details "deprecated": ["v25.05", "v26.06"]). An answer given at once, because the index was already there, has
 * neither (lightningd/wait.c json_wait).
 */
export const ClnWaitInvoices = z.looseObject({
  subsystem: z.literal("invoices"),
  updated: z.int().min(0).optional(),
  invoices: ClnWaitInvoiceChange.optional(),
  details: ClnWaitInvoiceChange.optional(),
});

/** Any `wait` answer: the subsystem and the index asked for. */
export const ClnWaitIndex = z.looseObject({ subsystem: z.string(), updated: z.int().min(0).optional() });

/**
 * `wait {subsystem: "htlcs", indexname: "updated", nextvalue}` (CLN >= v25.05; doc/schemas/wait.json, "added":
 * "v25.05"; lightningd/peer_htlcs.c htlcs_index_inc): every state change of an HTLC, with its direction and payment
 * hash. Older releases refuse the subsystem (-32602).
 */
export const ClnWaitHtlcs = z.looseObject({
  subsystem: z.literal("htlcs"),
  updated: z.int().min(0).optional(),
  htlcs: z
    .looseObject({
      state: z.string().optional(),
      direction: z.enum(["in", "out"]).optional(),
      payment_hash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    })
    .optional(),
});

/** `listconfigs {config}` (CLN >= 23.08): `configs.<name>.value_int` for an integer option, plugin options included. */
export const ClnListConfigsInt = (name: string) =>
  z.looseObject({ configs: z.looseObject({ [name]: z.looseObject({ value_int: z.int().min(0) }) }) });

/** CLN error codes the adapter tells apart (common/jsonrpc_errors.h, lightningd/invoice.h). */
export const ClnErrorCode = {
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INVOICE_LABEL_ALREADY_EXISTS: 900,
  INVOICE_PREIMAGE_ALREADY_EXISTS: 901,
  RUNE_NOT_AUTHORIZED: 1501,
  RUNE_NOT_PERMITTED: 1502,
} as const;

/** The plugin's refusal for a transition its state machine does not allow. */
export const WRONG_STATE_RE = /Holdinvoice is in wrong state: '([A-Z]+)'/;
/** The plugin's refusal of an expiry not above its `holdinvoice-cancel-before-invoice-expiry` (src/util.rs). */
export const HOLD_EXPIRY_FLOOR_RE = /^expiry: needs to be greater than '([0-9]+)'/;
/**
 * An error of CLN's `invoice` passed through the plugin: cln-plugin sends `{code: -32700, message: "Error code <n>:
 * <message>"}` (CLN plugins/src/lib.rs parse_error, cln-rpc RpcError Display), so the inner code is in the text.
 */
export const WRAPPED_RPC_ERROR_RE = /^Error code (-?[0-9]+): /;
/** The plugin's answer for a hash it does not hold. */
export const HOLD_NOT_FOUND_RE = /payment_hash '[0-9a-f]*' not found/;

/** A 2xx body that is in fact an RPC error (the holdinvoice plugin's way of refusing). */
export function isRpcErrorResult(v: unknown): ClnRpcError | undefined {
  if (typeof v !== "object" || v === null || "state" in v || "bolt11" in v) return undefined;
  const r = ClnRpcError.safeParse(v);
  return r.success ? r.data : undefined;
}
