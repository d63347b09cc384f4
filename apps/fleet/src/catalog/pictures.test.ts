// Pictures as the fleet makes them: a large photo in, a WebP of at most 40 KB out; anything else a coded refusal.
import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { MAX_PICTURE_BYTES, sniffPictureType } from "@zapvend/protocol";
import { FleetError } from "../errors.js";
import { compressPicture } from "./pictures.js";

/** A 12-megapixel "photo": gradients with sensor-like noise (noise is what makes photos hard to compress). */
export async function largePhoto(width = 4000, height = 3000): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const noise = randomBytes(raw.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = ((x * 255) / width + (noise[i]! % 48)) & 255;
      raw[i + 1] = ((y * 255) / height + (noise[i + 1]! % 48)) & 255;
      raw[i + 2] = (((x + y) >> 4) + (noise[i + 2]! % 48)) & 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}

async function refusal(input: Buffer): Promise<{ code: string; status: number }> {
  try {
    await compressPicture(input);
  } catch (err) {
    expect(err).toBeInstanceOf(FleetError);
    return { code: (err as FleetError).code, status: (err as FleetError).status };
  }
  throw new Error("accepted");
}

describe("catalog pictures", () => {
  it("turns a 12-megapixel JPEG of several MB into a WebP of at most 40 KB, at most 480 px a side", async () => {
    const photo = await largePhoto();
    expect(photo.length).toBeGreaterThan(3_000_000);
    const r = await compressPicture(photo);
    expect(r.data.length).toBeLessThanOrEqual(MAX_PICTURE_BYTES);
    expect(r.ref.bytes).toBe(r.data.length);
    expect(sniffPictureType(r.data)).toBe("image/webp");
    expect(r.ref.sha256).toBe(createHash("sha256").update(r.data).digest("hex"));
    expect([r.ref.width, r.ref.height, r.sourceWidth, r.sourceHeight]).toEqual([480, 360, 4000, 3000]);
    const decoded = await sharp(r.data).metadata();
    expect([decoded.format, decoded.width, decoded.height]).toEqual(["webp", 480, 360]);
    // The same upload gives the same picture (the same hash): an operator uploading twice stores it once.
    expect((await compressPicture(photo)).ref.sha256).toBe(r.ref.sha256);
    console.info(`[picture size] ${photo.length} B JPEG 4000x3000 -> ${r.data.length} B WebP ${r.ref.width}x${r.ref.height} at quality ${r.quality}`);
  }, 60_000);

  it("lowers quality, then size, until pure noise fits, and never enlarges a small image", async () => {
    const noise = await sharp(randomBytes(1200 * 1200 * 3), { raw: { width: 1200, height: 1200, channels: 3 } }).png().toBuffer();
    const r = await compressPicture(noise);
    expect(r.data.length).toBeLessThanOrEqual(MAX_PICTURE_BYTES);
    expect(r.quality < 80 || r.ref.width < 480).toBe(true);
    const small = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#c33" } }).png().toBuffer();
    expect((await compressPicture(small)).ref).toMatchObject({ width: 64, height: 48, type: "image/webp" });
  }, 60_000);

  it("refuses what is not a picture, a truncated one, SVG, an empty one and a decompression bomb, with codes", async () => {
    expect(await refusal(Buffer.from("this is not an image at all, just text"))).toEqual({ code: "bad_image", status: 400 });
    const jpeg = await sharp({ create: { width: 300, height: 300, channels: 3, background: "#0a0" } }).jpeg().toBuffer();
    expect((await refusal(jpeg.subarray(0, 200))).code).toBe("bad_image");
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    expect(await refusal(svg)).toEqual({ code: "unsupported_image", status: 415 });
    expect(await refusal(Buffer.alloc(0))).toEqual({ code: "bad_image", status: 400 });
    // 20000 x 20000 declared in the header of a tiny PNG: refused from its header, never decoded.
    const bomb = await sharp({ create: { width: 1, height: 1, channels: 3, background: "#000" } }).png().toBuffer();
    bomb.writeUInt32BE(20_000, 16);
    bomb.writeUInt32BE(20_000, 20);
    bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
    expect(await refusal(bomb)).toEqual({ code: "too_large", status: 413 });
  }, 60_000);
});
