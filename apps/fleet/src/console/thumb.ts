// A product's picture as a thumbnail (the WebP the fleet serves by its sha256), or its icon in a box of the same
// size when it has no picture: the box is sized before the image loads, so nothing moves when it arrives.
import { html, type TemplateResult } from "lit";
import type { PictureRef } from "@zapvend/protocol";

export function thumb(p: PictureRef | null, size: number, icon: string | null): TemplateResult {
  if (!p) return html`<span class="thumb" style="width:${size}px;height:${size}px">${icon ?? "·"}</span>`;
  const scale = size / Math.max(p.width, p.height);
  return html`<img class="thumb" data-picture=${p.sha256} src="/api/pictures/${p.sha256}" alt="" loading="lazy"
    width=${Math.round(p.width * scale)} height=${Math.round(p.height * scale)} />`;
}
