// Unused catalog pictures are deleted (issue #18), on both engines: a picture a product references is kept however
// old, one a product dropped goes once the grace after the drop is over, a fresh upload nobody references yet is
// kept within the grace, and a deleted picture's retained MQTT topic is cleared. The clock is a test clock, the
// pictures real uploads through sharp, the link the signing link with the broker replaced by a list.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseFleetConfig, type MqttMessage } from "@zapvend/protocol";
import { birth } from "../__fixtures__/messages.js";
import { RecordingLink, testSigner } from "../__fixtures__/recording-link.js";
import { engines } from "../__fixtures__/stores.js";
import { silentLogger } from "../clock.js";
import { FleetService } from "../fleet-service.js";
import { FleetServer } from "../server.js";
import { CatalogService, PICTURE_GRACE_MS } from "./catalog-service.js";

const HOUR = 3_600_000;
const eur = (amountMinor: number) => ({ unit: "fiat", currency: "EUR", amountMinor }) as const;

/** A small PNG of one colour: each colour uploads as a different picture. */
async function png(r: number, g: number, b: number): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } }).png().toBuffer();
}

for (const engine of engines) describe.skipIf(engine.skip !== null)(`unused catalog pictures on ${engine.name}`, () => {
  let service: FleetService;
  let catalog: CatalogService;
  let link: RecordingLink;
  let cleanup: () => Promise<void>;
  let now = Date.UTC(2026, 11, 7, 9, 0, 0);

  beforeEach(async () => {
    const opened = await engine.open();
    cleanup = opened.cleanup;
    link = new RecordingLink(testSigner().signer);
    service = new FleetService({ store: opened.store, link, liveIntervalMs: 20, alertIntervalMs: 60_000 });
    await service.start();
    catalog = new CatalogService({ service, clock: { now: () => now }, log: () => {} });
    await service.ingest([birth("snacks-01", { slots: [{ slot: "A1" }, { slot: "A2" }] })]);
  });

  afterEach(async () => {
    await service.stop();
    await cleanup();
  });

  const upload = async (r: number, g: number, b: number) => (await catalog.uploadPicture(await png(r, g, b))).picture.sha256;
  const stored = async (sha: string) => (await catalog.store.getPicture(sha)) !== null;

  it("keeps a referenced picture, deletes a replaced one after the grace, keeps a fresh upload within it", async () => {
    const first = await upload(200, 40, 40);
    await catalog.upsertProduct("crisps", { names: { en: "Crisps" }, picture: first, price: eur(150) });
    await catalog.assign("snacks-01", "A1", "crisps", null);
    const kept = await upload(40, 200, 40);
    await catalog.upsertProduct("nuts", { names: { en: "Nuts" }, picture: kept, price: eur(180) });

    // Two days later the crisps get a new picture: the first one is referenced no more, from now on.
    now += 48 * HOUR;
    const second = await upload(40, 40, 200);
    await catalog.upsertProduct("crisps", { names: { en: "Crisps" }, picture: second, price: eur(150) });
    // A fresh upload nobody has chosen yet (an operator about to assign it).
    now += HOUR;
    const fresh = await upload(120, 120, 0);
    expect(await catalog.sweepPictures()).toEqual([]);

    // Just before the grace after the replacement is over: all kept.
    now += PICTURE_GRACE_MS - 2 * HOUR;
    expect(await catalog.sweepPictures()).toEqual([]);
    for (const sha of [first, second, kept, fresh]) expect(await stored(sha)).toBe(true);

    // Past it: the replaced picture goes, the fresh upload (an hour younger) stays a little longer.
    now += HOUR + 1;
    link.pictures.length = 0;
    expect(await catalog.sweepPictures()).toEqual([first]);
    expect(await stored(first)).toBe(false);
    for (const sha of [second, kept, fresh]) expect(await stored(sha)).toBe(true);
    // Its retained topic is cleared (an empty retained message), so the broker forgets it too.
    expect(link.pictures).toEqual([{ sha256: first, bytes: Buffer.alloc(0) }]);
    expect((await catalog.catalog()).products.map((p) => p.picture?.sha256)).toEqual([second, kept]);

    // The upload nobody chose goes a grace after its upload; referenced pictures never go, however old.
    now += HOUR;
    expect(await catalog.sweepPictures()).toEqual([fresh]);
    now += 30 * 24 * HOUR;
    expect(await catalog.sweepPictures()).toEqual([]);
    for (const sha of [second, kept]) expect(await stored(sha)).toBe(true);
  });

  it("restarts the grace when a picture is uploaded again, chosen again, or its product is deleted", async () => {
    const a = await upload(10, 20, 30);
    now += PICTURE_GRACE_MS - HOUR;
    // The same bytes uploaded again (idempotent: the same sha256): a new grace from now.
    expect(await upload(10, 20, 30)).toBe(a);
    now += 2 * HOUR;
    expect(await catalog.sweepPictures()).toEqual([]);

    // Chosen for a product, then the product is deleted: the grace starts at the deletion.
    await catalog.upsertProduct("cola", { names: { en: "Cola" }, picture: a, price: eur(200) });
    now += 10 * 24 * HOUR;
    await catalog.deleteProduct("cola");
    now += PICTURE_GRACE_MS - 1;
    expect(await catalog.sweepPictures()).toEqual([]);
    now += 1;
    expect(await catalog.sweepPictures()).toEqual([a]);
    // Gone: a product can no longer name it (the console uploads again).
    await expect(catalog.upsertProduct("cola", { names: { en: "Cola" }, picture: a, price: eur(200) })).rejects.toMatchObject({ code: "picture_not_found" });
  });

  it("waits for the broker: nothing is deleted while the link is down, so the retained copy goes with the row", async () => {
    const a = await upload(90, 90, 90);
    now += PICTURE_GRACE_MS;
    link.connected = false;
    expect(await catalog.sweepPictures()).toEqual([]);
    expect(await stored(a)).toBe(true);
    link.connected = true;
    link.pictures.length = 0;
    expect(await catalog.sweepPictures()).toEqual([a]);
    expect(await stored(a)).toBe(false);
    expect(link.pictures).toEqual([{ sha256: a, bytes: Buffer.alloc(0) }]);
  });
});

/** The recording link, telling the server it connected (as the real link does once the broker answers). */
class ConnectingLink extends RecordingLink {
  override async start(onMessage: (msg: MqttMessage) => void, onConnect?: () => void): Promise<void> {
    await super.start(onMessage);
    onConnect?.();
  }
}

describe("FleetServer's picture sweep", () => {
  let dir: string;
  let server: FleetServer | undefined;
  afterEach(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs when the link connects at start: an unreferenced picture past its grace goes, a fresh one stays", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "zapvend-fleet-sweep-"));
    writeFileSync(path.join(dir, "key.pem"), generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    const cfg = parseFleetConfig({ http: { host: "127.0.0.1", port: 0 }, database: path.join(dir, "fleet.db"), operatorKey: { keyId: "op", privateKeyPath: path.join(dir, "key.pem") } });
    if (!cfg.ok) throw new Error(cfg.error.message);
    // A first run leaves two unreferenced pictures: one uploaded 25 h ago, one a minute ago.
    server = new FleetServer({ config: cfg.value, log: silentLogger, link: new RecordingLink() });
    await server.start();
    const bytes = Buffer.from("RIFF\0\0\0\0WEBPVP8L");
    const put = (sha256: string, createdAt: number) => server!.catalog.store.putPicture({ sha256, type: "image/webp", bytes: bytes.length, width: 1, height: 1, data: bytes, sourceBytes: 1, createdAt });
    await put("a".repeat(64), Date.now() - PICTURE_GRACE_MS - 3_600_000);
    await put("b".repeat(64), Date.now() - 60_000);
    await server.stop();

    const link = new ConnectingLink();
    server = new FleetServer({ config: cfg.value, log: silentLogger, link });
    await server.start();
    await expect.poll(async () => (await server!.catalog.store.getPicture("a".repeat(64))) === null).toBe(true);
    expect(await server.catalog.store.getPicture("b".repeat(64))).not.toBeNull();
    expect(link.pictures).toEqual([{ sha256: "a".repeat(64), bytes: Buffer.alloc(0) }]);
  });
});
