// The console header's layout as the browser laid it out (console/styles.ts): whether the nav is one row, and the
// screenshots for review that assert it at each width. Used by the browser suites that write screenshots.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { expect } from "vitest";

/** Where the browser suites write their screenshots (and the pick list's PDF) for review: bench/results/. */
export const SCREENSHOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../bench/results");

export interface NavLayout {
  /** The nav's box and the header's, in CSS px. */
  nav: { x: number; y: number; width: number; height: number };
  header: { height: number };
  /** The tallest link's height: the nav is one row when its height is this. */
  linkHeight: number;
  /** The distinct tops of the links (one row: one value). */
  rows: number;
  /** Every link inside the nav's visible box (false: the nav scrolls sideways to show the rest). */
  allVisible: boolean;
  /** The header is wider than the page or has to scroll sideways (it never should: only the nav does). */
  headerOverflows: boolean;
}

export async function navLayout(page: Page): Promise<NavLayout> {
  return page.locator("header").evaluate((header) => {
    const nav = header.querySelector("nav")!;
    const n = nav.getBoundingClientRect();
    const links = [...nav.querySelectorAll("a")].map((a) => a.getBoundingClientRect());
    return {
      nav: { x: n.x, y: n.y, width: n.width, height: n.height },
      header: { height: header.getBoundingClientRect().height },
      linkHeight: Math.max(...links.map((r) => r.height)),
      rows: new Set(links.map((r) => Math.round(r.top))).size,
      allVisible: links.every((r) => r.left >= n.left - 0.5 && r.right <= n.right + 0.5),
      headerOverflows: header.scrollWidth > header.clientWidth || header.getBoundingClientRect().right > header.ownerDocument.documentElement.clientWidth + 0.5,
    };
  });
}

/**
 * The elements that stick out of the viewport sideways, in the light DOM and every shadow root: wider than the
 * viewport, or reaching past its right edge without an ancestor that scrolls or clips them sideways (the nav's links
 * do: the nav scrolls). Each as `tag.class "start of its text"` (its box in px), for the failure message; and whether
 * the page itself scrolls sideways.
 */
export async function overflowingElements(page: Page): Promise<{ pageScrolls: boolean; elements: string[] }> {
  // The DOM as far as this needs it: the fleet's Node tsconfig has no DOM lib.
  interface Box { left: number; right: number; width: number; height: number }
  interface El { tagName: string; className: unknown; textContent: string | null; parentElement: El | null; parentNode: unknown; shadowRoot: Root | null; getBoundingClientRect(): Box }
  interface Root { querySelectorAll(sel: string): Iterable<El> }
  interface Doc extends Root { documentElement: El & { clientWidth: number; scrollWidth: number }; body: El }
  return page.evaluate(() => {
    const g = globalThis as unknown as { document: Doc; getComputedStyle(e: El): { overflowX: string } };
    const doc = g.document;
    const vw = doc.documentElement.clientWidth;
    const parentOf = (e: El): El | null => e.parentElement ?? ((e.parentNode as { host?: El } | null)?.host ?? null);
    const clipped = (e: El): boolean => {
      for (let a = parentOf(e); a; a = parentOf(a)) {
        if (a === doc.documentElement || a === doc.body) return false;
        if (g.getComputedStyle(a).overflowX !== "visible") return true;
      }
      return false;
    };
    const out: string[] = [];
    const walk = (root: Root) => {
      for (const e of root.querySelectorAll("*")) {
        if (e.shadowRoot) walk(e.shadowRoot);
        const r = e.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.width > vw + 0.5 || (r.right > vw + 0.5 && !clipped(e))) {
          const cls = typeof e.className === "string" && e.className ? `.${e.className.trim().split(/\s+/).join(".")}` : "";
          out.push(`${e.tagName.toLowerCase()}${cls} "${(e.textContent ?? "").trim().slice(0, 30)}" (x ${Math.round(r.left)}, width ${Math.round(r.width)})`);
        }
      }
    };
    walk(doc);
    return { pageScrolls: doc.documentElement.scrollWidth > vw, elements: out };
  });
}

/** The nav is one row: its height is one link's, and every link is on the same line. */
export function expectOneRow(l: NavLayout, where: string): void {
  expect(l.rows, `${where}: the nav's links are on ${l.rows} lines`).toBe(1);
  expect(Math.abs(l.nav.height - l.linkHeight), `${where}: the nav is ${l.nav.height} px high, a link ${l.linkHeight} px`).toBeLessThanOrEqual(1);
  expect(l.headerOverflows, `${where}: the header is wider than the page`).toBe(false);
}

/**
 * Full-page screenshots `<prefix>-800.png` and `<prefix>-1280.png` in `dir`, each after checking that the nav is
 * one row at that width with all its links in view. The viewport is 1280 px wide again afterwards.
 */
export async function screenshots(page: Page, dir: string, prefix: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const width of [800, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    const l = await navLayout(page);
    expectOneRow(l, `${prefix} at ${width} px`);
    expect(l.allVisible, `${prefix} at ${width} px: a link of the nav is scrolled out of view`).toBe(true);
    await page.screenshot({ path: path.join(dir, `${prefix}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}
