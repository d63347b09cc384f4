// One Chromium per test file (Debian's, driven by playwright-core), pages at the kiosk's 800x480.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

export const KIOSK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/kiosk");
export const VIEWPORT = { width: 800, height: 480 };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}

/** A kiosk page with Playwright's fake clock installed (time flows, and tests jump it forward). */
export async function openKiosk(
  browser: Browser,
  url: string,
  opts: { lang?: string; reducedMotion?: boolean; initScript?: () => void } = {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, reducedMotion: opts.reducedMotion === false ? "no-preference" : "reduce" });
  const page = await context.newPage();
  if (opts.initScript) await page.addInitScript(opts.initScript);
  await page.clock.install();
  await page.goto(opts.lang ? `${url}/?lang=${opts.lang}` : url);
  return page;
}

/** `KIOSK_SCREENSHOTS=<dir>` saves a screenshot of each screen the tests reach (for a person to look at). */
export async function shot(page: Page, name: string): Promise<void> {
  const dir = process.env.KIOSK_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}
