// A product as the buyer sees it (issue #18): the fleet's picture, served by the machine at `/pictures/<sha256>`
// (never from the internet), lazy and with its size given so nothing moves when it arrives; the name in the buyer's
// language, falling back to English, then to the slot's own name; without a picture (none set, not fetched yet, or
// failing to load) the emoji icon, or a plain tile where no font draws the emoji.
import { html, unsafeCSS, type TemplateResult } from "lit";
import type { CatalogEntry } from "@zapvend/protocol";
import { canRender } from "./glyphs.js";
import { PICTURE_CSS } from "./kiosk-css.js";
export { entryName } from "./product-name.js";

/** Pictures that failed to load on this screen: their products show the icon from then on (until a reload). */
const broken = new Set<string>();

/**
 * The picture of a product, or its icon. `onBroken` is called once when the picture fails to load (the screen
 * renders again and gets the icon). `size` is the CSS box in px; the picture keeps its aspect ratio inside it.
 */
export function productVisual(p: Pick<CatalogEntry, "slot" | "kind" | "icon" | "picture">, onBroken: () => void, size: "card" | "title" = "card"): TemplateResult {
  const pic = p.picture;
  if (pic && !broken.has(pic.url)) {
    return html`<img
      class="pic ${size}"
      src=${pic.url}
      width=${pic.width}
      height=${pic.height}
      loading="lazy"
      decoding="async"
      alt=""
      data-picture
      @error=${() => {
        broken.add(pic.url);
        onBroken();
      }}
    />`;
  }
  const icon = p.icon ?? (p.kind === "pour" ? "🥤" : "🍫");
  return canRender(icon)
    ? html`<span class="icon" aria-hidden="true" data-icon>${icon}</span>`
    : // No emoji font: a plain tile with the slot, never an empty box.
      html`<span class="icon placeholder" aria-hidden="true" data-icon-fallback>${p.slot}</span>`;
}

/** The picture's box: fixed, so the card's layout is the same before, during and after the picture loads. */
export const pictureStyles = unsafeCSS(PICTURE_CSS);
