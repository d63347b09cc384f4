import { z } from "zod";

/** 21 million bitcoin in msat: no amount on the wire can exceed it. */
export const MAX_MSAT = 2_100_000_000_000_000_000n;

const MSAT_RE = /^(0|[1-9][0-9]{0,18})$/;
const MONEY_MESSAGE = 'money must be an integer number of msat written as a decimal string, e.g. "21000"';

/**
 * Money on the wire: msat as a canonical decimal string (no sign, no leading zero, no fraction), never a JSON
 * number (a float loses msat above 2^53). In code, convert with `toMsat()` to a bigint.
 */
export const MsatString = z.custom<string>(
  (v) => typeof v === "string" && MSAT_RE.test(v) && BigInt(v) <= MAX_MSAT,
  { error: MONEY_MESSAGE, params: { code: "bad_money" } },
);
export type MsatString = z.infer<typeof MsatString>;

/** A decimal msat string (already validated) as a bigint. Throws RangeError on anything not canonical. */
export function toMsat(s: string): bigint {
  if (!MSAT_RE.test(s)) throw new RangeError(`not an msat amount: ${JSON.stringify(s.slice(0, 40))}`);
  return BigInt(s);
}

/** A bigint msat amount as its wire form. */
export function msatString(amountMsat: bigint): MsatString {
  if (amountMsat < 0n || amountMsat > MAX_MSAT) throw new RangeError(`msat amount out of range: ${amountMsat}`);
  return amountMsat.toString();
}

/** Machine ids appear in MQTT topics, so they are restricted to what is safe there and in URLs and file names. */
export const MachineId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "a machine id is lower-case letters, digits and inner dashes");
export type MachineId = z.infer<typeof MachineId>;

/** A slot on the machine, as printed on its front: "A1", "B12", "P1". */
export const SlotId = z
  .string()
  .min(1)
  .max(8)
  .regex(/^[A-Z][0-9]{1,3}$/, 'a slot is a capital letter and a number, e.g. "A1"');
export type SlotId = z.infer<typeof SlotId>;

/** Ids the machine or fleet makes (orders, events, commands): url-safe, bounded. */
export const Id = z
  .string()
  .min(8)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "an id is letters, digits, '-' and '_'");
export type Id = z.infer<typeof Id>;

/** 32 bytes as lower-case hex (payment hash, preimage). */
export const Hex32 = z
  .string()
  .length(64)
  .regex(/^[0-9a-f]{64}$/, "expected 32 bytes as 64 lower-case hex digits");
export const Hex33 = z
  .string()
  .length(66)
  .regex(/^0[23][0-9a-f]{64}$/, "expected a compressed secp256k1 public key as 66 hex digits");

/** A BOLT 11 invoice as text. Its content is checked by `@zapvend/payments`; here only its shape and size. */
export const Bolt11String = z
  .string()
  .min(8)
  .max(7089)
  .regex(/^(ln|LN)[a-zA-Z0-9]+$/, "expected a BOLT 11 invoice (ln...)");

/** Milliseconds since the Unix epoch. */
export const EpochMs = z.int().min(0).max(8_640_000_000_000_000);

/** Human text shown on a screen: bounded, no control characters. */
export function text(max: number) {
  return z
    .string()
    .max(max)
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point of this pattern
    .regex(/^[^\u0000-\u001f\u007f]*$/, "control characters are not allowed");
}

/** ISO 4217 currency code. */
export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, 'a currency is an ISO 4217 code, e.g. "EUR"');

/** A fault or failure: a stable code plus words for a person. */
export const CodedError = z.object({
  code: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/),
  message: text(500),
});
export type CodedError = z.infer<typeof CodedError>;

/** Health of a part (payments backend, hardware, broker). */
export const Health = {
  UP: "up",
  DEGRADED: "degraded",
  DOWN: "down",
} as const;
export type Health = (typeof Health)[keyof typeof Health];
export const HealthSchema = z.enum(["up", "degraded", "down"]);
