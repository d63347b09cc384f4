// The catalog API as the console and an operator's scripts use it: real HTTP on 127.0.0.1, a real SQLite file, the
// real signing link with the broker replaced by a list (RecordingLink). Roles, hostile uploads, and what reaches a
// machine: the picture retained on its topic, then a signed desired state with products, slot product and price.
import { verify } from "node:crypto";
import sharp from "sharp";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canonicalJson, parseMqttMessage, unknownSlotProducts, type DesiredStatePayload } from "@zapvend/protocol";
import { bearer } from "../__fixtures__/auth.js";
import { birth } from "../__fixtures__/messages.js";
import { errorCode, raw } from "../__fixtures__/raw-http.js";
import { RecordingLink, testSigner } from "../__fixtures__/recording-link.js";
import { engines } from "../__fixtures__/stores.js";
import { FleetService } from "../fleet-service.js";
import { FleetHttpServer } from "../http-server.js";
import { CatalogService } from "./catalog-service.js";

const eur = (amountMinor: number) => ({ unit: "fiat", currency: "EUR", amountMinor }) as const;

for (const engine of engines) describe.skipIf(engine.skip !== null)(`fleet catalog API (issue #18) on ${engine.name}`, () => {
  let service: FleetService;
  let http: FleetHttpServer;
  let catalog: CatalogService;
  let link: RecordingLink;
  let publicKeyPem: string;
  let cleanup: () => Promise<void>;
  let base: string;
  const as: Record<"viewer" | "technician" | "operator", Record<string, string>> = { viewer: {}, technician: {}, operator: {} };

  beforeEach(async () => {
    const opened = await engine.open();
    cleanup = opened.cleanup;
    const keys = testSigner();
    link = new RecordingLink(keys.signer);
    publicKeyPem = keys.publicKeyPem;
    service = new FleetService({ store: opened.store, link, liveIntervalMs: 20, alertIntervalMs: 60_000 });
    await service.start();
    catalog = new CatalogService({ service, clock: { now: Date.now }, log: () => {} });
    http = new FleetHttpServer({ service, catalog, port: 0 });
    await http.start();
    base = http.url;
    for (const role of ["viewer", "technician", "operator"] as const) as[role] = await bearer(http.auth, role);
    await service.ingest([
      birth("snacks-01", { slots: [{ slot: "A1" }, { slot: "A2" }] }),
      birth("snacks-02", { slots: [{ slot: "A1" }] }),
      birth("mdb-01", { board: "mdb", slots: [{ slot: "S12" }, { slot: "S13" }] }),
    ]);
  });

  afterEach(async () => {
    await http.stop();
    await service.stop();
    await cleanup();
  });

  const call = async (role: keyof typeof as, method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      headers: { ...as[role], ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const bytes = Buffer.from(await r.arrayBuffer());
    const isJson = (r.headers.get("content-type") ?? "").startsWith("application/json");
    return { status: r.status, headers: r.headers, body: (isJson ? JSON.parse(bytes.toString("utf8")) : {}) as Record<string, unknown>, bytes };
  };
  const upload = (role: keyof typeof as, bytes: Buffer) => call(role, "POST", "/api/pictures", { dataBase64: bytes.toString("base64") });
  const desiredOf = (machineId: string) =>
    link.published.filter((p) => p.topic === `zapvend/v1/m/${machineId}/state/desired`).map((p) => p.payload as unknown as DesiredStatePayload & { sig: string });
  const crisps = { names: { en: "Crisps", fr: "Chips", ja: "ポテトチップス", zh: "薯片" }, icon: "🥔", price: eur(150) };

  it("uploads a photo as a WebP of at most 40 KB addressed by its hash, served immutable to every role", async () => {
    const photo = await sharp({ create: { width: 2400, height: 1800, channels: 3, background: "#d9822b" } }).jpeg({ quality: 95 }).toBuffer();
    const up = await upload("operator", photo);
    expect(up.status).toBe(201);
    const pic = up.body.picture as { sha256: string; bytes: number; width: number; height: number; type: string };
    expect(pic).toMatchObject({ type: "image/webp", width: 480, height: 360 });
    expect(pic.bytes).toBeLessThanOrEqual(40_960);
    expect(up.body).toMatchObject({ sourceBytes: photo.length, sourceWidth: 2400, sourceHeight: 1800 });
    // The same photo again: the same picture, not a second one.
    expect(await upload("operator", photo)).toMatchObject({ status: 200, body: { picture: { sha256: pic.sha256 } } });
    for (const role of ["viewer", "technician", "operator"] as const) {
      const got = await call(role, "GET", `/api/pictures/${pic.sha256}`);
      expect(got.status).toBe(200);
      expect(got.headers.get("content-type")).toBe("image/webp");
      expect(got.headers.get("cache-control")).toContain("immutable");
      expect(got.bytes.length).toBe(pic.bytes);
    }
    expect((await call("viewer", "GET", `/api/pictures/${"0".repeat(64)}`)).body).toMatchObject({ error: { code: "picture_not_found" } });
    expect((await call("viewer", "GET", "/api/pictures/../../etc/passwd")).status).toBe(404);
    expect((await call("viewer", "GET", "/api/pictures/ABC")).body).toMatchObject({ error: { code: "bad_value" } });
    const audit = await http.auth.listAudit({ action: "catalog.picture", limit: 10 });
    expect(audit).toHaveLength(2);
  });

  it("refuses hostile uploads with codes: not an image, SVG, not base64, too large, a form post, below operator", async () => {
    expect(await upload("operator", Buffer.from("MZ\x90\x00 this is an executable, not a picture"))).toMatchObject({ status: 400, body: { error: { code: "bad_image" } } });
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><image href="file:///etc/passwd"/></svg>');
    expect(await upload("operator", svg)).toMatchObject({ status: 415, body: { error: { code: "unsupported_image" } } });
    expect(await call("operator", "POST", "/api/pictures", { dataBase64: "not base64 at all!" })).toMatchObject({ status: 400, body: { error: { code: "bad_image" } } });
    expect(await call("operator", "POST", "/api/pictures", { dataBase64: "AAAA", extra: 1 })).toMatchObject({ status: 400, body: { error: { code: "unknown_key" } } });
    // 12 MB of base64 (a 9 MB "image") passes the body limit but not the decoder; 15 MB is refused by its length.
    const huge = "A".repeat(15 * 1024 * 1024);
    const big = await raw(base, "POST", "/api/pictures", { ...as.operator, "content-type": "application/json" }, JSON.stringify({ dataBase64: huge }));
    expect([big.status, errorCode(big)]).toEqual([413, "too_large"]);
    // A cross-site form cannot post a picture: the guard wants JSON before the route runs.
    const form = await raw(base, "POST", "/api/pictures", { ...as.operator, "content-type": "multipart/form-data; boundary=x" }, "--x\r\n\r\nabc\r\n--x--");
    expect([form.status, errorCode(form)]).toEqual([415, "unsupported_media_type"]);
    const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: "#000" } }).png().toBuffer();
    // Raw image bytes are not taken either (only the JSON form): the same guard refuses them.
    const rawPng = await raw(base, "POST", "/api/pictures", { ...as.operator, "content-type": "image/png" }, png.toString("latin1"));
    expect([rawPng.status, errorCode(rawPng)]).toEqual([415, "unsupported_media_type"]);
    expect(await upload("technician", png)).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await upload("viewer", png)).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await http.auth.listAudit({ action: "catalog.picture", limit: 10 })).toHaveLength(0);
  });

  it("lets operators edit products and assign them; viewers and technicians only read", async () => {
    expect(await call("technician", "PUT", "/api/catalog/products/crisps", crisps)).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await call("operator", "PUT", "/api/catalog/products/Crisps!", crisps)).toMatchObject({ status: 400, body: { error: { code: "bad_value" } } });
    expect(await call("operator", "PUT", "/api/catalog/products/crisps", { ...crisps, names: { fr: "Chips" } })).toMatchObject({ status: 400 });
    expect(await call("operator", "PUT", "/api/catalog/products/crisps", { ...crisps, picture: "f".repeat(64) })).toMatchObject({ status: 400, body: { error: { code: "picture_not_found" } } });
    const created = await call("operator", "PUT", "/api/catalog/products/crisps", crisps);
    expect(created).toMatchObject({ status: 201, body: { product: { id: "crisps", names: crisps.names, icon: "🥔", picture: null, price: eur(150) }, machines: [] } });
    expect((await call("operator", "PUT", "/api/catalog/products/crisps", { ...crisps, price: eur(160) })).status).toBe(200);
    expect(await call("technician", "PUT", "/api/catalog/machines/snacks-01/slots/A1", { product: "crisps" })).toMatchObject({ status: 403 });
    expect(await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/Z9", { product: "crisps" })).toMatchObject({ status: 400, body: { error: { code: "unknown_slot" } } });
    expect(await call("operator", "PUT", "/api/catalog/machines/nobody/slots/A1", { product: "crisps" })).toMatchObject({ status: 404, body: { error: { code: "machine_not_found" } } });
    expect(await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A1", { product: "tea" })).toMatchObject({ status: 404, body: { error: { code: "product_not_found" } } });
    expect((await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A1", { product: "crisps" })).status).toBe(200);
    for (const role of ["viewer", "technician"] as const) {
      const c = await call(role, "GET", "/api/catalog");
      expect(c.body).toMatchObject({ products: [{ id: "crisps", price: eur(160) }], assignments: [{ machineId: "snacks-01", slot: "A1", product: "crisps", price: null }] });
    }
    expect(await call("operator", "DELETE", "/api/catalog/products/crisps", {})).toMatchObject({ status: 409, body: { error: { code: "product_in_use" } } });
    expect((await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A1", { product: null })).status).toBe(200);
    expect(await call("operator", "DELETE", "/api/catalog/products/crisps", {})).toMatchObject({ status: 200, body: { deleted: "crisps" } });
    expect(await call("operator", "DELETE", "/api/catalog/products/crisps", {})).toMatchObject({ status: 404, body: { error: { code: "product_not_found" } } });
    const actions = (await http.auth.listAudit({ limit: 50 })).map((a) => `${a.action}${a.ok ? "" : " (refused)"}`);
    expect(actions.filter((a) => a.startsWith("catalog."))).toEqual([
      "catalog.product.delete (refused)",
      "catalog.product.delete",
      "catalog.assign",
      "catalog.product.delete (refused)",
      "catalog.assign",
      "catalog.product",
      "catalog.product",
    ]);
  });

  it("gives one machine's part of the catalog to every role: its slots' assignments and only the products they show", async () => {
    await call("operator", "PUT", "/api/catalog/products/crisps", crisps);
    await call("operator", "PUT", "/api/catalog/products/cola", { names: { en: "Cola" }, price: { unit: "msat", amountMsat: "2000000" } });
    await call("operator", "PUT", "/api/catalog/products/tea", { names: { en: "Tea" }, price: eur(120) });
    await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A2", { product: "crisps", price: eur(199) });
    await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A1", { product: "cola" });
    await call("operator", "PUT", "/api/catalog/machines/snacks-02/slots/A1", { product: "tea" });
    for (const role of ["viewer", "technician", "operator"] as const) {
      const r = await call(role, "GET", "/api/catalog/machines/snacks-01");
      expect(r.status).toBe(200);
      expect((r.body.products as Array<{ id: string }>).map((p) => p.id)).toEqual(["cola", "crisps"]);
      expect(r.body.assignments).toEqual([
        { machineId: "snacks-01", slot: "A1", product: "cola", price: null, updatedAt: expect.any(Number) },
        { machineId: "snacks-01", slot: "A2", product: "crisps", price: eur(199), updatedAt: expect.any(Number) },
      ]);
    }
    // A machine without assignments: empty lists; one that never reported, or a bad id: errors with codes.
    expect((await call("viewer", "GET", "/api/catalog/machines/mdb-01")).body).toEqual({ products: [], assignments: [] });
    expect(await call("viewer", "GET", "/api/catalog/machines/nobody")).toMatchObject({ status: 404, body: { error: { code: "machine_not_found" } } });
    expect(await call("viewer", "GET", "/api/catalog/machines/Not%20One")).toMatchObject({ status: 400, body: { error: { code: "bad_value" } } });
  });

  it("sends the picture retained, then a signed desired state with products, slot product and price, to every affected machine", async () => {
    const photo = await sharp({ create: { width: 1600, height: 1600, channels: 3, background: "#3a7" } }).png().toBuffer();
    const sha = ((await upload("operator", photo)).body.picture as { sha256: string }).sha256;
    await call("operator", "PUT", "/api/catalog/products/crisps", { ...crisps, picture: sha });
    await call("operator", "PUT", "/api/catalog/products/cola", { names: { en: "Cola" }, price: { unit: "msat", amountMsat: "2000000" } });
    expect(link.pictures).toHaveLength(0); // not referenced by any machine yet

    const a1 = await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A1", { product: "crisps" });
    expect(a1.body.machines).toEqual([{ machineId: "snacks-01", version: 1, sent: true }]);
    await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A2", { product: "cola", price: { unit: "msat", amountMsat: "2500000" } });
    await call("operator", "PUT", "/api/catalog/machines/snacks-02/slots/A1", { product: "crisps" });
    await call("operator", "PUT", "/api/catalog/machines/mdb-01/slots/S12", { product: "cola" });

    // The picture went out once, retained, with the bytes the fleet serves, before the first state naming it.
    expect(link.pictures.map((p) => p.sha256)).toEqual([sha]);
    const served = (await call("viewer", "GET", `/api/pictures/${sha}`)).bytes;
    expect(link.pictures[0]!.bytes.equals(served)).toBe(true);

    const s1 = desiredOf("snacks-01");
    expect(s1.map((d) => d.version)).toEqual([1, 2]);
    const last = s1.at(-1)!;
    expect(last.slots).toEqual({ A1: { product: "crisps", price: eur(150) }, A2: { product: "cola", price: { unit: "msat", amountMsat: "2500000" } } });
    expect(last.products).toEqual({
      crisps: { names: crisps.names, icon: "🥔", picture: { sha256: sha, type: "image/webp", bytes: served.length, width: 480, height: 480 } },
      cola: { names: { en: "Cola" } },
    });
    expect(unknownSlotProducts(last)).toEqual([]);
    // Valid on the wire and signed over every field, products included.
    expect(parseMqttMessage("zapvend/v1/m/snacks-01/state/desired", JSON.stringify(last)).ok).toBe(true);
    const { sig, ...unsigned } = last;
    expect(verify(null, Buffer.from(canonicalJson(unsigned)), publicKeyPem, Buffer.from(sig, "base64url"))).toBe(true);
    expect(desiredOf("mdb-01").at(-1)).toMatchObject({ slots: { S12: { product: "cola", price: { unit: "msat", amountMsat: "2000000" } } }, products: { cola: { names: { en: "Cola" } } } });

    // Editing a product: a new version for exactly the machines showing it, nothing for the others.
    const edited = await call("operator", "PUT", "/api/catalog/products/crisps", { ...crisps, names: { ...crisps.names, en: "Salted crisps" }, price: eur(170), picture: sha });
    expect(edited.body.machines).toEqual([
      { machineId: "snacks-01", version: 3, sent: true },
      { machineId: "snacks-02", version: 2, sent: true },
    ]);
    expect(desiredOf("snacks-01").at(-1)).toMatchObject({ version: 3, slots: { A1: { product: "crisps", price: eur(170) } }, products: { crisps: { names: { en: "Salted crisps" } } } });
    expect(desiredOf("mdb-01")).toHaveLength(1);
    // The same edit again changes nothing, so nothing is sent.
    const same = await call("operator", "PUT", "/api/catalog/products/crisps", { ...crisps, names: { ...crisps.names, en: "Salted crisps" }, price: eur(170), picture: sha });
    expect(same.body.machines).toEqual([
      { machineId: "snacks-01", version: 3, sent: false },
      { machineId: "snacks-02", version: 2, sent: false },
    ]);
    // Clearing a slot removes its product from the state, and the product once no slot shows it.
    await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A2", { product: null });
    const cleared = desiredOf("snacks-01").at(-1)!;
    expect(cleared.slots!.A2).toEqual({ price: { unit: "msat", amountMsat: "2500000" } });
    expect(Object.keys(cleared.products!)).toEqual(["crisps"]);
    // The machine's desired-state history shows the catalog's changes with who made them.
    const history = (await call("viewer", "GET", "/api/machines/snacks-01/desired/history")).body as unknown as Array<{ detail: { version: number; catalog: unknown } }>;
    expect(history.map((h) => h.detail.version)).toEqual([4, 3, 2, 1]);
    expect(history[1]!.detail.catalog).toEqual({ product: "crisps" });
    expect((history[1]!.detail as unknown as { diff: { products: unknown } }).diff.products).toEqual({
      crisps: { before: expect.objectContaining({ names: crisps.names }), after: expect.objectContaining({ names: { ...crisps.names, en: "Salted crisps" } }) },
    });
    expect((history[0]!.detail as unknown as { diff: { products: unknown } }).diff.products).toEqual({ cola: { before: { names: { en: "Cola" } }, after: null } });
  });

  it("saves a change made while the broker is away and sends it, with its pictures, when the link comes back", async () => {
    const sha = ((await upload("operator", await sharp({ create: { width: 300, height: 200, channels: 3, background: "#a33" } }).png().toBuffer())).body.picture as { sha256: string }).sha256;
    await call("operator", "PUT", "/api/catalog/products/crisps", { ...crisps, picture: sha });
    link.connected = false;
    const r = await call("operator", "PUT", "/api/catalog/machines/snacks-01/slots/A1", { product: "crisps" });
    expect(r.status).toBe(200);
    expect(r.body.machines).toEqual([{ machineId: "snacks-01", version: null, sent: false, error: { code: "link_down", message: expect.any(String) } }]);
    expect(desiredOf("snacks-01")).toHaveLength(0);
    link.connected = true;
    expect(await catalog.onConnected()).toEqual({ pictures: 1, machines: 1 });
    expect(link.pictures.map((p) => p.sha256)).toEqual([sha]);
    expect(desiredOf("snacks-01").at(-1)).toMatchObject({ version: 1, slots: { A1: { product: "crisps" } }, products: { crisps: { picture: { sha256: sha } } } });
    // Every (re)connection publishes the pictures again (a broker without persistence lost them); states only when behind.
    expect(await catalog.onConnected()).toEqual({ pictures: 1, machines: 0 });
    expect(link.pictures).toHaveLength(2);
  });
});
