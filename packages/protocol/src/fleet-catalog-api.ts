// The fleet's catalog HTTP API bodies (issue #18): `/api/catalog/...` and `/api/pictures/...`. The wire schemas the
// machine sees (products in the desired state, picture refs) are in fleet-catalog.ts.
import { z } from "zod";
import { EpochMs, MachineId, SlotId, text } from "./common.js";
import { Price } from "./catalog.js";
import { PictureRef, ProductId, ProductNames } from "./fleet-catalog.js";

/** A product as the fleet keeps it. */
export const FleetProduct = z.object({
  id: ProductId,
  names: ProductNames,
  icon: text(32).nullable(),
  picture: PictureRef.nullable(),
  price: Price,
  updatedAt: EpochMs,
});
export type FleetProduct = z.infer<typeof FleetProduct>;

/** `PUT /api/catalog/products/:id` (create or replace). `picture` is the sha256 of an uploaded picture, or null. */
export const ProductUpsertRequest = z.strictObject({
  names: ProductNames,
  icon: text(32).min(1).nullable().optional(),
  picture: z.string().regex(/^[0-9a-f]{64}$/, "a picture is the sha256 of an uploaded picture").nullable().optional(),
  price: Price,
});
export type ProductUpsertRequest = z.infer<typeof ProductUpsertRequest>;

/**
 * `PUT /api/catalog/machines/:id/slots/:slot`: assign a product to a slot (or MDB selection "S<n>"), or clear it
 * (`product: null`). `price` overrides the product's price for this slot; absent, the slot takes the product's.
 */
export const SlotAssignmentRequest = z.strictObject({
  product: ProductId.nullable(),
  price: Price.nullable().optional(),
});
export type SlotAssignmentRequest = z.infer<typeof SlotAssignmentRequest>;

/** One slot assignment. `price` is the override, null when the slot follows the product's price. */
export const SlotAssignment = z.object({
  machineId: MachineId,
  slot: SlotId,
  product: ProductId,
  price: Price.nullable(),
  updatedAt: EpochMs,
});
export type SlotAssignment = z.infer<typeof SlotAssignment>;

/** `GET /api/catalog`: every product and every assignment. */
export const CatalogResponse = z.object({
  products: z.array(FleetProduct),
  assignments: z.array(SlotAssignment),
});
export type CatalogResponse = z.infer<typeof CatalogResponse>;

/**
 * `POST /api/pictures` answer: the stored picture (WebP or AVIF, at most MAX_PICTURE_BYTES), with the size of what
 * was uploaded. The same image uploaded twice gives the same sha256.
 */
export const PictureUploadResponse = z.object({
  picture: PictureRef,
  sourceBytes: z.int().min(1),
  sourceWidth: z.int().min(1),
  sourceHeight: z.int().min(1),
  quality: z.int().min(1).max(100),
});
export type PictureUploadResponse = z.infer<typeof PictureUploadResponse>;

/** `POST /api/pictures` as JSON: the image bytes as base64 (the raw-bytes form takes the image type as content-type). */
export const PictureUploadJson = z.strictObject({
  dataBase64: z.string().min(1).max(14_000_000),
});
export type PictureUploadJson = z.infer<typeof PictureUploadJson>;

/** Largest upload the fleet takes (raw bytes). Bigger photos are refused with `too_large`. */
export const MAX_PICTURE_UPLOAD_BYTES = 10 * 1024 * 1024;
