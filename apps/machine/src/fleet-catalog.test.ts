// The fleet catalog on the machine (issue #18), end to end with the real parts: the daemon on the sim board and the
// sim Lightning node, its bridge on a real broker (a private Mosquitto for this file, or ZAPVEND_TEST_MQTT_URL), a
// desired state signed with an operator key as the fleet signs it, pictures published retained as raw bytes, and the
// kiosk's HTTP server answering `GET /api/catalog` and `GET /pictures/<sha256>`.
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicKeyHex, signPayload } from "@zapvend/mqtt-bridge";
import { testFileBroker } from "@zapvend/mqtt-bridge/testing";
import { startSimNode, type SimNodeServer } from "@zapvend/payments/sim";
import { PAYLOAD_VERSION, parseMachineConfig, topics, type Catalog, type MachineConfig, type PictureRef } from "@zapvend/protocol";
import { Machine } from "./machine.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const brokerUrl = await testFileBroker(process.env.ZAPVEND_TEST_MQTT_URL, afterAll);
const runId = randomBytes(3).toString("hex");
const { privateKey } = generateKeyPairSync("ed25519");
const keyId = "op-catalog";

let sim: SimNodeServer;
let pub: mqtt.MqttClient;
const retained: string[] = [];
beforeAll(async () => {
  sim = await startSimNode({ port: 0 });
  pub = await mqtt.connectAsync(brokerUrl, { clientId: `test-catalog-pub-${runId}`, clean: true, reconnectPeriod: 0 });
});
afterAll(async () => {
  // Retained test messages are cleared: a shared broker (ZAPVEND_TEST_MQTT_URL) must not keep them.
  for (const t of retained) await pub.publishAsync(t, Buffer.alloc(0), { qos: 1, retain: true });
  await pub?.endAsync();
  await sim?.stop();
});

function config(machineId: string, dataDir: string, mqttUrl = brokerUrl): MachineConfig {
  const parsed = parseMachineConfig({
    machineId,
    http: { host: "127.0.0.1", port: 0 },
    mqtt: { url: mqttUrl, telemetryIntervalMs: 60_000 },
    board: { kind: "sim", pinmap: path.join(repo, "hardware/pinmaps/snacks.json") },
    payments: { backend: { kind: "sim", url: sim.url }, network: "regtest", invoiceExpirySec: 120 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" } },
    catalog: [
      { slot: "A1", name: "Crisps", kind: "spiral", icon: "🥔", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 3, capacity: 10 },
      { slot: "A2", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: "900000" }, stock: 3, capacity: 10 },
    ],
    operatorKeys: [{ keyId, publicKey: publicKeyHex(privateKey) }],
    dataDir,
  });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

/** A file with WebP's magic bytes (RIFF <size> WEBP VP8L) and random content: the machine checks, it does not decode. */
function webpBytes(size: number): Buffer {
  const b = randomBytes(size);
  b.write("RIFF", 0, "ascii");
  b.writeUInt32LE(size - 8, 4);
  b.write("WEBPVP8L", 8, "ascii");
  return b;
}

function refOf(bytes: Buffer, width = 120, height = 90): PictureRef {
  return { sha256: createHash("sha256").update(bytes).digest("hex"), type: "image/webp", bytes: bytes.length, width, height };
}

async function publishPicture(sha256: string, bytes: Buffer): Promise<void> {
  retained.push(topics.picture(sha256));
  await pub.publishAsync(topics.picture(sha256), bytes, { qos: 1, retain: true });
}

/** Signs and publishes a retained desired state for the machine's installation, as the fleet does. */
async function publishDesired(machineId: string, install: number, version: number, body: Record<string, unknown>): Promise<void> {
  const payload = signPayload({ v: PAYLOAD_VERSION, id: randomUUID(), ts: Date.now(), boot: 1, seq: version, version, aud: machineId, install, ...body, keyId }, privateKey);
  retained.push(topics.desired(machineId));
  await pub.publishAsync(topics.desired(machineId), JSON.stringify(payload), { qos: 1, retain: true });
}

/** The machine's installation id (from its retained birth) and a recorder of its reported states. */
async function watch(machineId: string) {
  const sub = await mqtt.connectAsync(brokerUrl, { clientId: `test-catalog-sub-${runId}-${machineId}`, clean: true, reconnectPeriod: 0 });
  const reported: Array<Record<string, unknown>> = [];
  let install: number | undefined;
  const births: Array<{ slots: Array<{ slot: string; name: string }> }> = [];
  sub.on("message", (topic, payload) => {
    if (payload.length === 0) return;
    const body = JSON.parse(payload.toString()) as Record<string, unknown>;
    if (topic === topics.birth(machineId)) {
      install = body.install as number;
      births.push(body as unknown as (typeof births)[number]);
    }
    if (topic === topics.reported(machineId)) reported.push(body);
  });
  await sub.subscribeAsync([topics.birth(machineId), topics.reported(machineId)], { qos: 1 });
  await expect.poll(() => install, { timeout: 10_000 }).toBeDefined();
  return { sub, reported, births, install: install! };
}

async function catalogOf(url: string): Promise<Catalog> {
  return (await (await fetch(new URL("/api/catalog", url))).json()) as Catalog;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe("the fleet catalog on the machine", () => {
  it("applies products, fetches and verifies pictures over MQTT, serves them, refuses unknown products, and keeps it all across a restart without the broker", async () => {
    const machineId = `cat-${runId}`;
    const dataDir = mkdtempSync(path.join(tmpdir(), `zapvend-${machineId}-`));
    let machine = new Machine(config(machineId, dataDir));
    let url = await machine.start();
    try {
      const { sub, reported, births, install } = await watch(machineId);
      const good = webpBytes(900);
      const goodRef = refOf(good);
      const later = webpBytes(700);
      const laterRef = refOf(later, 64, 64);
      // Under the second picture's topic first comes a forged file of the same size: refused, never stored.
      await publishPicture(laterRef.sha256, webpBytes(700));
      const products = {
        "crisps-salt": { names: { en: "Salted crisps", fr: "Chips salées", ja: "塩ポテトチップス", zh: "盐味薯片" }, icon: "🥔", picture: goodRef },
        "mixed-nuts": { names: { en: "Mixed nuts", fr: "Noix mélangées" }, picture: laterRef },
      };
      await publishDesired(machineId, install, 2, {
        slots: { A1: { product: "crisps-salt", price: { unit: "msat", amountMsat: "1200000" } }, A2: { product: "mixed-nuts", enabled: false } },
        products,
      });
      await expect.poll(() => reported.find((r) => r.version === 2)?.status, { timeout: 10_000 }).toBe("applied");

      // Names, icon and price at once; no picture in the catalog before it is stored.
      let cat = await catalogOf(url);
      const a1 = cat.products.find((p) => p.slot === "A1")!;
      expect(a1).toMatchObject({ name: "Salted crisps", icon: "🥔", names: products["crisps-salt"].names, priceMsat: "1200000" });
      expect(a1.picture).toBeUndefined();
      expect(cat.products.find((p) => p.slot === "A2")).toMatchObject({ name: "Mixed nuts", enabled: false });
      expect((await fetch(new URL(`/pictures/${goodRef.sha256}`, url))).status).toBe(404);
      // An order (and so its sale event) carries the fleet's English name at the fleet's price.
      const order = await fetch(new URL("/api/orders", url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slot: "A1" }) });
      expect(order.status).toBe(201);
      expect(await order.json()).toMatchObject({ productName: "Salted crisps", amountMsat: "1200000" });
      // The birth is published again with the fleet's names: the fleet sees them at once.
      await expect.poll(() => births.at(-1)?.slots.find((x) => x.slot === "A1")?.name).toBe("Salted crisps");

      await publishPicture(goodRef.sha256, good);
      await expect.poll(async () => (await catalogOf(url)).products.find((p) => p.slot === "A1")?.picture, { timeout: 10_000 }).toEqual({
        url: `/pictures/${goodRef.sha256}`,
        width: 120,
        height: 90,
      });
      const res = await fetch(new URL(`/pictures/${goodRef.sha256}`, url));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/webp");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(Buffer.from(await res.arrayBuffer()).equals(good)).toBe(true);
      expect(existsSync(path.join(dataDir, "pictures", `${goodRef.sha256}.webp`))).toBe(true);

      // The forged file was refused: counted, not stored, the slot without a picture.
      const bridge = machine["bridge"]!;
      expect(bridge.pictures!.counters.refused).toBeGreaterThanOrEqual(1);
      expect(bridge.pictures!.pending).toEqual([laterRef.sha256]);
      cat = await catalogOf(url);
      expect(cat.products.find((p) => p.slot === "A2")!.picture).toBeUndefined();
      expect(readdirSync(path.join(dataDir, "pictures"))).toEqual([`${goodRef.sha256}.webp`]);
      // The fleet publishes the right file again under the same topic: the subscription was kept for it.
      await publishPicture(laterRef.sha256, later);
      await expect.poll(async () => (await catalogOf(url)).products.find((p) => p.slot === "A2")?.picture?.url, { timeout: 10_000 }).toBe(`/pictures/${laterRef.sha256}`);
      expect(bridge.pictures!.pending).toEqual([]);

      // Only 64 lower-case hex digits name a picture; nothing else under /pictures/ reaches the disk.
      for (const bad of [`/pictures/${goodRef.sha256.toUpperCase()}`, `/pictures/${goodRef.sha256}.webp`, "/pictures/..%2fmachine.db", `/pictures/${"0".repeat(64)}`]) {
        const r = await fetch(new URL(bad, url));
        expect(r.status, bad).toBe(404);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe("not_found");
      }

      // A slot naming a product the state does not define: the whole state is refused, the catalog stays.
      await publishDesired(machineId, install, 3, { slots: { A1: { product: "no-such-product" } }, products });
      await expect.poll(() => reported.find((r) => (r.error as { code?: string } | null)?.code === "unknown_product"), { timeout: 10_000 }).toMatchObject({ status: "refused", version: 2 });
      expect((await catalogOf(url)).products.find((p) => p.slot === "A1")!.name).toBe("Salted crisps");

      // Version 4 drops the nuts product: A2 shows the config's name again.
      await publishDesired(machineId, install, 4, {
        slots: { A1: { product: "crisps-salt", price: { unit: "msat", amountMsat: "1200000" } }, A2: { enabled: true } },
        products: { "crisps-salt": products["crisps-salt"] },
      });
      await expect.poll(() => reported.find((r) => r.version === 4)?.status, { timeout: 10_000 }).toBe("applied");
      expect((await catalogOf(url)).products.find((p) => p.slot === "A2")).toMatchObject({ name: "Nuts", enabled: true });
      expect((await catalogOf(url)).products.find((p) => p.slot === "A2")!.names).toBeUndefined();
      // The nuts' picture no product of the applied state references is gone from the SD card at once (no restart).
      expect(readdirSync(path.join(dataDir, "pictures"))).toEqual([`${goodRef.sha256}.webp`]);
      expect((await fetch(new URL(`/pictures/${laterRef.sha256}`, url))).status).toBe(404);
      expect((await fetch(new URL(`/pictures/${goodRef.sha256}`, url))).status).toBe(200);
      await sub.endAsync();

      // Restart with no broker at all: what the fleet set is still on the screen, and the picture no slot shows any
      // more stays gone from the SD card.
      await machine.stop();
      machine = new Machine(config(machineId, dataDir, `mqtt://127.0.0.1:${await freePort()}`));
      url = await machine.start();
      cat = await catalogOf(url);
      expect(cat.products.find((p) => p.slot === "A1")).toMatchObject({
        name: "Salted crisps",
        names: products["crisps-salt"].names,
        priceMsat: "1200000",
        picture: { url: `/pictures/${goodRef.sha256}`, width: 120, height: 90 },
      });
      expect(cat.products.find((p) => p.slot === "A2")).toMatchObject({ name: "Nuts", enabled: true });
      expect(readdirSync(path.join(dataDir, "pictures"))).toEqual([`${goodRef.sha256}.webp`]);
      expect((await fetch(new URL(`/pictures/${goodRef.sha256}`, url))).status).toBe(200);
      expect((await fetch(new URL(`/pictures/${laterRef.sha256}`, url))).status).toBe(404);
    } finally {
      await machine.stop();
    }
  });
});
