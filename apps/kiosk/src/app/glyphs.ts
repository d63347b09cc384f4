// Which glyphs this screen can really draw. The Pi's Chromium draws a character no installed font has as an empty
// box ("tofu"); a buyer cannot read a box. A grapheme is drawn on a small canvas in the kiosk's own font stack and
// compared with a code point no font has (U+10FFFD, private use): the same pixels, or none at all, mean the fonts
// lack it. The answer is cached per text: the fonts of a running kiosk do not change.

/** The kiosk's font stack: the system's UI font, Noto for Latin and CJK, Noto Color Emoji for the product icons. */
export const FONT_STACK = `system-ui, "Noto Sans", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Color Emoji", sans-serif`;
/**
 * The same stack led by the font that draws the text, for the first screen's emoji icons and the Japanese and Chinese
 * language buttons (their own names): laying out a glyph the leading font lacks makes Chromium open each font of the
 * stack in turn at that size (the CJK ones are ~20 MB collections) until one has it, on the main thread. Seen in a
 * Chromium trace of bench/kiosk-first-paint: the emoji walked system-ui, Noto Sans and both CJK fonts before Noto
 * Color Emoji. Where the leading font is missing, the rest of the stack applies as before.
 */
export const EMOJI_FONT_STACK = `"Noto Color Emoji", ${FONT_STACK}`;
/** The CJK fonts in the order of FONT_STACK: the Chinese button is drawn by the font already opened for the Japanese one. */
export const CJK_FONT_STACK = `"Noto Sans CJK JP", ${FONT_STACK}`;

const PROBE_PX = 32;
/** Plane 16 private use: drawn as the font's missing-glyph box (or nothing), whatever fonts are installed. */
const MISSING = "\u{10FFFD}";

let ctx: CanvasRenderingContext2D | null | undefined;
const cache = new Map<string, boolean>();
let missingPixels: Uint8ClampedArray | null | undefined;
/**
 * Probing draws on a canvas and makes Chromium find and load the emoji and CJK fonts: some 300-400 ms of a Pi-class
 * CPU (measured with bench/kiosk-first-paint, 4x CPU throttle: first products p50 ~1,000 ms with the probes before
 * the first render, ~680 ms without). So the first screen is drawn optimistically (every text counts as drawable),
 * and the kiosk calls `startProbing()` once its first products are painted, then renders again with the real
 * answers: on a Pi without the fonts a box shows for that one moment, never for longer.
 */
let probing = false;

/** From now on `canRender` really probes (the kiosk re-renders after calling this). */
export function startProbing(): void {
  probing = true;
}

/** Whether `canRender` answers from real probes yet. */
export function probingStarted(): boolean {
  return probing;
}

function pixels(text: string): Uint8ClampedArray | null {
  if (ctx === undefined) {
    const canvas = document.createElement("canvas");
    canvas.width = PROBE_PX * 3;
    canvas.height = PROBE_PX * 2;
    ctx = canvas.getContext("2d", { willReadFrequently: true });
  }
  if (!ctx) return null;
  ctx.clearRect(0, 0, PROBE_PX * 3, PROBE_PX * 2);
  ctx.font = `${PROBE_PX}px ${FONT_STACK}`;
  ctx.textBaseline = "middle";
  ctx.fillStyle = "#000";
  ctx.fillText(text, 4, PROBE_PX);
  return ctx.getImageData(0, 0, PROBE_PX * 3, PROBE_PX * 2).data;
}

function same(a: Uint8ClampedArray, b: Uint8ClampedArray): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function graphemes(text: string): string[] {
  return typeof Intl.Segmenter === "function" ? [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)].map((s) => s.segment) : Array.from(text);
}

/**
 * True when every grapheme of `text` is drawn by an installed font (ASCII is taken as drawn: every font has it);
 * before `startProbing()`, always true.
 */
export function canRender(text: string): boolean {
  if (!probing) return true;
  const known = cache.get(text);
  if (known !== undefined) return known;
  let ok = true;
  // The missing-glyph box is drawn once: the fonts of a running kiosk do not change.
  if (missingPixels === undefined) missingPixels = pixels(MISSING)?.slice() ?? null;
  const missing = missingPixels;
  if (missing) {
    for (const g of graphemes(text)) {
      if (/^[\x20-\x7e]$/.test(g) || /^\s+$/.test(g)) continue;
      const drawn = pixels(g);
      if (!drawn || same(drawn, missing) || drawn.every((v, i) => i % 4 !== 3 || v === 0)) {
        ok = false;
        break;
      }
    }
  }
  cache.set(text, ok);
  return ok;
}
