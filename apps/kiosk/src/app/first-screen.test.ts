// The daemon's pre-rendered first screen (first-screen.ts), as a string: when there is one, what it says, and that
// nothing from the catalog becomes markup. In Chromium: first-screen.browser.test.ts.
import { readFileSync } from "node:fs";
import type { Catalog, CatalogEntry, MachineStatusView } from "@zapvend/protocol";
import { describe, expect, it } from "vitest";
import { FIRST_SCREEN_MARKER, escapeHtml, firstScreenCss, firstScreenHtml, withFirstScreen } from "./first-screen.js";

const NOW = Date.UTC(2026, 11, 8, 12, 0, 0);
const PAGE = readFileSync(new URL("./index.html", import.meta.url), "utf8").replace("%SCRIPT%", "kiosk-ABC123.js");

function entry(over: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    slot: "A1",
    name: "Crisps",
    kind: "spiral",
    icon: "🥔",
    enabled: true,
    soldOut: false,
    stock: 3,
    priceMsat: "1500000",
    fiat: { currency: "EUR", amountMinor: 150 },
    ...over,
  } as CatalogEntry;
}

function boot(opts: { products?: CatalogEntry[]; status?: Partial<MachineStatusView>; order?: unknown } = {}) {
  const catalog = { machineId: "m-1", rate: { source: "fixed", fetchedAt: NOW - 3 * 60_000 }, products: opts.products ?? [entry()] } as unknown as Catalog;
  return { v: 1, status: { selling: true, ...opts.status } as MachineStatusView, catalog, order: opts.order ?? null };
}

describe("first screen: when", () => {
  it("is the catalog of a selling machine with no order to show", () => {
    expect(firstScreenHtml(boot(), null, NOW)).toContain('data-screen="catalog"');
    // A pending or expired order of a previous page is not shown again after a reload: the catalog.
    expect(firstScreenHtml(boot({ order: { state: "pending", kind: "spiral" } }), null, NOW)).not.toBeNull();
    expect(firstScreenHtml(boot({ order: { state: "expired" } }), null, NOW)).not.toBeNull();
  });

  it("is none where the kiosk starts on another screen", () => {
    expect(firstScreenHtml(boot({ status: { selling: false } }), null, NOW)).toBeNull();
    expect(firstScreenHtml(boot({ status: { mdb: { selling: true } } as unknown as Partial<MachineStatusView> }), null, NOW)).toBeNull();
    for (const state of ["held", "dispensing", "completed", "refunded", "credited"]) {
      expect(firstScreenHtml(boot({ order: { state } }), null, NOW)).toBeNull();
    }
    expect(firstScreenHtml(boot({ order: { state: "pending", kind: "mdb" } }), null, NOW)).toBeNull();
    expect(firstScreenHtml(null, null, NOW)).toBeNull();
    expect(firstScreenHtml({ v: 2, status: {}, catalog: { products: [] } }, null, NOW)).toBeNull();
  });
});

describe("first screen: what", () => {
  it("draws each shown product as the kiosk does: name, icon or lazy sized picture, prices, badges", () => {
    const html = firstScreenHtml(
      boot({
        products: [
          entry(),
          entry({ slot: "A2", name: "Gone", soldOut: true, stock: 0 }),
          entry({ slot: "A3", name: "Off", enabled: false }),
          entry({ slot: "B1", name: "Pic", picture: { url: "/pictures/" + "a".repeat(64), width: 480, height: 360 } } as Partial<CatalogEntry>),
        ],
      }),
      null,
      NOW,
    )!;
    expect(html).toContain('<button class="product" data-slot="A1"><span class="top"><span class="icon" aria-hidden="true" data-icon>🥔</span>');
    expect(html).toContain('<span class="fiat" data-fiat>€1.50</span><br><span class="sats" data-sats>1,500 sats</span>');
    expect(html).toContain('data-slot="A2" disabled>');
    expect(html).toContain('<span class="badge">Sold out</span>');
    // Disabled and not sold out: not on the catalog at all (as the kiosk filters it).
    expect(html).not.toContain('data-slot="A3"');
    expect(html).toContain(`<img class="pic card" src="/pictures/${"a".repeat(64)}" width="480" height="360" loading="lazy" decoding="async" alt="" data-picture>`);
    expect(html).toContain("<span class=\"grow\" data-rate>Rate fixed, 3 min old</span><span>m-1</span>");
  });

  it("speaks the page's language (?lang=), English when unknown", () => {
    const fr = firstScreenHtml(boot({ products: [entry({ names: { en: "Crisps", fr: "Chips" } } as Partial<CatalogEntry>)] }), "fr", NOW)!;
    expect(fr).toContain("<h1>Choisissez un produit</h1>");
    expect(fr).toContain('<button lang="fr" aria-pressed="true">Français</button>');
    expect(fr).toContain("data-name>Chips</span>");
    expect(firstScreenHtml(boot(), "xx", NOW)).toContain("<h1>Choose a product</h1>");
  });

  it("escapes every text and attribute from the catalog", () => {
    const hostile = `<img src=x onerror="alert(1)">Crisps & 'Co'</span></button><script>alert(2)</script>`;
    const html = firstScreenHtml(
      boot({ products: [entry({ name: hostile, slot: 'A1" onclick="x', icon: "<b>" })] }),
      null,
      NOW,
    )!;
    expect(html).not.toMatch(/<img|<script|<b>|onclick="x"/);
    expect(html).toContain(escapeHtml(hostile));
    expect(html).toContain('data-slot="A1&#34; onclick=&#34;x"');
    expect(escapeHtml(`<>&"'`)).toBe("&#60;&#62;&#38;&#34;&#39;");
  });

  it("nests the kiosk's CSS under [data-first-screen] (the shadow root's :host is that element)", () => {
    const css = firstScreenCss();
    expect(css.startsWith("[data-first-screen]{")).toBe(true);
    expect(css).not.toContain(":host");
    // @keyframes may not sit inside a style rule: kept at the top level.
    expect(css).toMatch(/\}@keyframes spin/);
  });
});

describe("first screen: the page", () => {
  it("puts the screen in place of the marker and imports the module after the first frame instead of blocking it", () => {
    expect(PAGE).toContain('<script type="module" src="./kiosk-ABC123.js" blocking="render"></script>');
    const page = withFirstScreen(PAGE, boot(), "ja", NOW);
    expect(page).not.toContain(FIRST_SCREEN_MARKER);
    expect(page).toContain('<zapvend-kiosk><div data-first-screen lang="ja"><style>[data-first-screen]{');
    expect(page).not.toMatch(/<script type="module"/);
    expect(page).toContain('<link rel="modulepreload" href="./kiosk-ABC123.js" />');
    expect(page).toContain('requestAnimationFrame(function(){setTimeout(go,0);});setTimeout(go,1000);');
    expect(page).toContain('import("./kiosk-ABC123.js")');
  });

  it("leaves the page as it is without a first screen or without its marker", () => {
    expect(withFirstScreen(PAGE, boot({ status: { selling: false } }), null, NOW)).toBe(PAGE);
    const unmarked = PAGE.replace(FIRST_SCREEN_MARKER, "");
    expect(withFirstScreen(unmarked, boot(), null, NOW)).toBe(unmarked);
  });
});
