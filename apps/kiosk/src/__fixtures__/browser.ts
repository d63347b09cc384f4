// One Chromium per test file (Debian's, driven by playwright-core), pages at the kiosk's 800x480, and what every
// browser suite of the kiosk sets up (`kioskSuite`): the built kiosk checked, Chromium launched and closed, and per
// test the fake machine daemons it starts and the pages it opens, all closed and stopped after it.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll } from "vitest";
import { FakeMachine, type FakeMachineOptions } from "./fake-machine.js";

export const KIOSK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/kiosk");
export const VIEWPORT = { width: 800, height: 480 };

/** Headless, no sandbox (containers, CI users), and nothing fetched in the background while a test runs. */
export const CHROMIUM_ARGS: readonly string[] = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"];

/** `env`: the browser's environment (default this process's), e.g. a FONTCONFIG_FILE. */
export function launchChromium(opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: [...CHROMIUM_ARGS], ...(opts.env ? { env: opts.env } : {}) });
}

export interface OpenKioskOptions {
  lang?: string;
  reducedMotion?: boolean;
  initScript?: () => void;
}

/** A kiosk page with Playwright's fake clock installed (time flows, and tests jump it forward). */
export async function openKiosk(browser: Browser, url: string, opts: OpenKioskOptions = {}): Promise<Page> {
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

export interface KioskSuite {
  /** Set in the file's `beforeAll`. */
  readonly browser: Browser;
  /**
   * A fake machine daemon serving the built kiosk, started (`prepare` sees it before it listens: pictures to serve);
   * stopped after the test, whoever stopped it before.
   */
  startMachine(opts?: Partial<FakeMachineOptions>, prepare?: (m: FakeMachine) => void): Promise<FakeMachine>;
  /** `openKiosk` (fake clock) on `url`; its context is closed after the test. */
  open(url: string, opts?: OpenKioskOptions): Promise<Page>;
  /** A page of a plain context at the kiosk's size, without the fake clock; its context is closed after the test. */
  plainPage(): Promise<Page>;
}

/**
 * Registers the calling test file's hooks: `beforeAll` fails with what to do when the kiosk is not built, then
 * launches Chromium; `afterEach` closes the test's pages' contexts, then stops its machines; `afterAll` closes Chromium.
 */
export function kioskSuite(): KioskSuite {
  let browser: Browser | undefined;
  const pages: Page[] = [];
  const machines: FakeMachine[] = [];
  beforeAll(async () => {
    if (!existsSync(`${KIOSK_DIR}/index.html`)) throw new Error("build the kiosk first (npm run build -w @zapvend/kiosk)");
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close();
    for (const m of machines.splice(0)) await m.stop();
  });
  const chromiumOf = () => {
    if (!browser) throw new Error("Chromium is not running (kioskSuite's beforeAll failed or has not run)");
    return browser;
  };
  const keep = (page: Page) => (pages.push(page), page);
  return {
    get browser() {
      return chromiumOf();
    },
    async startMachine(opts = {}, prepare) {
      const m = new FakeMachine({ kioskDir: KIOSK_DIR, ...opts });
      machines.push(m);
      prepare?.(m);
      await m.start();
      return m;
    },
    async open(url, opts = {}) {
      return keep(await openKiosk(chromiumOf(), url, opts));
    },
    async plainPage() {
      return keep(await (await chromiumOf().newContext({ viewport: VIEWPORT })).newPage());
    },
  };
}
