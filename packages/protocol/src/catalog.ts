import { z } from "zod";
import { CurrencyCode, EpochMs, MachineId, MsatString, SlotId, text } from "./common.js";
import { MAX_PICTURE_SIDE, ProductNames } from "./fleet-catalog.js";

/** `mdb`: vended by the machine's own controller (VMC), zapvend approves it as the MDB cashless reader. */
export const ProductKind = { POUR: "pour", SPIRAL: "spiral", MDB: "mdb" } as const;
export type ProductKind = (typeof ProductKind)[keyof typeof ProductKind];
export const ProductKindSchema = z.enum(["pour", "spiral", "mdb"]);

/** A fiat amount in the currency's minor unit (cents for EUR, yen for JPY): an integer, never a float. */
export const FiatAmount = z.object({
  currency: CurrencyCode,
  amountMinor: z.int().min(0).max(1_000_000_000),
});
export type FiatAmount = z.infer<typeof FiatAmount>;

/** A price as the operator sets it: in msat, or in fiat converted at the current rate when an order is made. */
export const Price = z.discriminatedUnion("unit", [
  z.object({ unit: z.literal("msat"), amountMsat: MsatString }),
  z.object({ unit: z.literal("fiat"), currency: CurrencyCode, amountMinor: z.int().min(0).max(1_000_000_000) }),
]);
export type Price = z.infer<typeof Price>;

/** A product in a slot, as the machine's config or the fleet's desired state defines it. */
export const Product = z.object({
  slot: SlotId,
  name: text(60).min(1),
  kind: ProductKindSchema,
  price: Price,
  /** Units (spiral) or servings (pour) on hand. */
  stock: z.int().min(0).max(10_000),
  capacity: z.int().min(1).max(10_000),
  /** Pour size in ml; required for `pour` products. */
  volumeMl: z.int().min(1).max(5_000).optional(),
  /** A short icon name or emoji shown on the kiosk. */
  icon: text(32).optional(),
  enabled: z.boolean().default(true),
}).check((ctx) => {
  const p = ctx.value;
  if (p.kind === "pour" && p.volumeMl === undefined) {
    ctx.issues.push({ code: "custom", message: "a pour product needs volumeMl", path: ["volumeMl"], input: p, params: { code: "missing_field" } });
  }
  if (p.kind === "mdb" && !/^S[0-9]{1,3}$/.test(p.slot)) {
    ctx.issues.push({ code: "custom", message: `an mdb product's slot is "S" and the VMC's selection number, e.g. "S12" (got ${p.slot})`, path: ["slot"], input: p, params: { code: "bad_value" } });
  }
  if (p.stock > p.capacity) {
    ctx.issues.push({ code: "custom", message: `stock ${p.stock} exceeds capacity ${p.capacity}`, path: ["stock"], input: p, params: { code: "out_of_range" } });
  }
});
export type Product = z.infer<typeof Product>;

/** The exchange rate used to turn fiat prices into msat, with its age so the kiosk can show it. */
export const Rate = z.object({
  currency: CurrencyCode,
  /** msat per one major unit of the currency (1 EUR, 1 JPY). */
  msatPerUnit: MsatString,
  source: text(64),
  fetchedAt: EpochMs,
});
export type Rate = z.infer<typeof Rate>;

/** One product as the kiosk shows it. */
export const CatalogEntry = z.object({
  slot: SlotId,
  name: text(60),
  kind: ProductKindSchema,
  icon: text(32).optional(),
  volumeMl: z.int().min(1).max(5_000).optional(),
  /** The price in msat now, or null when a fiat price cannot be converted (no fresh rate). */
  priceMsat: MsatString.nullable(),
  /** The price in fiat, when the operator set one or a rate is known. */
  fiat: FiatAmount.nullable(),
  stock: z.int().min(0),
  soldOut: z.boolean(),
  enabled: z.boolean(),
  /** The fleet product's names per language (issue #18); the kiosk falls back to `en`, then to `name`. */
  names: ProductNames.optional(),
  /** The product's picture, present once the machine has it stored: `url` is `/pictures/<sha256>` on the machine. */
  picture: z.object({
    url: z.string().regex(/^\/pictures\/[0-9a-f]{64}$/, "a picture url is /pictures/<sha256>"),
    width: z.int().min(1).max(MAX_PICTURE_SIDE),
    height: z.int().min(1).max(MAX_PICTURE_SIDE),
  }).optional(),
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

/** `GET /api/catalog`. */
export const Catalog = z.object({
  machineId: MachineId,
  currency: CurrencyCode,
  rate: Rate.nullable(),
  products: z.array(CatalogEntry).max(200),
});
export type Catalog = z.infer<typeof Catalog>;
