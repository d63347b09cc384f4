// The product's name as the buyer reads it (issue #18), without lit: the screens (product-card.ts) and the daemon's
// pre-rendered first screen (first-screen.ts) name a product the same way.
import type { CatalogEntry } from "@zapvend/protocol";
import { canRender } from "./glyphs.js";
import type { Lang } from "./i18n.js";

/** The name in `lang` where the fleet gave one and a font draws it, else the English one, else the slot's name. */
export function entryName(p: Pick<CatalogEntry, "name" | "names">, lang: Lang): string {
  const names = p.names;
  if (!names) return p.name;
  const own = lang === "en" ? undefined : names[lang];
  // A name no installed font draws would be boxes: the English one says more.
  if (own !== undefined && canRender(own)) return own;
  return names.en;
}

