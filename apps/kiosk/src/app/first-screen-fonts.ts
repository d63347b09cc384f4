// The fonts the catalog screen draws its text in (family stack, weight, size), for index.html to lay out while the
// kiosk's script downloads and compiles. The first layout of a page opens every font it uses at every size: a
// synchronous round trip to Chromium's browser process for each family and size (and for the emoji, a font of
// ~10 MB), measured at 4x CPU throttle (bench/kiosk-first-paint) as 170-400 ms of the first layout's 235-410 ms.
// Done before the kiosk runs, in the time the main thread would wait for its script anyway, the kiosk's own first
// layout finds them in the renderer's font cache (its font look-ups then cost ~1 ms).
//
// Only a matter of speed: a size missing here is opened by the kiosk's layout, as before. `first-paint.browser.test.ts`
// checks that every text of the catalog screen is in a font of this list, so a style change that adds a size says so.
import { CJK_FONT_STACK, EMOJI_FONT_STACK, FONT_STACK } from "./glyphs.js";

export interface ScreenFont {
  /** CSS font-family, as the screen's styles give it (and getComputedStyle serialises it). */
  family: string;
  /** CSS font-weight, numeric. */
  weight: number;
  /** CSS font-size in px. */
  sizePx: number;
  /** Text to lay out in it: the scripts it is used for (Latin, the CJK language names, an emoji icon). */
  text: string;
}

const latin = (weight: number, sizePx: number): ScreenFont => ({ family: FONT_STACK, weight, sizePx, text: "Aa0" });

export const FIRST_SCREEN_FONTS: readonly ScreenFont[] = [
  latin(400, 20), // the screen's own size: buttons, the badge's line
  latin(700, 30), // h1
  latin(400, 18), // language buttons, sats
  latin(700, 22), // product names
  latin(800, 28), // fiat prices
  latin(800, 20), // "sold out" badge
  latin(400, 15), // footer: the rate's age, machine id, service button
  { family: CJK_FONT_STACK, weight: 400, sizePx: 18, text: "日本語中文" }, // the Japanese and Chinese buttons
  { family: EMOJI_FONT_STACK, weight: 400, sizePx: 40, text: "🍫" }, // product icons
];

/** The list as index.html's inline script takes it: `[cssFontShorthand, text]` pairs. */
export function fontWarmupJson(): string {
  return JSON.stringify(FIRST_SCREEN_FONTS.map((f) => [`${f.weight} ${f.sizePx}px ${f.family}`, f.text]));
}
