// The fleet catalog on the wire (issue #18): products in the signed desired state, pictures addressed by their
// sha256 and carried over MQTT as raw bytes. Shared by the fleet (which writes them) and the machine (which checks,
// stores and serves them). Topics: `topics.picture()` and `parsePictureTopic()` in mqtt-topics.ts. The contract: /work/wt/catalog-contract.md of the #18 session, summarised in DESIGN.md.
import { z } from "zod";
import { text } from "./common.js";

/** A fleet product's id: lower-case letters, digits and dashes, at most 40, starting with a letter or digit. */
export const ProductId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a product id is lower-case letters, digits and dashes, e.g. "crisps-salt"');
export type ProductId = z.infer<typeof ProductId>;

/** The languages a product name may be given in; `en` is required and is the fallback of the others. */
export const CATALOG_LANGUAGES = ["en", "fr", "ja", "zh"] as const;
export type CatalogLanguage = (typeof CATALOG_LANGUAGES)[number];

/** A product's name per language. */
export const ProductNames = z.strictObject({
  en: text(60).min(1),
  fr: text(60).min(1).optional(),
  ja: text(60).min(1).optional(),
  zh: text(60).min(1).optional(),
});
export type ProductNames = z.infer<typeof ProductNames>;

/** The name in `lang`, falling back to `en` when that language is missing (or `lang` is not one of ours). */
export function productName(names: ProductNames, lang: string): string {
  const n = (CATALOG_LANGUAGES as readonly string[]).includes(lang) ? names[lang as CatalogLanguage] : undefined;
  return n ?? names.en;
}

/** Largest picture a machine accepts, in bytes (the fleet compresses every picture to fit). */
export const MAX_PICTURE_BYTES = 40_960;
/** Largest width or height of a picture the fleet produces (px). */
export const MAX_PICTURE_SIDE = 1024;

export const PictureType = z.enum(["image/webp", "image/avif"]);
export type PictureType = z.infer<typeof PictureType>;

/** The file extension a machine stores a picture under: `pictures/<sha256>.<ext>`. */
export const PICTURE_EXTENSION: Readonly<Record<PictureType, "webp" | "avif">> = { "image/webp": "webp", "image/avif": "avif" };

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected a sha256 as 64 lower-case hex digits");

/** A picture as a desired state references it: its hash (which also names its MQTT topic), type, size and pixels. */
export const PictureRef = z.strictObject({
  sha256: Sha256Hex,
  type: PictureType,
  bytes: z.int().min(1).max(MAX_PICTURE_BYTES),
  width: z.int().min(1).max(MAX_PICTURE_SIDE),
  height: z.int().min(1).max(MAX_PICTURE_SIDE),
});
export type PictureRef = z.infer<typeof PictureRef>;

/** A product in the desired state: what a slot assigned to it shows (its price stays on the slot). */
export const DesiredProduct = z.strictObject({
  names: ProductNames,
  icon: text(32).optional(),
  picture: PictureRef.optional(),
});
export type DesiredProduct = z.infer<typeof DesiredProduct>;

/** Most products one desired state may carry (a machine has at most 200 slots). */
export const MAX_DESIRED_PRODUCTS = 200;

/** The map `products` of a desired state. */
export const DesiredProducts = z
  .record(ProductId, DesiredProduct)
  .refine((r) => Object.keys(r).length <= MAX_DESIRED_PRODUCTS, { error: `at most ${MAX_DESIRED_PRODUCTS} products`, params: { code: "out_of_range" } });

/**
 * The code a machine refuses a desired state with when a slot names a product the same state does not define.
 * (A machine refuses unknown slots the same way.)
 */
export const UNKNOWN_PRODUCT = "unknown_product";

/** The products named by the slots of a desired state that its `products` do not define (empty when consistent). */
export function unknownSlotProducts(desired: { products?: Record<string, unknown> | undefined; slots?: Record<string, { product?: string | undefined }> | undefined }): string[] {
  const out: string[] = [];
  for (const [slot, s] of Object.entries(desired.slots ?? {})) {
    if (s.product !== undefined && !Object.hasOwn(desired.products ?? {}, s.product)) out.push(`${slot}:${s.product}`);
  }
  return out;
}

/** The hashes of every picture a desired state references, once each. */
export function desiredPictureHashes(desired: { products?: Record<string, { picture?: { sha256: string } | undefined }> | undefined }): string[] {
  const set = new Set<string>();
  for (const p of Object.values(desired.products ?? {})) if (p.picture) set.add(p.picture.sha256);
  return [...set];
}

/**
 * The picture type its first bytes show: WebP is `RIFF<size>WEBP`, AVIF an ISO-BMFF `ftyp` box of brand `avif` or
 * `avis`. Null for anything else. Checks the magic only; the hash and size are checked separately.
 */
export function sniffPictureType(bytes: Uint8Array): PictureType | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  if (bytes.length >= 12 && ascii(4, 8) === "ftyp" && ["avif", "avis"].includes(ascii(8, 12))) return "image/avif";
  return null;
}
