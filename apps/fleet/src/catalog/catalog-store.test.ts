// The catalog's rows on both engines (SQLite always, PostgreSQL with TEST_PG_URL): the same answers from each.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { engines } from "../__fixtures__/stores.js";
import { CatalogStore } from "./catalog-store.js";

const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const sha = (c: string) => c.repeat(64);
const eur = (amountMinor: number) => ({ unit: "fiat", currency: "EUR", amountMinor }) as const;

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`CatalogStore on ${engine.name}`, () => {
    let store: CatalogStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      const opened = await engine.open();
      cleanup = opened.cleanup;
      store = new CatalogStore(opened.store.db);
    });
    afterEach(async () => {
      await cleanup();
    });

    it("stores a picture once by its hash, bytes intact, and gives its reference", async () => {
      const data = Buffer.from([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, 0xff, 0x00, 0x80]);
      const p = { sha256: sha("a"), type: "image/webp" as const, bytes: data.length, width: 400, height: 300, data, sourceBytes: 123_456, createdAt: T0 };
      expect(await store.putPicture(p)).toBe(true);
      expect(await store.putPicture({ ...p, createdAt: T0 + 1 })).toBe(false);
      const got = await store.getPicture(sha("a"));
      expect(got?.data.equals(data)).toBe(true);
      expect(got).toMatchObject({ sha256: sha("a"), type: "image/webp", bytes: 15, width: 400, height: 300, sourceBytes: 123_456, createdAt: T0 });
      expect(await store.getPicture(sha("b"))).toBeNull();
      expect([...(await store.pictureRefs([sha("a"), sha("b")])).keys()]).toEqual([sha("a")]);
      // Not used by any product yet: not among the pictures published on connect.
      expect(await store.picturesInUse()).toEqual([]);
    });

    it("creates, replaces and lists products with names, icon, picture and price", async () => {
      await store.putPicture({ sha256: sha("c"), type: "image/webp", bytes: 10, width: 2, height: 2, data: Buffer.alloc(10), sourceBytes: 10, createdAt: T0 });
      await store.upsertProduct({ id: "crisps", names: { en: "Crisps", fr: "Chips", ja: "ポテトチップス", zh: "薯片" }, icon: "🥔", picture: sha("c"), price: eur(150) }, T0);
      await store.upsertProduct({ id: "cola", names: { en: "Cola" }, icon: null, picture: null, price: { unit: "msat", amountMsat: "2000000" } }, T0);
      const again = await store.upsertProduct({ id: "crisps", names: { en: "Crisps", fr: "Chips" }, icon: "🥔", picture: sha("c"), price: eur(180) }, T0 + 60_000);
      expect(again).toEqual({
        id: "crisps",
        names: { en: "Crisps", fr: "Chips" },
        icon: "🥔",
        picture: { sha256: sha("c"), type: "image/webp", bytes: 10, width: 2, height: 2 },
        price: eur(180),
        updatedAt: T0 + 60_000,
      });
      expect((await store.listProducts()).map((p) => p.id)).toEqual(["cola", "crisps"]);
      expect((await store.getProducts(["crisps", "nope"])).map((p) => p.id)).toEqual(["crisps"]);
      expect((await store.picturesInUse()).map((p) => p.sha256)).toEqual([sha("c")]);
    });

    it("assigns products to slots and selections, replaces and clears them, and refuses to delete a product in use", async () => {
      await store.upsertProduct({ id: "crisps", names: { en: "Crisps" }, icon: null, picture: null, price: eur(150) }, T0);
      await store.upsertProduct({ id: "cola", names: { en: "Cola" }, icon: null, picture: null, price: eur(200) }, T0);
      await store.assign("snacks-01", "A1", "crisps", null, T0);
      await store.assign("snacks-01", "A2", "crisps", eur(170), T0);
      await store.assign("mdb-01", "S12", "cola", null, T0);
      expect(await store.machinesShowing("crisps")).toEqual(["snacks-01"]);
      expect(await store.assignedMachines()).toEqual(["mdb-01", "snacks-01"]);
      expect(await store.listAssignments("snacks-01")).toEqual([
        { machineId: "snacks-01", slot: "A1", product: "crisps", price: null, updatedAt: T0 },
        { machineId: "snacks-01", slot: "A2", product: "crisps", price: eur(170), updatedAt: T0 },
      ]);
      const replaced = await store.assign("snacks-01", "A2", "cola", null, T0 + 1);
      expect(replaced).toEqual({ machineId: "snacks-01", slot: "A2", product: "cola", price: null, updatedAt: T0 + 1 });
      expect(await store.machinesShowing("cola")).toEqual(["mdb-01", "snacks-01"]);

      const refused = await store.deleteProduct("cola");
      expect(refused.deleted).toBe(false);
      expect(refused.assigned.map((a) => `${a.machineId}/${a.slot}`)).toEqual(["mdb-01/S12", "snacks-01/A2"]);
      expect(await store.unassign("mdb-01", "S12")).toBe(true);
      expect(await store.unassign("mdb-01", "S12")).toBe(false);
      expect(await store.unassign("snacks-01", "A2")).toBe(true);
      expect(await store.deleteProduct("cola")).toEqual({ deleted: true, assigned: [] });
      expect(await store.deleteProduct("cola")).toEqual({ deleted: false, assigned: [] });
      expect((await store.listAssignments()).map((a) => `${a.machineId}/${a.slot}/${a.product}`)).toEqual(["snacks-01/A1/crisps"]);
    });
  });
}
