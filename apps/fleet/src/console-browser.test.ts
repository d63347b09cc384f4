// The operator's main paths in the console, in a real Chromium: the login, each role's view, the overview
// updating live, acknowledging an alert, editing a price (pending until the machine reports it), sending a command
// and seeing its result, the sales page, the admin's users and audit pages, and an attack page on another origin
// that tries a text/plain POST and a WebSocket while the operator is logged in. The server is the real one (HTTP, WebSocket, SQLite); the broker is replaced by a recording
// link so the test can see exactly what would be published.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BrowserContext, Page } from "playwright-core";
import * as OTPAuth from "otpauth";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chromiumSkip, consoleBrowser, startConsoleFleet, type ConsoleFleet } from "./__fixtures__/console-browser.js";
import { birth, commandResult, reported, sale, status, telemetry } from "./__fixtures__/messages.js";
import type { RecordingLink } from "./__fixtures__/recording-link.js";
import type { FleetService } from "./fleet-service.js";
import type { FleetHttpServer } from "./http-server.js";

const SKIP = chromiumSkip("fleet console");

describe.skipIf(SKIP !== null)(`fleet console in Chromium${SKIP ? ` (${SKIP})` : ""}`, () => {
  const chrome = consoleBrowser("console");
  let fleet: ConsoleFleet;
  let service: FleetService;
  let http: FleetHttpServer;
  let link: RecordingLink;
  let page: Page;
  let context: BrowserContext;
  const now = Date.now();
  const PASSWORD = "console test password";

  /** Logs in through the login page, as a person would. */
  const loginAs = (user: string, hash = "") => fleet.loginAs(user, hash);

  beforeEach(async () => {
    fleet = await startConsoleFleet(chrome, {
      service: { liveIntervalMs: 50, alertIntervalMs: 60_000 },
      users: ["viewer", "technician", "operator", "admin"],
      password: PASSWORD,
      // Playwright's own default viewport.
      context: { viewport: { width: 1280, height: 720 } },
    });
    ({ service, http, link, page, context } = fleet);
    await service.ingest([
      birth("snacks-01", { slots: [{ slot: "A1", stock: 5, priceMsat: "1500000" }, { slot: "A2", stock: 1, priceMsat: "2000000" }] }),
      status("snacks-01", "online", { boot: 1, seq: 1 }),
      telemetry("snacks-01", { ts: now - 120_000, temperatureC: 5 }),
      telemetry("snacks-01", { ts: now - 30_000, temperatureC: 6 }),
      sale("snacks-01", { seq: 1, slot: "A1", settledAt: now - 60_000, ts: now - 60_000, amountMsat: "1500000" }),
      birth("drinks-01", { slots: [{ slot: "P1", stock: 30, capacity: 40 }] }),
      status("drinks-01", "online", { boot: 1, seq: 1 }),
      sale("drinks-01", { seq: 1, slot: "P1", settledAt: now - 30_000, amountMsat: "2500000" }),
    ]);
  });
  afterEach(async () => {
    await fleet?.stop();
  });

  it("shows every machine with its state and stock, and updates live without a reload", async () => {
    await loginAs("operator");
    await page.locator("[data-live=on]").waitFor();
    const row = page.locator('tr[data-machine="snacks-01"]');
    expect(await row.locator("[data-status]").textContent()).toBe("online");
    // The sale happened before the last telemetry, whose stock already counted it: 5 stays 5.
    await row.locator('[data-slot="A1"][data-stock="5"]').waitFor();
    expect(await page.locator('[data-test="online-count"]').textContent()).toBe("2 / 2");

    service.push(sale("snacks-01", { seq: 2, slot: "A1", settledAt: Date.now(), ts: Date.now() }));
    await row.locator('[data-slot="A1"][data-stock="4"]').waitFor({ timeout: 15_000 });
    service.push(status("snacks-01", "lost", { boot: 1, seq: 0 }));
    await row.locator('[data-status]:text-is("lost")').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-test="online-count"]').textContent()).toBe("1 / 2");
    // A gap in the event sequence is shown on the machine's row.
    service.push(sale("snacks-01", { seq: 5, slot: "A1", settledAt: Date.now(), ts: Date.now() }));
    expect(await row.locator("[data-missing]").textContent({ timeout: 15_000 })).toBe("2 missing");
  });

  it("marks a machine that is the card reader of a VMC (MDB) on its overview row and its page", async () => {
    await service.ingest([birth("mdb-01", { board: "mdb", slots: [{ slot: "S12", name: "Cola" }] }), status("mdb-01", "online", { boot: 1, seq: 1 })]);
    await loginAs("viewer");
    await page.locator('tr[data-machine="mdb-01"] [data-kind="mdb"]').waitFor();
    expect(await page.locator('tr[data-machine="snacks-01"] [data-kind]').count()).toBe(0);
    await page.locator('tr[data-machine="mdb-01"] a[href="#/machines/mdb-01"]').click();
    await page.locator('zv-fleet-machine [data-kind="mdb"]').waitFor();
  });

  it("lists alerts and acknowledges one; the acknowledgement is stored", async () => {
    await service.tick(true);
    await loginAs("technician", "#/alerts");
    const low = page.locator('tr[data-kind="low-stock"]');
    await low.waitFor();
    expect(await low.textContent()).toContain("A2 (Product A2) has 1 left");
    await low.getByRole("button", { name: "Acknowledge" }).click();
    await low.locator("[data-acknowledged]").waitFor();
    const id = await low.getAttribute("data-alert");
    const row = (await service.store.db.all("SELECT acknowledged_at FROM alerts WHERE id = ?", [id!]))[0]!;
    expect(row.acknowledged_at).not.toBeNull();
  });

  it("edits a price and disables a slot: signed desired state, pending until the machine reports it applied", async () => {
    await loginAs("operator", "#/machines/snacks-01");
    await page.getByLabel("new price for A1").fill("1800");
    await page.getByLabel("enable A2").uncheck();
    await page.getByRole("button", { name: "Send to machine" }).click();
    await page.locator('[data-desired="pending"]').waitFor();
    expect(await page.locator('[data-desired="pending"]').textContent()).toBe("v1 pending");

    const pub = link.published.find((p) => p.topic === "zapvend/v1/m/snacks-01/state/desired")!;
    expect(pub.retain).toBe(true);
    expect(pub.payload).toMatchObject({ version: 1, slots: { A1: { price: { unit: "msat", amountMsat: "1800000" } }, A2: { enabled: false } } });
    expect(typeof pub.payload.sig).toBe("string");

    await service.ingest([
      reported("snacks-01", 1, {
        slots: { A1: { enabled: true, price: { unit: "msat", amountMsat: "1800000" } }, A2: { enabled: false, price: { unit: "msat", amountMsat: "2000000" } } },
      }),
    ]);
    await page.locator('[data-desired="applied"]').waitFor({ timeout: 15_000 });
    await page.locator('tr[data-slot-row="A1"] [data-price]:text-is("1,800 sat")').waitFor({ timeout: 15_000 });
    expect(await page.getByLabel("enable A2").isChecked()).toBe(false);
  });

  it("refuses a price that is not a number without sending anything", async () => {
    await loginAs("operator", "#/machines/snacks-01");
    await page.getByLabel("new price for A1").fill("12abc");
    await page.getByRole("button", { name: "Send to machine" }).click();
    expect(await page.getByRole("alert").textContent()).toContain('"12abc" is not a price');
    expect(link.published).toHaveLength(0);
  });

  it("sends a command and shows its result when the machine answers", async () => {
    await loginAs("operator", "#/machines/snacks-01");
    await page.getByRole("button", { name: "Test vend" }).click();
    const cmdRow = page.locator("tr[data-command]");
    await cmdRow.locator('[data-command-status]:text-is("sent")').waitFor();
    const pub = link.published.find((p) => p.topic === "zapvend/v1/m/snacks-01/cmd/test-vend")!;
    expect(pub.payload.args).toEqual({ slot: "A1" });
    await service.ingest([commandResult("snacks-01", "test-vend", String(pub.payload.rid), { data: { dropSeen: true } })]);
    await cmdRow.locator('[data-command-status]:text-is("ok")').waitFor({ timeout: 15_000 });
    expect(await cmdRow.textContent()).toContain('{"dropSeen":true}');
  });

  it("shows sales totals per machine and the latest sales, per local day of the operator's zone", async () => {
    // The operator's zone is Kolkata (UTC+5:30): its days start at 18:30 UTC.
    http = await fleet.restartServer({ timeZone: "Asia/Kolkata" });
    const asked: URL[] = [];
    page.on("request", (r) => void (r.url().includes("/api/reports/sales?") && asked.push(new URL(r.url()))));
    await loginAs("viewer", "#/sales");
    await page.locator('[data-test="sales-count"]:text-is("2")').waitFor();
    expect(await page.locator('[data-test="sales-zone"]').textContent()).toBe("days in Asia/Kolkata");
    // From Kolkata's midnight 29 days ago (18:30 UTC the day before), the same for both reports; days counted there.
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata", year: "numeric", month: "2-digit", day: "2-digit" }).format(Date.now());
    const [y, m, d] = today.split("-").map(Number) as [number, number, number];
    const from = Date.UTC(y, m - 1, d - 29) - 5.5 * 3_600_000;
    expect([...new Set(asked.map((u) => `${u.searchParams.get("group")} ${u.searchParams.get("from")}`))].sort()).toEqual([`day ${from}`, `machine ${from}`]);
    expect(asked.find((u) => u.searchParams.get("group") === "day")!.searchParams.get("tz")).toBe("Asia/Kolkata");
    // 30 bars, one per local day, the last one today in Kolkata; both sales are in them.
    const bars = page.locator("g[data-bar]");
    expect(await bars.count()).toBe(30);
    const kolkataDay = (ms: number) => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata", month: "2-digit", day: "2-digit" }).format(ms);
    expect([kolkataDay(now), kolkataDay(Date.now())]).toContain(await bars.last().getAttribute("data-bar"));
    const values = await bars.evaluateAll((gs) => gs.map((g) => Number(g.getAttribute("data-value"))));
    expect(values.reduce((a, b) => a + b, 0)).toBe(4000);
    expect(await page.locator('[data-test="sales-total"]').textContent()).toBe("4,000 sat");
    expect(await page.locator('tr[data-report-machine="drinks-01"]').textContent()).toContain("2,500 sat");
    expect(await page.locator("tr[data-sale]").count()).toBe(2);
    // The operator's key is never in anything the browser loads.
    const bundle = await (await fetch(`${http.url}/console.js`)).text();
    expect(bundle).not.toMatch(/PRIVATE KEY/);
  });

  it("logs in (refusing a wrong password with a coded message), shows the user menu, and logs out", async () => {
    await page.goto(`${http.url}/`);
    await page.getByLabel("user").fill("operator");
    await page.getByLabel("password").fill("not the password");
    await page.getByRole("button", { name: "Log in" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("wrong username or password (bad_credentials)");
    await page.getByLabel("password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("[data-live=on]").waitFor();
    expect(await page.locator("[data-role]").textContent()).toBe("operator");
    const cookie = (await context.cookies()).find((c) => c.name === "zapvend_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    await page.locator("[data-logout]").click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    // The session is gone on the server too: a reload lands on the login page.
    await page.reload();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    expect((await http.auth.listAudit({ action: "logout" })).map((a) => a.actor)).toEqual(["user:operator"]);
  });

  it("asks for the authenticator code on the login page when the account has a second factor", async () => {
    const by = { actor: "test", address: null };
    const { secret } = await http.auth.enrollTotp("admin", by);
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
    await http.auth.confirmTotp("admin", totp.generate({ timestamp: Date.now() - 30_000 }), by);
    await page.goto(`${http.url}/`);
    await page.getByLabel("user").fill("admin");
    await page.getByLabel("password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByLabel("authenticator code").waitFor();
    await page.getByLabel("authenticator code").fill(totp.generate());
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("[data-user-menu]").waitFor();
    expect(await page.locator("[data-role]").textContent()).toBe("admin");
    expect((await http.auth.listAudit({ action: "login" }))[0]).toMatchObject({ actor: "user:admin", detail: { totp: true } });
  });

  it("shows each role only what it may do", async () => {
    await service.tick(true);
    const view = async (role: string) => {
      await context.clearCookies();
      await loginAs(role, "#/machines/snacks-01");
      await page.locator('tr[data-slot-row="A1"]').waitFor();
      const has = async (sel: string) => (await page.locator(sel).count()) > 0;
      const out = {
        priceForm: await has('input[aria-label="new price for A1"]'),
        send: await has("[data-send-desired]"),
        testVend: await has('[data-command-button="test-vend"]'),
        reboot: await has('[data-command-button="reboot"]'),
        users: await has('nav a[href="#/admin"]'),
        ack: false,
      };
      await page.goto(`${http.url}/#/alerts`);
      await page.locator('tr[data-kind="low-stock"]').waitFor();
      out.ack = (await page.getByRole("button", { name: "Acknowledge" }).count()) > 0;
      return out;
    };
    expect(await view("viewer")).toEqual({ priceForm: false, send: false, testVend: false, reboot: false, users: false, ack: false });
    expect(await view("technician")).toEqual({ priceForm: false, send: false, testVend: true, reboot: false, users: false, ack: true });
    expect(await view("operator")).toEqual({ priceForm: true, send: true, testVend: true, reboot: true, users: false, ack: true });
    expect(await view("admin")).toEqual({ priceForm: true, send: true, testVend: true, reboot: true, users: true, ack: true });
  });

  it("lets an admin add a user (password shown once) and read the audit", async () => {
    await loginAs("admin", "#/admin");
    await page.locator('tr[data-user="viewer"]').waitFor();
    await page.getByLabel("new user name").fill("newbie");
    await page.getByRole("button", { name: "Add user" }).click();
    expect(await page.locator("[data-secret]").textContent()).toMatch(/password of newbie: [A-Za-z0-9_-]{20}/);
    await page.locator('tr[data-user="newbie"]').waitFor();
    await page.goto(`${http.url}/#/audit`);
    await page.locator('tr[data-audit="user.add"]').first().waitFor();
    expect(await page.locator('tr[data-audit="user.add"]').first().textContent()).toContain("newbie");
    expect(await page.locator('tr[data-audit="login"]').count()).toBeGreaterThan(0);
  });

  it("an attack page on another origin can neither POST a command (text/plain) nor open the WebSocket while the operator is logged in", async () => {
    await loginAs("operator");
    await page.locator("[data-live=on]").waitFor();
    const fleet = http.url;
    const attackHtml = `<!doctype html><script>
      window.results = {};
      fetch(${JSON.stringify(`${fleet}/api/machines/snacks-01/commands/test-vend`)}, { method: "POST", mode: "no-cors", credentials: "include",
        headers: { "content-type": "text/plain" }, body: JSON.stringify({ args: { slot: "A1" } }) })
        .then((r) => (window.results.post = "sent:" + r.type), (e) => (window.results.post = "failed:" + e.message));
      const ws = new WebSocket(${JSON.stringify(`${fleet.replace("http", "ws")}/ws`)});
      ws.onopen = () => (window.results.ws = "open");
      ws.onmessage = (m) => (window.results.wsData = String(m.data).slice(0, 40));
      ws.onerror = () => (window.results.ws ??= "error");
      ws.onclose = () => (window.results.ws ??= "closed");
    </script>`;
    const attacker: Server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(attackHtml));
    await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", () => r()));
    try {
      const evil = await context.newPage();
      await evil.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      await evil.waitForFunction(() => {
        const r = (globalThis as unknown as { results: Record<string, string> }).results;
        return r.post !== undefined && r.ws !== undefined;
      });
      const results = await evil.evaluate(() => (globalThis as unknown as { results: Record<string, string> }).results);
      expect(results.ws).not.toBe("open");
      expect(results.wsData).toBeUndefined();
      // The POST left the browser (no-cors hides the answer from the page) but the server refused it: nothing was
      // signed, published or stored, and the operator's own console still works.
      expect(link.published).toHaveLength(0);
      expect(await service.store.db.all("SELECT rid FROM commands")).toEqual([]);
      expect(await http.auth.listAudit({ action: "command" })).toEqual([]);
      await evil.close();
    } finally {
      await new Promise<void>((r) => attacker.close(() => r()));
    }
    expect(await page.locator("[data-live=on]").count()).toBe(1);
  });
});
