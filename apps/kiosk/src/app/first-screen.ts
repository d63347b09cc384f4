// The kiosk's first screen as plain HTML, for the machine's daemon to put into the index.html it serves (issue #18:
// first products painted within 500 ms at 4x CPU throttle). Built into `dist/kiosk/first-screen.mjs` beside the
// kiosk it belongs to, without lit and without the DOM: the daemon imports it from the kiosk folder it serves.
//
// Chromium paints these products while the kiosk's script is still downloading and compiling; the kiosk then attaches
// its shadow root (which hides this light-DOM copy at once: it has no slot), renders the same screen with lit in the
// same task, and removes the copy (kiosk-app.ts `firstUpdated`). Same markup as `renderCatalog` in kiosk-app.ts, the
// same CSS (kiosk-css.ts, nested under `[data-first-screen]`, which stands for the shadow root's `:host`): nothing
// moves when lit's screen replaces it. Every text and attribute value is escaped: product names come from the
// operator's catalog and the fleet.
import type { Catalog, CatalogEntry, MachineStatusView } from "@zapvend/protocol";
import { LANGS, LANG_NAME, formatAge, formatFiat, formatSats, isLang, t, type Lang } from "./i18n.js";
import { BASE_CSS, KIOSK_CSS, PICTURE_CSS } from "./kiosk-css.js";
import { entryName } from "./product-name.js";

/** Where index.html takes the pre-rendered screen: inside `<zapvend-kiosk>` (an HTML comment: harmless when left). */
export const FIRST_SCREEN_MARKER = "<!-- %ZAPVEND_FIRST_SCREEN% -->";

/** The daemon's snapshot as the kiosk reads it (`<script id="zapvend-boot">`, apps/machine http-server.ts). */
interface Boot {
  v: 1;
  status: MachineStatusView;
  catalog: Catalog;
  order: { state?: unknown; kind?: unknown } | null | undefined;
}

function isBoot(b: unknown): b is Boot {
  const x = b as Partial<Boot> | null;
  return typeof x === "object" && x !== null && x.v === 1 && typeof x.status === "object" && x.status !== null && Array.isArray(x.catalog?.products);
}

/** Text or an attribute value (always double-quoted here) as HTML: nothing in it can open or close markup. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The catalog screen the kiosk would render first from `boot`, as HTML, or null when its first screen is another one
 * (not selling, the keypad screen of an MDB machine, an order under way or just ended after a reload, no snapshot):
 * then the kiosk draws it itself. `lang` is the page's `?lang=` (English when absent or unknown), `now` the clock of
 * the rate's age.
 */
export function firstScreenHtml(boot: unknown, lang: string | null, now: number): string | null {
  if (!isBoot(boot)) return null;
  const { status, catalog, order } = boot;
  if (status.selling !== true || status.mdb !== undefined) return null;
  // The kiosk shows an order after a reload (held, dispensing, just completed/refunded/credited) or an MDB vend
  // request instead of the catalog: only a page with none, or a pending/expired order of its own, starts on it.
  if (order != null && (order.kind === "mdb" || (order.state !== "pending" && order.state !== "expired"))) return null;
  const l: Lang = isLang(lang) ? lang : "en";
  const m = (key: Parameters<typeof t>[1], vars?: Record<string, string | number>) => escapeHtml(t(l, key, vars));
  const langs = LANGS.map(
    (x) => `<button lang="${x}" aria-pressed="${x === l ? "true" : "false"}">${escapeHtml(LANG_NAME[x])}</button>`,
  ).join("");
  const products = catalog.products.filter((p) => p.enabled || p.soldOut).map((p) => productHtml(p, l));
  const rate = catalog.rate;
  const rateText = rate ? m("rateAge", { source: rate.source, age: formatAge(l, now - rate.fetchedAt) }) : "";
  return (
    `<div class="screen" data-screen="catalog">` +
    `<header><h1>${m("choose")}</h1><div class="langs row" role="group" aria-label="Language">${langs}</div></header>` +
    `<div class="grid">${products.join("")}</div>` +
    `<footer><span class="grow" data-rate>${rateText}</span><span>${escapeHtml(catalog.machineId ?? "")}</span>` +
    `<button aria-label="${m("service")}">⚙ ${m("service")}</button></footer>` +
    `</div>`
  );
}

/** One product card, as `renderProduct` in kiosk-app.ts draws it before the glyph probes ran. */
function productHtml(p: CatalogEntry, lang: Lang): string {
  const buyable = p.enabled && !p.soldOut && p.priceMsat !== null && p.stock > 0;
  const pic = p.picture;
  const visual = pic
    ? `<img class="pic card" src="${escapeHtml(pic.url)}" width="${Number(pic.width)}" height="${Number(pic.height)}" loading="lazy" decoding="async" alt="" data-picture>`
    : `<span class="icon" aria-hidden="true" data-icon>${escapeHtml(p.icon ?? (p.kind === "pour" ? "🥤" : "🍫"))}</span>`;
  const volume = p.volumeMl ? ` <span class="muted">${Number(p.volumeMl)} ml</span>` : "";
  const badge = (key: "soldOut" | "unavailable" | "noPrice") => `<span class="badge">${escapeHtml(t(lang, key))}</span>`;
  const price =
    p.soldOut || p.stock === 0
      ? badge("soldOut")
      : !p.enabled
        ? badge("unavailable")
        : p.priceMsat === null
          ? badge("noPrice")
          : `<span>${p.fiat ? `<span class="fiat" data-fiat>${escapeHtml(formatFiat(lang, p.fiat.currency, p.fiat.amountMinor))}</span><br>` : ""}` +
            `<span class="sats" data-sats>${escapeHtml(formatSats(lang, p.priceMsat))}</span></span>`;
  return (
    `<button class="product" data-slot="${escapeHtml(p.slot)}"${buyable ? "" : " disabled"}>` +
    `<span class="top">${visual}<span class="name" data-name>${escapeHtml(entryName(p, lang))}${volume}</span></span>` +
    `${price}</button>`
  );
}

/**
 * The kiosk's CSS for the light-DOM copy: every rule nested under `[data-first-screen]` (CSS nesting), `:host` being
 * that element itself; `@keyframes` (not allowed inside a style rule) stay at the top level.
 */
export function firstScreenCss(): string {
  const keyframes: string[] = [];
  const rules = [BASE_CSS, PICTURE_CSS, KIOSK_CSS]
    .join("\n")
    .replace(/@keyframes\s+[\w-]+\s*\{(?:[^{}]*\{[^{}]*\})*\s*\}/g, (k) => {
      keyframes.push(k);
      return "";
    })
    .replace(/:host\b/g, "&");
  return `[data-first-screen]{${rules}}${keyframes.join("")}`;
}

/** The kiosk's module script as built into index.html (its hashed name in `src`). */
const MODULE_SCRIPT = /<script type="module" src="(\.\/kiosk-[A-Za-z0-9]+\.js)"[^>]*><\/script>/;

/**
 * `page` (the kiosk's index.html, with the daemon's snapshot `boot`) with the first screen in place of
 * FIRST_SCREEN_MARKER, or `page` unchanged when the first screen is not the catalog or the page is not as built.
 *
 * The kiosk's module script then no longer runs before that screen's frame: a module script that is neither
 * render-blocking nor started later still runs as soon as the parser is done, before Chromium's first frame when its
 * file is there by then, and at 4x CPU throttle its evaluation and lit's first render take ~250-300 ms. So the
 * script is only `modulepreload`ed in the head (fetched while the page parses) and imported by a few lines at the
 * end of the screen from a task after the first frame (`requestAnimationFrame`, then a task), or after 1 s when no
 * frame comes (a hidden page). A product tapped before the kiosk took over is bought once it has.
 */
export function withFirstScreen(page: string, boot: unknown, lang: string | null, now = Date.now()): string {
  const script = MODULE_SCRIPT.exec(page);
  if (!script || !page.includes(FIRST_SCREEN_MARKER)) return page;
  const screen = firstScreenHtml(boot, lang, now);
  if (screen === null) return page;
  const src = script[1]!;
  const l = isLang(lang) ? lang : "en";
  // A tap on a product before the kiosk took over is kept for it (index.html's `window.zapvendEarly`, api.ts `tap`).
  const start =
    `<script>(function(){var done=false;function go(){if(done)return;done=true;import(${JSON.stringify(src)});}` +
    `document.currentScript.parentNode.addEventListener("click",function(e){var b=e.target.closest("button[data-slot]");` +
    `if(b&&!b.disabled&&window.zapvendEarly)window.zapvendEarly.tap=b.getAttribute("data-slot");});` +
    `requestAnimationFrame(function(){setTimeout(go,0);});setTimeout(go,1000);})();</script>`;
  const block = `<div data-first-screen lang="${l}"><style>${firstScreenCss()}</style>${screen}${start}</div>`;
  return page.replace(script[0], () => `<link rel="modulepreload" href="${src}" />`).replace(FIRST_SCREEN_MARKER, () => block);
}
