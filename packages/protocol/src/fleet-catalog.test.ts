import { describe, expect, it } from "vitest";
import {
  CatalogEntry,
  DesiredStatePayload,
  MAX_PICTURE_BYTES,
  ProductUpsertRequest,
  SlotAssignmentRequest,
  desiredPictureHashes,
  parseMqttMessage,
  parsePictureTopic,
  parseTopic,
  productName,
  sniffPictureType,
  topics,
  unknownSlotProducts,
} from "./index.js";

const sha = "ab".repeat(32);
const envelope = { v: 1, id: "desired-0001", ts: 1_700_000_000_000, boot: 0, seq: 1 } as const;
const picture = { sha256: sha, type: "image/webp", bytes: 31_000, width: 400, height: 400 } as const;
const desired = {
  ...envelope,
  version: 3,
  aud: "m-1",
  slots: { A1: { price: { unit: "msat", amountMsat: "1500000" }, product: "crisps" }, S12: { product: "cola" } },
  products: {
    crisps: { names: { en: "Crisps", fr: "Chips", ja: "ポテトチップス", zh: "薯片" }, icon: "🥔", picture },
    cola: { names: { en: "Cola" } },
  },
};

describe("fleet catalog in the desired state (issue #18)", () => {
  it("carries products and slot products, and stays valid without them", () => {
    const r = DesiredStatePayload.safeParse(desired);
    expect(r.success).toBe(true);
    expect(DesiredStatePayload.safeParse({ ...envelope, version: 1, slots: { A1: { enabled: true } } }).success).toBe(true);
    const m = parseMqttMessage(topics.desired("m-1"), JSON.stringify(desired));
    expect(m.ok && m.value.topic.kind === "desired").toBe(true);
    expect(m.ok && (m.value.payload as DesiredStatePayload).products?.crisps?.picture?.sha256).toBe(sha);
  });

  it("refuses bad product ids, names without en, oversized pictures and unknown picture types", () => {
    const bad = (patch: object) => DesiredStatePayload.safeParse({ ...desired, ...patch }).success;
    expect(bad({ products: { "Crisps!": { names: { en: "x" } } } })).toBe(false);
    expect(bad({ products: { ["a".repeat(41)]: { names: { en: "x" } } } })).toBe(false);
    expect(bad({ products: { x: { names: { fr: "Chips" } } } })).toBe(false);
    expect(bad({ products: { x: { names: { en: "" } } } })).toBe(false);
    expect(bad({ products: { x: { names: { en: "x", de: "y" } } } })).toBe(false);
    expect(bad({ products: { x: { names: { en: "x" }, picture: { ...picture, bytes: MAX_PICTURE_BYTES + 1 } } } })).toBe(false);
    expect(bad({ products: { x: { names: { en: "x" }, picture: { ...picture, type: "image/png" } } } })).toBe(false);
    expect(bad({ products: { x: { names: { en: "x" }, picture: { ...picture, sha256: sha.toUpperCase() } } } })).toBe(false);
    expect(bad({ slots: { A1: { product: "No Such" } } })).toBe(false);
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`p${i}`, { names: { en: "x" } }]));
    expect(bad({ products: many })).toBe(false);
  });

  it("finds slots naming a product the state does not define, and the pictures it references", () => {
    expect(unknownSlotProducts(desired)).toEqual([]);
    expect(unknownSlotProducts({ ...desired, slots: { A1: { product: "tea" } } })).toEqual(["A1:tea"]);
    expect(unknownSlotProducts({ slots: { A1: { product: "toString" } } })).toEqual(["A1:toString"]);
    expect(desiredPictureHashes({ products: { a: { picture }, b: { picture }, c: {} } })).toEqual([sha]);
  });

  it("falls back to the English name", () => {
    const names = desired.products.crisps.names;
    expect(productName(names, "ja")).toBe("ポテトチップス");
    expect(productName({ en: "Cola" }, "fr")).toBe("Cola");
    expect(productName({ en: "Cola" }, "de")).toBe("Cola");
  });
});

describe("picture topics and bytes", () => {
  it("builds and parses zapvend/v1/pictures/<sha256>, refusing anything else", () => {
    expect(topics.picture(sha)).toBe(`zapvend/v1/pictures/${sha}`);
    expect(topics.picturesFilter()).toBe("zapvend/v1/pictures/#");
    expect(() => topics.picture("#")).toThrow(RangeError);
    expect(() => topics.picture(sha + "/x")).toThrow(RangeError);
    expect(parsePictureTopic(topics.picture(sha))).toEqual({ ok: true, value: { sha256: sha } });
    expect(parsePictureTopic(`zapvend/v1/pictures/${sha}/x`).ok).toBe(false);
    expect(parsePictureTopic("zapvend/v1/pictures/abc").ok).toBe(false);
    expect(parsePictureTopic(topics.desired("m-1")).ok).toBe(false);
    // The machine's topic parser never mistakes a picture for one of its own topics.
    expect(parseTopic(topics.picture(sha)).ok).toBe(false);
  });

  it("sniffs WebP and AVIF by their magic bytes only", () => {
    const bytes = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
    expect(sniffPictureType(bytes("RIFF\x10\x00\x00\x00WEBPVP8 "))).toBe("image/webp");
    expect(sniffPictureType(bytes("\x00\x00\x00\x1cftypavif\x00\x00"))).toBe("image/avif");
    expect(sniffPictureType(bytes("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d"))).toBeNull();
    expect(sniffPictureType(bytes("RIFF"))).toBeNull();
    expect(sniffPictureType(new Uint8Array(0))).toBeNull();
  });
});

describe("kiosk catalog entry and fleet API bodies", () => {
  const entry = { slot: "A1", name: "Crisps", kind: "spiral", priceMsat: "1500000", fiat: null, stock: 3, soldOut: false, enabled: true };
  it("a catalog entry may carry names and a machine-relative picture url", () => {
    expect(CatalogEntry.safeParse(entry).success).toBe(true);
    expect(CatalogEntry.safeParse({ ...entry, names: { en: "Crisps", fr: "Chips" }, picture: { url: `/pictures/${sha}`, width: 400, height: 300 } }).success).toBe(true);
    expect(CatalogEntry.safeParse({ ...entry, picture: { url: `https://cdn.example.com/${sha}`, width: 1, height: 1 } }).success).toBe(false);
  });

  it("product upsert and slot assignment bodies", () => {
    expect(ProductUpsertRequest.safeParse({ names: { en: "Crisps" }, price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, picture: sha, icon: "🥔" }).success).toBe(true);
    expect(ProductUpsertRequest.safeParse({ names: { en: "Crisps" }, price: { unit: "msat", amountMsat: 1500 } }).success).toBe(false);
    expect(ProductUpsertRequest.safeParse({ names: { en: "Crisps" }, price: { unit: "msat", amountMsat: "1500" }, extra: 1 }).success).toBe(false);
    expect(SlotAssignmentRequest.safeParse({ product: "crisps" }).success).toBe(true);
    expect(SlotAssignmentRequest.safeParse({ product: null }).success).toBe(true);
    expect(SlotAssignmentRequest.safeParse({ product: "crisps", price: { unit: "msat", amountMsat: "2000" } }).success).toBe(true);
  });
});
