// The notification settings page (`#/notifications`, issue #18) in a real Chromium against the real server
// (HTTP, SQLite): the config file's webhook shown without its secret, a route edited and saved (stored, in force,
// secret kept), a test sent to a real loopback webhook receiver (signature checked) and its delivery listed, an
// e-mail channel added through the form and tested against a real SMTP server on loopback, and no link for a
// technician. Screenshots at 800 and 1280 px go to bench/results/ for review.
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Page } from "playwright-core";
import { SMTPServer, type SMTPServerDataStream } from "smtp-server";
import { parseFleetConfig } from "@zapvend/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_ALERT_SETTINGS } from "../alerts.js";
import { SCREENSHOT_DIR } from "../__fixtures__/console-layout.js";
import { chromiumSkip, consoleBrowser, startConsoleFleet, type ConsoleFleet } from "../__fixtures__/console-browser.js";
import { startReceiver, type Receiver } from "../__fixtures__/http-receiver.js";
import { silentLogger } from "../clock.js";
import { Notifier } from "./notifier.js";
import { NotifySettingsStore } from "./settings.js";
import { verifyWebhook } from "./webhook.js";

const SKIP = chromiumSkip("notification settings page");
const SECRET = "browser-test-webhook-secret";
const PASSWORD = "notify page password";

describe.skipIf(SKIP !== null)(`notification settings page in Chromium${SKIP ? ` (${SKIP})` : ""}`, () => {
  const chrome = consoleBrowser("console");
  let fleet: ConsoleFleet;
  let notifier: Notifier;
  let receiver: Receiver;
  let smtp: { port: number; mails: Array<{ to: string[]; raw: string }>; close(): Promise<void> };
  let page: Page;

  const loginAs = (user: string, hash: string) => fleet.loginAs(user, hash);

  beforeEach(async () => {
    receiver = await startReceiver();
    const mails: Array<{ to: string[]; raw: string }> = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onData(stream: SMTPServerDataStream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString("utf8") });
          cb(null);
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    smtp = { port: (server.server.address() as AddressInfo).port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };

    const cfg = parseFleetConfig({
      database: "unused.db",
      operatorKey: { keyId: "op", privateKeyPath: "unused.pem" },
      notifications: {
        channels: { hook: { type: "webhook", url: `${receiver.url}/hook`, secret: SECRET } },
        groups: { technicians: ["hook"] },
        routes: [{ kinds: ["door-open"], to: ["technicians"] }],
      },
    });
    if (!cfg.ok) throw new Error(cfg.error.message);
    fleet = await startConsoleFleet(chrome, {
      // The service's own live interval.
      service: { liveIntervalMs: undefined, alertIntervalMs: 60_000 },
      server: (svc) => {
        const db = svc.store.db;
        notifier = new Notifier({ config: cfg.value.notifications!, settings: new NotifySettingsStore(db), alertSettings: DEFAULT_ALERT_SETTINGS, db, log: silentLogger });
        notifier.start(svc);
        return { notifier };
      },
      afterServerStop: () => notifier.stop(),
      users: ["technician", "operator"],
      password: PASSWORD,
    });
    ({ page } = fleet);
  });
  afterEach(async () => {
    await fleet?.stop();
    await receiver.close();
    await smtp.close();
  });

  it("edits a route, sends signed tests to a webhook and an SMTP server, and lists the deliveries", async () => {
    await loginAs("operator", "#/notifications");
    const hook = page.locator('tr[data-channel="hook"]');
    await hook.waitFor();
    expect(await page.locator("[data-source]").getAttribute("data-source")).toBe("config");
    expect(await hook.textContent()).toContain("HMAC secret: set");
    expect(await page.content()).not.toContain(SECRET);

    // The route sends door-open to the technicians; add temperature, then save.
    const route = page.locator('tr[data-route="0"]');
    expect(await route.locator('[data-kind="door-open"]').isChecked()).toBe(true);
    await route.locator('[data-kind="temperature"]').check();
    await page.locator("[data-dirty]").waitFor();
    await page.locator("[data-save]").click();
    await page.locator('[data-source="store"]').waitFor();
    expect(notifier.settings.routes[0]).toMatchObject({ kinds: ["door-open", "temperature"], to: ["technicians"] });
    expect(notifier.settings.channels.hook).toMatchObject({ secret: SECRET });

    // A test to the webhook: delivered, signed with the secret kept, listed.
    await hook.locator('[data-test="hook"]').click();
    await page.locator('[data-test-result="hook"] .applied').waitFor();
    expect(await page.locator('[data-test-result="hook"]').textContent()).toContain("delivered 200");
    expect(receiver.requests).toHaveLength(1);
    const r = receiver.requests[0]!;
    expect(verifyWebhook(SECRET, String(r.headers["x-zapvend-timestamp"]), r.body, String(r.headers["x-zapvend-signature"]))).toBe(true);
    await page.locator('tr[data-delivery-channel="hook"][data-delivery-event="test"][data-ok="yes"]').waitFor();

    // An e-mail channel through the form, put in the technicians' group, saved, tested against the SMTP server.
    await page.getByLabel("new channel name").fill("office-mail");
    await page.getByLabel("channel type").selectOption("email");
    await page.locator("[data-add-channel]").click();
    await page.locator("#ch-host").fill("127.0.0.1");
    await page.locator("#ch-port").fill(String(smtp.port));
    await page.locator("#ch-from").fill("fleet@example.com");
    await page.locator("#ch-to").fill("tech@example.com, boss@example.com");
    await page.locator("[data-apply-channel]").click();
    await page.locator('tr[data-group="technicians"]').getByLabel("office-mail").check();
    await page.locator("[data-save]").click();
    await page.locator("[data-notice]").waitFor();
    expect(notifier.settings.groups.technicians).toEqual(["hook", "office-mail"]);
    await page.locator('[data-test="office-mail"]').click();
    await page.locator('[data-test-result="office-mail"] .applied').waitFor({ timeout: 15_000 });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.to).toEqual(["tech@example.com", "boss@example.com"]);
    expect(smtp.mails[0]!.raw).toContain("Subject: [zapvend] Test from the zapvend fleet");
    await page.locator('tr[data-delivery-channel="office-mail"][data-ok="yes"]').waitFor();

    // Quiet hours: on, in a zone, Sunday cleared, saved.
    await page.locator("[data-quiet]").check();
    await page.locator("[data-quiet-tz]").fill("Europe/Paris");
    await page.locator("[data-quiet-tz]").dispatchEvent("change");
    await page.locator('[data-quiet-day="sun"]').fill("");
    await page.locator('[data-quiet-day="sun"]').dispatchEvent("change");
    await page.locator("[data-save]").click();
    await expect.poll(() => notifier.settings.quietHours?.tz).toBe("Europe/Paris");
    expect(notifier.settings.quietHours!.days).toMatchObject({ mon: ["22:00-07:00"], sat: ["00:00-24:00"] });
    expect(notifier.settings.quietHours!.days.sun).toBeUndefined();

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "fleet-notifications-1280.png"), fullPage: true });
    await page.setViewportSize({ width: 800, height: 900 });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "fleet-notifications-800.png"), fullPage: true });
  });

  it("shows no notifications link to a technician, and the server refuses the settings to one", async () => {
    await loginAs("technician", "#/");
    await page.locator("nav").waitFor();
    expect(await page.locator('nav a[href="#/notifications"]').count()).toBe(0);
    const status = await page.evaluate(async () => (await fetch("/api/notifications/settings")).status);
    expect(status).toBe(403);
  });
});
