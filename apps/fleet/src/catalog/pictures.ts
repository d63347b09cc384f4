// A catalog picture as the fleet makes it: any common photo in, a WebP of at most MAX_PICTURE_BYTES (40 KB) out,
// resized to fit a kiosk tile, turned upright (EXIF orientation), its metadata dropped. Decoding and encoding are
// sharp's (libvips, prebuilt for linux-x64 and linux-arm64). What cannot be decoded is refused with a coded error.
import { createHash } from "node:crypto";
import sharp from "sharp";
import { MAX_PICTURE_BYTES, MAX_PICTURE_UPLOAD_BYTES, sniffPictureType, type PictureRef } from "@zapvend/protocol";
import { FleetError } from "../errors.js";

export const PictureErrorCode = {
  /** Not an image sharp can decode, or a truncated one. */
  BAD_IMAGE: "bad_image",
  /** An image of a kind the fleet does not take (e.g. SVG, which can reference other files). */
  UNSUPPORTED_IMAGE: "unsupported_image",
  /** More than MAX_PICTURE_UPLOAD_BYTES, or more pixels than MAX_SOURCE_PIXELS. */
  TOO_LARGE: "too_large",
  /** Even the smallest size and quality tried do not fit MAX_PICTURE_BYTES (a pathological image). */
  DOES_NOT_FIT: "picture_does_not_fit",
} as const;

/** The input formats taken (sharp's `metadata().format` names). */
const ACCEPTED_FORMATS = new Set(["jpeg", "png", "webp", "gif", "heif", "avif", "tiff"]);
/** The largest decoded image taken (about a 100-megapixel photo): a decompression bomb is refused before decoding. */
export const MAX_SOURCE_PIXELS = 100_000_000;
/** The longest side of a picture the fleet makes: a kiosk tile is about 200 CSS px, at 2x that is 400. */
const SIDES = [480, 400, 320, 240, 160];
const QUALITIES = [80, 70, 60, 50, 40, 30];

export interface CompressedPicture {
  ref: PictureRef;
  data: Buffer;
  quality: number;
  sourceWidth: number;
  sourceHeight: number;
}

/**
 * Compresses `input` to a WebP within the budget: the largest side first at falling quality, then smaller sides,
 * until it fits. Deterministic for the same input (so the same upload gives the same sha256).
 */
export async function compressPicture(input: Buffer, budget = MAX_PICTURE_BYTES): Promise<CompressedPicture> {
  if (input.length === 0) throw new FleetError(PictureErrorCode.BAD_IMAGE, "the picture is empty", 400);
  if (input.length > MAX_PICTURE_UPLOAD_BYTES) throw new FleetError(PictureErrorCode.TOO_LARGE, `the picture is larger than ${MAX_PICTURE_UPLOAD_BYTES} bytes`, 413);
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    meta = await sharp(input, { limitInputPixels: MAX_SOURCE_PIXELS, animated: false }).metadata();
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) throw new FleetError(PictureErrorCode.TOO_LARGE, `the picture has more than ${MAX_SOURCE_PIXELS} pixels`, 413);
    throw new FleetError(PictureErrorCode.BAD_IMAGE, `not a picture the fleet can read: ${message}`, 400);
  }
  if (!meta.format || !ACCEPTED_FORMATS.has(meta.format)) {
    throw new FleetError(PictureErrorCode.UNSUPPORTED_IMAGE, `a ${meta.format ?? "unknown"} image is not taken: send a JPEG, PNG, WebP, AVIF, HEIF, GIF or TIFF`, 415);
  }
  const w = meta.autoOrient?.width ?? meta.width;
  const h = meta.autoOrient?.height ?? meta.height;
  if (!w || !h) throw new FleetError(PictureErrorCode.BAD_IMAGE, "the picture has no size", 400);
  if (w * h > MAX_SOURCE_PIXELS) throw new FleetError(PictureErrorCode.TOO_LARGE, `the picture has more than ${MAX_SOURCE_PIXELS} pixels`, 413);
  for (const side of SIDES) {
    for (const quality of QUALITIES) {
      let out: { data: Buffer; info: { width: number; height: number } };
      try {
        out = await sharp(input, { limitInputPixels: MAX_SOURCE_PIXELS, animated: false, failOn: "error" })
          .rotate()
          .resize({ width: side, height: side, fit: "inside", withoutEnlargement: true })
          .webp({ quality, effort: 4, smartSubsample: true })
          .toBuffer({ resolveWithObject: true });
      } catch (err) {
        throw new FleetError(PictureErrorCode.BAD_IMAGE, `the picture could not be decoded: ${(err as Error).message}`, 400);
      }
      if (out.data.length > budget) continue;
      if (sniffPictureType(out.data) !== "image/webp") throw new FleetError(PictureErrorCode.BAD_IMAGE, "the encoder did not produce a WebP", 500);
      const sha256 = createHash("sha256").update(out.data).digest("hex");
      return {
        ref: { sha256, type: "image/webp", bytes: out.data.length, width: out.info.width, height: out.info.height },
        data: out.data,
        quality,
        sourceWidth: w,
        sourceHeight: h,
      };
    }
  }
  throw new FleetError(PictureErrorCode.DOES_NOT_FIT, `the picture does not fit ${budget} bytes even at ${SIDES.at(-1)} px and quality ${QUALITIES.at(-1)}`, 422);
}
