// No glyph of the catalog renders as a box, in any of the four languages, on a Pi's fonts: the fonts the Pi setup
// installs (hardware/pi-setup: fonts-noto-color-emoji, fonts-noto-cjk, beside the DejaVu that Raspberry Pi OS ships),
// and a Pi without them (DejaVu alone), where the kiosk must fall back (a plain tile for a product's emoji, Latin
// names for the language buttons, no language whose texts cannot be drawn).
//
// Chromium sees only the fonts a fontconfig file names (FONTCONFIG_FILE; the system's aliases still apply). The check: every grapheme of every text on
// the catalog is drawn on a canvas in its element's computed font and compared with U+10FFFD (private use, no font
// has it: the missing-glyph box); equal pixels, or no pixels, is a box.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeMachine, type FakeProduct } from "./__fixtures__/fake-machine.js";
import { KIOSK_DIR, VIEWPORT, launchChromium, shot } from "./__fixtures__/browser.js";

const DEJAVU = "/usr/share/fonts/truetype/dejavu";
const PI_FONT_FILES = ["/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"];
const piFontsInstalled = PI_FONT_FILES.every((f) => existsSync(f));
// CI installs them (.ci/run) and says so: there, missing fonts fail instead of skipping.
const required = process.env.ZAPVEND_REQUIRE_SERVICES === "1";

// The demo's products (scripts/start.mjs): emoji icons a buyer recognises the product by.
const products: FakeProduct[] = [
  { slot: "P1", name: "Lemonade", kind: "pour", priceMsat: "2500000", fiatMinor: 250, stock: 40, capacity: 40, volumeMl: 250, icon: "🍋" },
  { slot: "A1", name: "Crisps", kind: "spiral", priceMsat: "1500000", fiatMinor: 150, stock: 8, capacity: 10, icon: "🥔" },
  { slot: "A2", name: "Chocolate", kind: "spiral", priceMsat: "2000000", fiatMinor: 200, stock: 8, capacity: 10, icon: "🍫" },
  { slot: "A3", name: "Cookies", kind: "spiral", priceMsat: "1500000", fiatMinor: 150, stock: 0, capacity: 10, icon: "🍪" },
  { slot: "A4", name: "Nuts", kind: "spiral", priceMsat: "1800000", fiatMinor: 180, stock: 2, capacity: 10, icon: "🥜" },
];

function fontconfig(dirs: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-fonts-"));
  const file = path.join(dir, "fonts.conf");
  writeFileSync(
    file,
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n${dirs.map((d) => `  <dir>${d}</dir>`).join("\n")}\n  <include ignore_missing="yes">/etc/fonts/conf.d</include>\n  <cachedir>${path.join(dir, "cache")}</cachedir>\n</fontconfig>\n`,
  );
  return file;
}

function launch(fontDirs: string[]): Promise<Browser> {
  return launchChromium({ env: { ...process.env, FONTCONFIG_FILE: fontconfig(fontDirs) } });
}

/** Every grapheme on the screen (shadow roots included) that draws as the missing-glyph box, with where it is. */
function boxes(page: Page): Promise<Array<{ text: string; grapheme: string; font: string }>> {
  return page.evaluate(() => {
    const canvas = document.createElement("canvas");
    canvas.width = 160;
    canvas.height = 100;
    const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
    const draw = (g: string, font: string) => {
      ctx.clearRect(0, 0, 160, 100);
      ctx.font = font;
      ctx.textBaseline = "middle";
      ctx.fillText(g, 4, 50);
      return ctx.getImageData(0, 0, 160, 100).data;
    };
    const found: Array<{ text: string; grapheme: string; font: string }> = [];
    const seg = new Intl.Segmenter(undefined, { granularity: "grapheme" });
    const visit = (root: Node) => {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
      for (let n: Node | null = walker.currentNode; n; n = walker.nextNode()) {
        if (n instanceof Element && n.shadowRoot) visit(n.shadowRoot);
        if (n.nodeType !== Node.TEXT_NODE || !n.textContent?.trim()) continue;
        const el = n.parentElement!;
        const cs = getComputedStyle(el);
        if (cs.display === "none" || cs.visibility === "hidden") continue;
        // The element's own font at a measurable size.
        const font = `${cs.fontStyle} ${cs.fontWeight} 40px ${cs.fontFamily}`;
        const missing = draw("\u{10FFFD}", font);
        for (const { segment } of seg.segment(n.textContent)) {
          if (!segment.trim()) continue;
          const px = draw(segment, font);
          const blank = px.every((v, i) => i % 4 !== 3 || v === 0);
          if (blank || px.every((v, i) => v === missing[i])) found.push({ text: n.textContent.trim(), grapheme: segment, font: cs.fontFamily });
        }
      }
    };
    visit(document.body);
    return found;
  });
}

async function catalog(browser: Browser, url: string, lang: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
  await page.goto(`${url}/?lang=${lang}`);
  await page.locator('button[data-slot="A4"]').waitFor();
  // The probes run after the first products are painted; the screen then renders with their answers.
  await page.locator('zapvend-kiosk[data-glyphs="probed"]').waitFor({ state: "attached" });
  return page;
}

let machine: FakeMachine;
beforeAll(async () => {
  if (!existsSync(`${KIOSK_DIR}/index.html`)) throw new Error("build the kiosk first (npm run build -w @zapvend/kiosk)");
  machine = new FakeMachine({ kioskDir: KIOSK_DIR, products });
  await machine.start();
});
afterAll(async () => {
  await machine?.stop();
});

describe.skipIf(!piFontsInstalled && !required)("kiosk glyphs on the fonts the Pi setup installs (Noto Color Emoji, Noto CJK, DejaVu)", () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!piFontsInstalled) throw new Error(`the Pi's fonts are not installed (${PI_FONT_FILES.join(", ")}): apt install fonts-noto-color-emoji fonts-noto-cjk`);
    browser = await launch([DEJAVU, ...PI_FONT_FILES.map((f) => path.dirname(f))]);
  });
  afterAll(async () => browser?.close());
  const pages: Page[] = [];
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close();
  });

  it.each(["en", "fr", "ja", "zh"])("catalog in %s: no box, the products' own emoji, every language by its own name", async (lang) => {
    const page = await catalog(browser, machine.url, lang);
    pages.push(page);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe(lang);
    expect(await boxes(page)).toEqual([]);
    expect(await page.locator("[data-icon-fallback]").count()).toBe(0);
    expect(await page.locator('button[data-slot="P1"] .icon').textContent()).toBe("🍋");
    expect((await page.locator(".langs button").allTextContents()).map((s) => s.trim())).toEqual(["English", "Français", "日本語", "中文"]);
    await shot(page, `glyphs-pi-fonts-${lang}`);
  });
});

describe("kiosk glyphs on a Pi without the emoji and CJK fonts (DejaVu only)", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch([DEJAVU]);
  });
  afterAll(async () => browser?.close());
  const pages: Page[] = [];
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close();
  });

  it.each(["en", "fr", "ja", "zh"])("catalog asked in %s: no box; plain tiles for the emoji, Latin names for the languages", async (lang) => {
    const page = await catalog(browser, machine.url, lang);
    pages.push(page);
    expect(await boxes(page)).toEqual([]);
    // Japanese and Chinese cannot be drawn: the screen is in English rather than in boxes, and does not offer them.
    expect(await page.evaluate(() => document.documentElement.lang)).toBe(lang === "fr" ? "fr" : "en");
    expect(await page.locator("[data-icon-fallback]").count()).toBe(products.length);
    expect(await page.locator('button[data-slot="A1"] [data-icon-fallback]').textContent()).toBe("A1");
    const langs = page.locator(".langs button");
    expect((await langs.allTextContents()).map((s) => s.trim())).toEqual(["English", "Français", "Nihongo", "Zhongwen"]);
    expect(await page.locator(".langs button:disabled").count()).toBe(2);
    await shot(page, `glyphs-dejavu-only-${lang}`);
  });
});
