// Issue #18's proof of the catalog, end to end on `npm start` (every part in its own process, the embedded broker
// with its ACL): in a real Chromium the operator logs in to the fleet console, adds a product with a photo and
// names in four languages and assigns it to the snacks machine's slot A1; the fleet compresses the photo, publishes
// it retained on `zapvend/v1/pictures/<sha256>` and a signed desired state naming it; the machine verifies both,
// stores the picture and serves it; and the snacks kiosk shows that picture and the name. Ports are off the
// defaults (and off demo.test.ts's) so it runs beside the other demo test.
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
const urls = new Map<string, string>();
let launcher: ChildProcess;
let output = "";
let browser: Browser;

beforeAll(async () => {
  launcher = spawn(process.execPath, [path.join(root, "scripts/start.mjs")], {
    cwd: root,
    env: {
      ...process.env,
      ZAPVEND_DEMO_DIR: demoDir,
      ZAPVEND_SIM_PORT: "18160",
      ZAPVEND_FLEET_PORT: "18190",
      ZAPVEND_KIOSK_PORTS: "18180,18181,18182",
      ZAPVEND_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  launcher.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo not up in 80 s:\n${output.slice(-3000)}`)), 80_000);
    launcher.on("exit", (code) => reject(new Error(`launcher exited (${code}):\n${output.slice(-3000)}`)));
    let buf = "";
    launcher.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split("\n").slice(0, -1)) {
        const m = /^([^:]+): (\S+)$/.exec(line);
        if (m) urls.set(m[1]!, m[2]!);
      }
      buf = buf.slice(buf.lastIndexOf("\n") + 1);
      if (["fleet", "kiosk snacks-01"].every((k) => urls.has(k))) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (launcher?.pid && launcher.exitCode === null) {
    const exited = new Promise((r) => launcher.once("exit", r));
    process.kill(-launcher.pid, "SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (launcher.exitCode === null) process.kill(-launcher.pid, "SIGKILL");
  }
  rmSync(demoDir, { recursive: true, force: true });
}, 60_000);

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
});
