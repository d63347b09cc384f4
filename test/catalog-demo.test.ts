// Issue #18's proof of the catalog, end to end on `npm start` (every part in its own process, the embedded broker
// with its ACL): in a real Chromium the operator logs in to the fleet console, adds a product with a photo and
// names in four languages and assigns it to the snacks machine's slot A1; the fleet compresses the photo, publishes
// it retained on `zapvend/v1/pictures/<sha256>` and a signed desired state naming it; the machine verifies both,
// stores the picture and serves it; and the snacks kiosk shows that picture and the name. Before that, the catalog
// the demo seeds at its first start (scripts/demo-catalog.mjs) is checked on the fleet and the kiosks; last, a
// restart keeps the operator's edits (no second seed). Ports are off the defaults (and off demo.test.ts's) so it runs
// beside the other demo test.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const demoDir = mkdtempSync(path.join(tmpdir(), "zapvend-catalog-demo-"));
let urls = new Map<string, string>();
let launcher: ChildProcess;
let output = "";
let stdout = "";
let browser: Browser;

/** Starts `npm start`'s launcher on this test's ports and demo folder; resolves once the catalog step has run. */
async function startDemo(): Promise<void> {
  urls = new Map();
  stdout = "";
  launcher = spawn(process.execPath, [path.join(root, "scripts/start.mjs")], {
    cwd: root,
    env: {
      ...process.env,
      ZAPVEND_DEMO_DIR: demoDir,
      ZAPVEND_SIM_PORT: "18160",
      ZAPVEND_FLEET_PORT: "18190",
      ZAPVEND_KIOSK_PORTS: "18180,18181,18182",
      ZAPVEND_NOTIFY_PORT: "18170",
      ZAPVEND_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  launcher.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const started = launcher;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo not up in 120 s:\n${output.slice(-3000)}`)), 120_000);
    started.on("exit", (code) => reject(new Error(`launcher exited (${code}):\n${output.slice(-3000)}`)));
    let buf = "";
    started.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      buf += d.toString();
      for (const line of buf.split("\n").slice(0, -1)) {
        const m = /^([^:]+): (\S+)$/.exec(line);
        if (m) urls.set(m[1]!, m[2]!);
      }
      buf = buf.slice(buf.lastIndexOf("\n") + 1);
      if (["fleet", "kiosk drinks-01", "kiosk snacks-01", "kiosk mdb-01"].every((k) => urls.has(k)) && /^catalog: /m.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Ctrl-C as the terminal sends it; resolves with the launcher's exit code. */
async function stopDemo(): Promise<number | null> {
  if (!launcher?.pid || launcher.exitCode !== null) return launcher?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => launcher.once("exit", (code) => r(code)));
  process.kill(-launcher.pid, "SIGINT");
  const code = await Promise.race([exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000))]);
  if (code === "timeout") {
    process.kill(-launcher.pid, "SIGKILL");
    return null;
  }
  return code;
}

beforeAll(async () => {
  await startDemo();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await stopDemo();
  rmSync(demoDir, { recursive: true, force: true });
}, 60_000);

/** The demo admin's cookie session on the fleet API: the headers of its reads and writes. */
async function adminSession(fleet: string): Promise<Record<string, string>> {
  const admin = JSON.parse(readFileSync(path.join(demoDir, "admin.json"), "utf8")) as { username: string; password: string };
  const login = await fetch(`${fleet}/api/login`, { method: "POST", headers: { "content-type": "application/json", origin: fleet }, body: JSON.stringify(admin) });
  expect(login.status).toBe(200);
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  return { cookie: login.headers.get("set-cookie")!.split(";")[0]!, origin: fleet, "x-csrf-token": csrfToken };
}

interface KioskProduct {
  slot: string;
  name: string;
  names?: Record<string, string>;
  priceMsat: string;
  picture?: { url: string; width: number; height: number };
}
const kioskCatalog = async (kiosk: string) => ((await (await fetch(`${kiosk}/api/catalog`)).json()) as { products: KioskProduct[] }).products;

/** A 2000 x 1500 photo-like JPEG (gradients and texture), about a megabyte. */
async function photo(file: string): Promise<void> {
  const w = 2000;
  const h = 1500;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i += 3) {
    const x = (i / 3) % w;
    const y = Math.floor(i / 3 / w);
    px[i] = 180 + ((x * 13 + y * 7) % 70);
    px[i + 1] = (x >> 3) % 256;
    px[i + 2] = ((x ^ y) * 5) % 256;
  }
  writeFileSync(file, await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
}

describe("the fleet catalog on the demo", () => {
  it("is seeded at the first start: the demo products with four names, prices and pictures reach the kiosks", async () => {
    expect(stdout).toMatch(/^catalog: seeded 8 products on 8 slots, with pictures$/m);
    const fleet = urls.get("fleet")!;
    const headers = await adminSession(fleet);
    const cat = (await (await fetch(`${fleet}/api/catalog`, { headers })).json()) as {
      products: Array<{ id: string; names: Record<string, string>; icon: string | null; picture: { sha256: string; type: string; bytes: number } | null; price: unknown }>;
      assignments: Array<{ machineId: string; slot: string; product: string; price: unknown }>;
    };
    expect(cat.products.map((p) => p.id)).toEqual(["chocolate", "chocolate-bar", "cola", "cookies", "crisps", "lemonade", "nuts", "water"]);
    for (const p of cat.products) {
      expect(Object.keys(p.names).sort(), p.id).toEqual(["en", "fr", "ja", "zh"]);
      // Through the fleet's own pipeline: a WebP of at most 40 KB, addressed by its sha256.
      expect(p.picture, p.id).toMatchObject({ type: "image/webp", sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(p.picture!.bytes).toBeLessThanOrEqual(40_960);
    }
    expect(cat.products.find((p) => p.id === "cookies")).toMatchObject({ icon: "🍪", price: { unit: "msat", amountMsat: "1500000" } });
    expect(cat.assignments.map((a) => `${a.machineId} ${a.slot} ${a.product}`)).toEqual([
      "drinks-01 P1 lemonade",
      "mdb-01 S10 water",
      "mdb-01 S11 cola",
      "mdb-01 S12 chocolate-bar",
      "snacks-01 A1 crisps",
      "snacks-01 A2 chocolate",
      "snacks-01 A3 cookies",
      "snacks-01 A4 nuts",
    ]);

    // Each machine fetched its pictures over MQTT, checked them and serves them; its catalog names them.
    const water = cat.products.find((p) => p.id === "water")!.picture!.sha256;
    const mdb = urls.get("kiosk mdb-01")!;
    await expect.poll(async () => (await kioskCatalog(mdb)).find((p) => p.slot === "S10")?.picture?.url, { timeout: 30_000, interval: 250 }).toBe(`/pictures/${water}`);
    expect((await kioskCatalog(mdb)).find((p) => p.slot === "S10")).toMatchObject({ name: "Water", names: { en: "Water", fr: "Eau", ja: "水", zh: "矿泉水" }, priceMsat: "1500000" });
    const served = await fetch(`${mdb}/pictures/${water}`);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/webp");

    // The buyer's kiosk shows the lemonade's picture, and its Japanese name.
    const lemonade = cat.products.find((p) => p.id === "lemonade")!.picture!.sha256;
    const drinks = urls.get("kiosk drinks-01")!;
    await expect.poll(async () => (await fetch(`${drinks}/pictures/${lemonade}`)).status, { timeout: 30_000, interval: 250 }).toBe(200);
    const kctx = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const kpage = await kctx.newPage();
    kpage.setDefaultTimeout(20_000);
    await kpage.goto(drinks);
    const img = kpage.locator(`img[src="/pictures/${lemonade}"]`).first();
    await img.waitFor();
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 20_000 }).toBe(480);
    await kpage.getByRole("button", { name: "日本語" }).click();
    await expect.poll(() => kpage.getByText("レモネード").count()).toBeGreaterThan(0);
    await kctx.close();
  }, 90_000);

  it("a picture uploaded in the fleet console is shown on the snacks kiosk, with the product's name", async () => {
    const fleet = urls.get("fleet")!;
    const kiosk = urls.get("kiosk snacks-01")!;
    const admin = JSON.parse(readFileSync(path.join(demoDir, "admin.json"), "utf8")) as { username: string; password: string };
    const photoFile = path.join(demoDir, "crisps.jpg");
    await photo(photoFile);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${fleet}/#/catalog`);
    await page.getByLabel("user").fill(admin.username);
    await page.getByLabel("password").fill(admin.password);
    await page.getByRole("button", { name: "Log in" }).click();
    // The machine must have introduced itself to the fleet (its birth) before a slot can be assigned.
    await page.getByLabel("snacks-01 A1").waitFor({ timeout: 30_000 });
    await page.getByLabel("id").fill("fleet-crisps");
    await page.getByLabel("name (English)").fill("Fleet crisps");
    await page.getByLabel("name (Français)").fill("Chips de la flotte");
    await page.getByLabel("name (日本語)").fill("フリートチップス");
    await page.getByLabel("name (中文)").fill("车队薯片");
    await page.getByLabel("price unit").selectOption("sat");
    await page.getByLabel("price", { exact: true }).fill("1200");
    await page.getByLabel("picture").setInputFiles(photoFile);
    const preview = page.locator("[data-product-form] img[data-picture]");
    await preview.waitFor();
    const sha = (await preview.getAttribute("data-picture"))!;
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator('tr[data-product="fleet-crisps"]').waitFor();
    await page.getByLabel("snacks-01 A1").selectOption("fleet-crisps");
    await expect.poll(() => page.locator("[data-notice]").textContent()).toMatch(/sent to snacks-01 v[0-9]+/);
    await context.close();

    // The machine fetched the picture over MQTT, checked it and serves it itself (never from the internet).
    await expect.poll(async () => (await fetch(`${kiosk}/pictures/${sha}`)).status, { timeout: 30_000, interval: 250 }).toBe(200);
    const served = await fetch(`${kiosk}/pictures/${sha}`);
    expect(served.headers.get("content-type")).toBe("image/webp");
    expect((await served.arrayBuffer()).byteLength).toBeLessThanOrEqual(40_960);

    // The buyer's kiosk shows it, with the fleet's name for the slot and its price.
    const kctx = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const kpage = await kctx.newPage();
    kpage.setDefaultTimeout(20_000);
    await kpage.goto(kiosk);
    const img = kpage.locator(`img[src="/pictures/${sha}"]`).first();
    await img.waitFor();
    await img.scrollIntoViewIfNeeded();
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 20_000 }).toBe(480);
    await expect.poll(() => kpage.getByText("Fleet crisps").count()).toBeGreaterThan(0);
    // In the buyer's language: the fleet's Japanese name.
    await kpage.getByRole("button", { name: "日本語" }).click();
    await expect.poll(() => kpage.getByText("フリートチップス").count()).toBeGreaterThan(0);
    mkdirSync(path.join(root, "bench/results"), { recursive: true });
    await kpage.screenshot({ path: path.join(root, "bench/results/catalog-demo-kiosk.png") });
    await kctx.close();
  }, 120_000);
  // Last: it restarts the demo.
  it("a restart does not seed again: the operator's edits and products are kept", async () => {
    const fleet = urls.get("fleet")!;
    let headers = await adminSession(fleet);
    const before = (await (await fetch(`${fleet}/api/catalog`, { headers })).json()) as { products: Array<{ id: string; picture: { sha256: string } | null; price: unknown }> };
    const cola = before.products.find((p) => p.id === "cola")!;
    // The operator renames the cola and clears selection S12.
    const put = (route: string, body: unknown) => fetch(`${fleet}${route}`, { method: "PUT", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await put("/api/catalog/products/cola", { names: { en: "House cola" }, picture: cola.picture!.sha256, price: cola.price })).status).toBe(200);
    expect((await put("/api/catalog/machines/mdb-01/slots/S12", { product: null })).status).toBe(200);
    const mdb = urls.get("kiosk mdb-01")!;
    await expect.poll(async () => (await kioskCatalog(mdb)).find((p) => p.slot === "S11")?.name, { timeout: 30_000, interval: 250 }).toBe("House cola");

    expect(await stopDemo()).toBe(0);
    await startDemo();
    expect(stdout).toMatch(/^catalog: not seeded \(seeded at an earlier start; the catalog is the operator's\)$/m);
    headers = await adminSession(urls.get("fleet")!);
    const after = (await (await fetch(`${urls.get("fleet")}/api/catalog`, { headers })).json()) as {
      products: Array<{ id: string; names: Record<string, string> }>;
      assignments: Array<{ machineId: string; slot: string; product: string }>;
    };
    expect(after.products.find((p) => p.id === "cola")!.names).toEqual({ en: "House cola" });
    expect(after.products.map((p) => p.id)).toContain("fleet-crisps");
    expect(after.assignments.find((a) => a.machineId === "mdb-01" && a.slot === "S12")).toBeUndefined();
    expect(after.assignments.find((a) => a.machineId === "snacks-01" && a.slot === "A1")!.product).toBe("fleet-crisps");
    // The machines still show the operator's catalog after the restart.
    const mdbAgain = urls.get("kiosk mdb-01")!;
    await expect.poll(async () => (await kioskCatalog(mdbAgain)).find((p) => p.slot === "S11")?.name, { timeout: 30_000, interval: 250 }).toBe("House cola");
    expect((await kioskCatalog(mdbAgain)).find((p) => p.slot === "S12")).toMatchObject({ name: "Chocolate bar" });
    expect((await kioskCatalog(mdbAgain)).find((p) => p.slot === "S12")!.names).toBeUndefined();
  }, 150_000);
});
