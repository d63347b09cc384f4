// What every Chromium suite of the console sets up, in one place: whether Chromium is there (skipped with the reason
// on a developer's machine, a failure under ZAPVEND_REQUIRE_SERVICES=1: services.ts `missingService`), the console
// built into a temp folder and one headless Chromium per suite file, and per test a fleet (a fresh SQLite store, the
// service on a recording link, the HTTP server serving that console), its users, a browser context and page, and the
// login through the login page as a person would.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";
import type { FleetRole } from "@zapvend/protocol";
import { afterAll, beforeAll } from "vitest";
import { buildConsole } from "../../console-build.mjs";
import { FleetService, type FleetServiceOptions } from "../fleet-service.js";
import { FleetHttpServer, type FleetHttpOptions } from "../http-server.js";
import { testAuth } from "./auth.js";
import { RecordingLink } from "./recording-link.js";
import { missingService } from "./services.js";
import { engines } from "./stores.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Headless, no sandbox (containers, CI users), and nothing fetched in the background while a test runs. */
export const CHROMIUM_ARGS: readonly string[] = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"];

/** `null` when Chromium is there; else the reason `suite` is skipped (printed). Throws under ZAPVEND_REQUIRE_SERVICES=1. */
export function chromiumSkip(suite: string): string | null {
  return missingService(suite, existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
}

export interface ConsoleBrowser {
  /** Set in the suite's `beforeAll`. */
  readonly browser: Browser;
  /** The built console, served by every fleet of the suite. */
  readonly consoleDir: string;
}

/**
 * Registers the calling suite's `beforeAll` (the console built into a temp folder named `zapvend-<name>-…`, Chromium
 * launched) and `afterAll` (both gone). Call it inside the `describe`; read the fields in hooks and tests.
 */
export function consoleBrowser(name: string): ConsoleBrowser {
  const state = {} as { browser: Browser; consoleDir: string };
  beforeAll(async () => {
    state.consoleDir = await buildConsole(mkdtempSync(path.join(tmpdir(), `zapvend-${name}-`)));
    state.browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await state.browser?.close();
    if (state.consoleDir) rmSync(state.consoleDir, { recursive: true, force: true });
  });
  return state;
}

export interface ConsoleFleetOptions {
  /** The service's options besides its store and link. Default `{liveIntervalMs: 50, alertIntervalMs: 3_600_000}`. */
  service?: Omit<FleetServiceOptions, "store" | "link">;
  /**
   * The HTTP server's options besides the service, port, console and auth (`timeZone`, `now`, `notifier`…), or a
   * function of the started service that makes them (a notifier over its database).
   */
  server?: Partial<FleetHttpOptions> | ((service: FleetService) => Partial<FleetHttpOptions>);
  /** Run by `stop()` after the HTTP server stops and before the service does (a notifier's own stop). */
  afterServerStop?: () => Promise<void>;
  /** Users added before the page opens, each named after its role, all with `password`. */
  users: FleetRole[];
  password: string;
  /** The browser context's options. Default a 1280 x 900 viewport. */
  context?: BrowserContextOptions;
}

export interface ConsoleFleet {
  readonly service: FleetService;
  readonly link: RecordingLink;
  /** The current server (`restartServer` replaces it). */
  readonly http: FleetHttpServer;
  /** The current context and page (`newContext` replaces them); the page waits 10 s at most for anything. */
  readonly context: BrowserContext;
  readonly page: Page;
  /** Logs in as `user` through the login page of `#hash`, and waits for the user menu. */
  loginAs(user: string, hash?: string): Promise<void>;
  /** Stops the server and starts another on the same service with `server` options on top of the suite's. */
  restartServer(server: Partial<FleetHttpOptions>): Promise<FleetHttpServer>;
  /** Closes the context and opens another (with its page) with these options. */
  newContext(options: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>;
  /** The context, the server, the service and the store, in that order; once (later calls do nothing). */
  stop(): Promise<void>;
}

/** A fleet with its console open in a fresh page of `chrome`, not logged in. For the suite's `beforeEach`. */
export async function startConsoleFleet(chrome: ConsoleBrowser, opts: ConsoleFleetOptions): Promise<ConsoleFleet> {
  const opened = await engines[0]!.open();
  const link = new RecordingLink();
  const service = new FleetService({ store: opened.store, link, liveIntervalMs: 50, alertIntervalMs: 3_600_000, ...opts.service });
  await service.start();
  const serverOptions = typeof opts.server === "function" ? opts.server(service) : (opts.server ?? {});
  const serve = async (extra: Partial<FleetHttpOptions>) => {
    const s = new FleetHttpServer({ ...serverOptions, ...extra, service, port: 0, consoleDir: chrome.consoleDir, auth: testAuth(service) });
    await s.start();
    return s;
  };
  let http = await serve({});
  for (const role of opts.users) await http.auth.addUser(role, role, opts.password, { actor: "test", address: null });
  const open = async (options: BrowserContextOptions) => {
    const context = await chrome.browser.newContext(options);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return { context, page };
  };
  let current = await open(opts.context ?? { viewport: { width: 1280, height: 900 } });
  let stopped = false;
  return {
    service,
    link,
    get http() {
      return http;
    },
    get context() {
      return current.context;
    },
    get page() {
      return current.page;
    },
    async loginAs(user, hash = "") {
      const page = current.page;
      await page.goto(`${http.url}/${hash}`);
      await page.getByLabel("user").fill(user);
      await page.getByLabel("password").fill(opts.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.locator("[data-user-menu]").waitFor();
    },
    async restartServer(extra) {
      await http.stop();
      http = await serve(extra);
      return http;
    },
    async newContext(options) {
      await current.context.close();
      current = await open(options);
      return current;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await current.context.close();
      await http.stop();
      await opts.afterServerStop?.();
      await service.stop();
      await opened.cleanup();
    },
  };
}
