// The catalog editor in a real Chromium (issue #18): an operator logs in, adds a product with names in four
// languages, uploads a photo (shown back as the WebP the machines get), saves and assigns it to a slot; the fleet
// publishes the picture retained and a signed desired state naming it. A viewer reads the same page without any way
// to edit. The server is the real one (HTTP, SQLite); the broker is the recording link, so the test sees exactly
// what would be published. Screenshots at 800 and 1280 px go to bench/results/. The machine page shows each slot's
// catalog product (picture, name) beside the name the machine reports, the difference marked until it applies.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DesiredStatePayload } from "@zapvend/protocol";
import { chromiumSkip, consoleBrowser, startConsoleFleet, type ConsoleFleet } from "../__fixtures__/console-browser.js";
import { SCREENSHOT_DIR, screenshots } from "../__fixtures__/console-layout.js";
import { birth, reported, status } from "../__fixtures__/messages.js";
import type { RecordingLink } from "../__fixtures__/recording-link.js";
import type { FleetService } from "../fleet-service.js";

const SKIP = chromiumSkip("fleet catalog editor");
/** An image's decoded width once it has loaded (0 before): run in the page. */
const loadedWidth = (img: unknown) => {
  const i = img as { complete: boolean; naturalWidth: number };
  return i.complete ? i.naturalWidth : 0;
};

describe.skipIf(SKIP !== null)(`fleet catalog editor in Chromium${SKIP ? ` (${SKIP})` : ""}`, () => {
  const chrome = consoleBrowser("console");
  let tmp: string;
  let fleet: ConsoleFleet;
  let service: FleetService;
  let link: RecordingLink;
  let page: Page;
  const PASSWORD = "catalog test password";

  const loginAs = (user: string, hash: string) => fleet.loginAs(user, hash);

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), "zapvend-catalog-"));
  });
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    fleet = await startConsoleFleet(chrome, { service: { liveIntervalMs: 50, alertIntervalMs: 60_000 }, users: ["viewer", "operator"], password: PASSWORD });
    ({ service, link, page } = fleet);
    await service.ingest([
      birth("snacks-01", { slots: [{ slot: "A1", name: "Crisps (config)" }, { slot: "A2" }] }),
      status("snacks-01", "online", { boot: 1, seq: 1 }),
      birth("mdb-01", { board: "mdb", slots: [{ slot: "S12" }] }),
    ]);
  });
  afterEach(async () => {
    await fleet?.stop();
  });

  it("an operator adds a product with a photo and names in four languages, and assigns it: picture and signed state go out", async () => {
    // A 3000 x 2000 photo of about 1 MB.
    const photoPath = path.join(tmp, "crisps.jpg");
    const w = 3000;
    const h = 2000;
    const pixels = Buffer.alloc(w * h * 3);
    for (let i = 0; i < pixels.length; i += 3) {
      const x = (i / 3) % w;
      const y = Math.floor(i / 3 / w);
      pixels[i] = 200 + ((x * 31 + y * 17) % 55);
      pixels[i + 1] = (x + y) % 256;
      pixels[i + 2] = ((x ^ y) * 7) % 256;
    }
    writeFileSync(photoPath, await sharp(pixels, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());

    await loginAs("operator", "#/catalog");
    await page.getByText("No products yet.").waitFor();
    await page.getByLabel("id").fill("crisps");
    await page.getByLabel("name (English)").fill("Crisps");
    await page.getByLabel("name (Français)").fill("Chips");
    await page.getByLabel("name (日本語)").fill("ポテトチップス");
    await page.getByLabel("name (中文)").fill("薯片");
    await page.getByLabel("icon").fill("🥔");
    await page.getByLabel("price unit").selectOption("EUR");
    await page.getByLabel("price", { exact: true }).fill("1.50");
    await page.getByLabel("picture").setInputFiles(photoPath);
    // The preview is the fleet's own WebP, loaded from /api/pictures/<sha256>, with what the compression did.
    const preview = page.locator("[data-product-form] img[data-picture]");
    await preview.waitFor();
    await expect.poll(() => preview.evaluate(loadedWidth)).toBe(480);
    const sha = (await preview.getAttribute("data-picture"))!;
    expect(await page.locator("[data-upload-info]").textContent()).toMatch(/3000×2000 → [0-9.]+ KB WebP 480×320/);
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator('tr[data-product="crisps"]').waitFor();
    expect(await page.locator('tr[data-product="crisps"]').textContent()).toContain("Chips / ポテトチップス / 薯片");
    expect(await page.locator('tr[data-product="crisps"]').textContent()).toContain("1.50 EUR");

    await page.getByLabel("snacks-01 A1").selectOption("crisps");
    await expect.poll(() => page.locator("[data-notice]").textContent()).toContain("sent to snacks-01 v1");
    await expect.poll(() => page.locator('tr[data-product="crisps"] [data-slots]').textContent()).toBe("snacks-01 A1");

    // What a machine gets: the picture (retained, its bytes the fleet serves), then the signed state naming it.
    expect(link.pictures.map((p) => p.sha256)).toEqual([sha]);
    const desired = link.published.filter((p) => p.topic === "zapvend/v1/m/snacks-01/state/desired").at(-1)!.payload as unknown as DesiredStatePayload;
    expect(desired.slots).toEqual({ A1: { product: "crisps", price: { unit: "fiat", currency: "EUR", amountMinor: 150 } } });
    expect(desired.products).toEqual({
      crisps: { names: { en: "Crisps", fr: "Chips", ja: "ポテトチップス", zh: "薯片" }, icon: "🥔", picture: { sha256: sha, type: "image/webp", bytes: link.pictures[0]!.bytes.length, width: 480, height: 320 } },
    });
    expect(link.pictures[0]!.bytes.length).toBeLessThanOrEqual(40_960);

    // Editing the price sends a new version to the machine showing it.
    await page.locator('tr[data-product="crisps"]').getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("price", { exact: true }).fill("1.80");
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.locator("[data-notice]").textContent()).toContain("sent to snacks-01 v2");

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    for (const width of [800, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, `fleet-catalog-${width}.png`), fullPage: true });
    }
  }, 60_000);

  it("shows each slot's catalog product on the machine page beside what the machine reports, marked until it applies", async () => {
    const { CatalogService } = await import("./catalog-service.js");
    const catalog = new CatalogService({ service, clock: { now: Date.now }, log: () => {} });
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#c60" } }).png().toBuffer();
    const pic = await catalog.uploadPicture(png);
    await catalog.upsertProduct("crisps", { names: { en: "Crisps", fr: "Chips" }, picture: pic.picture.sha256, price: { unit: "fiat", currency: "EUR", amountMinor: 150 } });
    await catalog.upsertProduct("tea", { names: { en: "Tea" }, icon: "🍵", price: { unit: "fiat", currency: "EUR", amountMinor: 120 } });
    const a1 = await catalog.assign("snacks-01", "A1", "crisps", null);
    expect(a1.machine.after?.version).toBe(1);

    await loginAs("viewer", "#/machines/snacks-01");
    const row = (slot: string) => page.locator(`tr[data-slot-row="${slot}"]`);
    await row("A1").locator('[data-catalog-product="crisps"]').waitFor();
    // A1: the product the catalog assigns, with its picture as the fleet serves it; the machine still reports the
    // name of its own configuration, so the difference is marked.
    expect(await row("A1").locator("[data-catalog-name]").textContent()).toBe("Crisps");
    const img = row("A1").locator(`img[data-picture="${pic.picture.sha256}"]`);
    await expect.poll(() => img.evaluate(loadedWidth)).toBe(300);
    expect(await row("A1").locator("[data-reported-name]").textContent()).toBe("Crisps (config)");
    expect(await row("A1").locator("[data-mismatch]").textContent()).toBe("not applied yet");
    expect(await row("A1").locator("[data-mismatch]").getAttribute("title")).toBe("The catalog assigns Crisps; the machine still reports Crisps (config): not applied yet");
    // A2: nothing in the catalog, what the machine reports, nothing marked.
    expect(await row("A2").locator("[data-catalog-product]").textContent()).toBe("not in the catalog");
    expect(await row("A2").locator("[data-reported-name]").textContent()).toBe("Product A2");
    expect(await row("A2").locator("[data-mismatch]").count()).toBe(0);

    // An operator assigns a product with an icon and no picture while the page is open: the new desired version
    // reaches the page live and it reads the machine's catalog again.
    await catalog.assign("snacks-01", "A2", "tea", null);
    await row("A2").locator('[data-catalog-product="tea"]').waitFor();
    expect(await row("A2").locator('[data-catalog-product="tea"] .thumb').textContent()).toBe("🍵");
    expect(await row("A2").locator("[data-mismatch]").count()).toBe(1);
    await screenshots(page, SCREENSHOT_DIR, "fleet-machine-catalog");

    // The machine applies version 2 (it reports the catalog's names from then on): the marks go.
    await service.ingest([birth("snacks-01", { boot: 2, slots: [{ slot: "A1", name: "Crisps" }, { slot: "A2", name: "Tea" }] }), reported("snacks-01", 2)]);
    await expect.poll(() => page.locator("[data-mismatch]").count()).toBe(0);
    expect(await row("A1").locator("[data-reported-name]").textContent()).toBe("Crisps");
    expect(await page.locator("[data-desired]").getAttribute("data-desired")).toBe("applied");
  }, 60_000);

  it("a viewer reads the catalog with its pictures but has nothing to edit with", async () => {
    const png = await sharp({ create: { width: 200, height: 200, channels: 3, background: "#c60" } }).png().toBuffer();
    const up = await service.store.db.all("SELECT 1"); // the store is up
    expect(up).toHaveLength(1);
    const { CatalogService } = await import("./catalog-service.js");
    const catalog = new CatalogService({ service, clock: { now: Date.now }, log: () => {} });
    const pic = await catalog.uploadPicture(png);
    await catalog.upsertProduct("cola", { names: { en: "Cola" }, picture: pic.picture.sha256, price: { unit: "msat", amountMsat: "2000000" } });
    await catalog.assign("snacks-01", "A2", "cola", null);

    await loginAs("viewer", "#/catalog");
    const row = page.locator('tr[data-product="cola"]');
    await row.waitFor();
    expect(await row.textContent()).toContain("2,000 sat");
    await expect.poll(() => row.locator("img[data-picture]").evaluate(loadedWidth)).toBe(200);
    expect(await page.locator("[data-product-form]").count()).toBe(0);
    expect(await row.getByRole("button").count()).toBe(0);
    expect(await page.getByLabel("snacks-01 A2").isDisabled()).toBe(true);
    expect(await page.getByLabel("snacks-01 A2").inputValue()).toBe("cola");
  }, 60_000);
});
