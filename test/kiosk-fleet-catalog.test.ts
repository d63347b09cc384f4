// The fleet catalog from the broker to the buyer's screen (issue #18), against the REAL daemon (`apps/machine/dist/
// cli.js`, board `mdb` on the sim VMC), the embedded broker and the sim Lightning node, each in its own process on
// loopback: a desired state signed with the operator's key as the fleet signs it assigns a product (names in four
// languages, a picture) to the VMC's selection 12; the picture, a real WebP encoded by Chromium, is published retained
// on its topic; the machine fetches, verifies and stores it, and the kiosk's vend-request screen shows it with the name
// in the buyer's language when the buyer presses 12 on the machine's keypad.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicKeyHex, signPayload } from "@zapvend/mqtt-bridge";
import { PAYLOAD_VERSION, topics, type Catalog } from "@zapvend/protocol";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bins = {
  broker: path.join(root, "packages/mqtt-bridge/dist/broker-cli.js"),
  sim: path.join(root, "packages/payments/dist/sim-node-cli.js"),
  machine: path.join(root, "apps/machine/dist/cli.js"),
  kiosk: path.join(root, "apps/kiosk/dist/kiosk/index.html"),
};
const MACHINE_ID = "kiosk-catalog-01";

const children: ChildProcess[] = [];
let dir: string;
let kioskUrl: string;
let brokerUrl: string;
let browser: Browser;
let logs = "";
const { privateKey } = generateKeyPairSync("ed25519");

function start(label: string, args: string[], name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ZAPVEND_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const timer = setTimeout(() => reject(new Error(`${label} did not start in 20 s:\n${logs.slice(-2000)}`)), 20_000);
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = new RegExp(`^${name}: (\\S+)$`, "m").exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (logs += `[${label}] ${d.toString()}`));
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${signal ?? code}):\n${logs.slice(-2000)}`));
    });
  });
}

beforeAll(async () => {
  const missing = Object.entries(bins).filter(([, f]) => !existsSync(f));
  if (missing.length > 0) throw new Error(`not built: ${missing.map(([n]) => n).join(", ")} (npm run build)`);
  dir = mkdtempSync(path.join(tmpdir(), "zapvend-kiosk-catalog-"));
  brokerUrl = await start("broker", [bins.broker, "--port", "0", "--allow-anonymous"], "broker");
  const simUrl = await start("sim-lightning", [bins.sim, "--port", "0"], "sim-lightning");
  const config = {
    machineId: MACHINE_ID,
    http: { host: "127.0.0.1", port: 0 },
    mqtt: { url: brokerUrl, telemetryIntervalMs: 10_000 },
    board: {
      kind: "mdb",
      port: "sim",
      approvalTimeoutSec: 60,
      invoiceExpirySec: 45,
      sim: { selections: [{ selection: 11, priceUnits: 200 }, { selection: 12, priceUnits: 250 }], vendDurationMs: 1_500 },
    },
    payments: { backend: { kind: "sim", url: simUrl }, network: "regtest", invoiceExpirySec: 180 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" }, maxRateAgeSec: 600 },
    catalog: [
      { slot: "S11", name: "Cola", kind: "mdb", icon: "🥤", price: { unit: "fiat", currency: "EUR", amountMinor: 200 }, stock: 10, capacity: 10 },
      { slot: "S12", name: "Chocolate bar", kind: "mdb", icon: "🍫", price: { unit: "fiat", currency: "EUR", amountMinor: 250 }, stock: 10, capacity: 10 },
    ],
    operatorKeys: [{ keyId: "op-1", publicKey: publicKeyHex(privateKey) }],
    dataDir: path.join(dir, "machine"),
  };
  writeFileSync(path.join(dir, "machine.json"), JSON.stringify(config, null, 2));
  kioskUrl = await start("machine", [bins.machine, "--config", path.join(dir, "machine.json")], `kiosk ${MACHINE_ID}`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** A real WebP, encoded by Chromium's canvas. */
async function webp(width: number, height: number): Promise<Buffer> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const bytes = await page.evaluate(
      async ([w, h]) => {
        const canvas = new OffscreenCanvas(w, h);
        const g = canvas.getContext("2d")!;
        g.fillStyle = "#5a3a22";
        g.fillRect(0, 0, w, h);
        const blob = await canvas.convertToBlob({ type: "image/webp", quality: 0.8 });
        if (blob.type !== "image/webp") throw new Error(`this Chromium encoded ${blob.type}, not WebP`);
        return [...new Uint8Array(await blob.arrayBuffer())];
      },
      [width, height] as const,
    );
    return Buffer.from(bytes);
  } finally {
    await context.close();
  }
}

describe("the fleet catalog on the kiosk of a real daemon", () => {
  it("a product assigned by a signed desired state shows its picture and its name in the buyer's language on the vend-request screen", async () => {
    const picture = await webp(200, 150);
    const sha256 = createHash("sha256").update(picture).digest("hex");
    const client = await mqtt.connectAsync(brokerUrl, { clientId: `test-fleet-${randomUUID()}`, clean: true, reconnectPeriod: 0 });
    try {
      // The machine's installation id, from its retained birth: a desired state is signed for it.
      let install: number | undefined;
      client.on("message", (topic, payload) => {
        if (topic === topics.birth(MACHINE_ID) && payload.length > 0) install = (JSON.parse(payload.toString()) as { install: number }).install;
      });
      await client.subscribeAsync(topics.birth(MACHINE_ID), { qos: 1 });
      await expect.poll(() => install, { timeout: 15_000 }).toBeDefined();
      await client.publishAsync(topics.picture(sha256), picture, { qos: 1, retain: true });
      const desired = signPayload(
        {
          v: PAYLOAD_VERSION,
          id: randomUUID(),
          ts: Date.now(),
          boot: 1,
          seq: 1,
          version: 1,
          aud: MACHINE_ID,
          install,
          slots: { S12: { product: "choco-dark" } },
          products: {
            "choco-dark": {
              names: { en: "Dark chocolate", fr: "Chocolat noir", ja: "ダークチョコレート", zh: "黑巧克力" },
              icon: "🍫",
              picture: { sha256, type: "image/webp", bytes: picture.length, width: 200, height: 150 },
            },
          },
          keyId: "op-1",
        },
        privateKey,
      );
      await client.publishAsync(topics.desired(MACHINE_ID), JSON.stringify(desired), { qos: 1, retain: true });
    } finally {
      await client.endAsync();
    }
    // Fetched over MQTT, verified and stored: the catalog names it and points at the machine's copy.
    await expect
      .poll(async () => ((await (await fetch(`${kioskUrl}/api/catalog`)).json()) as Catalog).products.find((p) => p.slot === "S12")?.picture, { timeout: 15_000 })
      .toEqual({ url: `/pictures/${sha256}`, width: 200, height: 150 });

    const context = await browser.newContext({ viewport: { width: 800, height: 480 }, reducedMotion: "reduce" });
    try {
      const page = await context.newPage();
      await page.goto(`${kioskUrl}/?lang=fr`);
      await page.locator('[data-screen="keypad"]').waitFor({ timeout: 15_000 });
      await page.locator('[data-demo-select="12"]').click();
      const pay = page.locator('[data-screen="payment"]');
      await pay.locator("svg[data-qr]").waitFor({ timeout: 15_000 });
      expect(await pay.locator("[data-product]").textContent()).toContain("Chocolat noir");
      const img = pay.locator("img[data-picture]");
      expect(await img.getAttribute("src")).toBe(`/pictures/${sha256}`);
      await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 10_000 }).toBe(200);
      // The keypad's cancel ends the request.
      const cancel = await fetch(`${kioskUrl}/api/demo/vmc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ cancel: true }) });
      expect(cancel.status).toBe(200);
    } finally {
      await context.close();
    }
  });
});
