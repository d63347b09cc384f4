// The fleet catalog's rows (migration 7): products, their pictures and which machine slot shows which product.
// Over the same `SqlDb` as FleetStore (SQLite or PostgreSQL), kept out of it so the catalog has its own module.
import type { FleetProduct, PictureRef, Price, ProductNames, SlotAssignment } from "@zapvend/protocol";
import { num, str, strOrNull, type Row, type SqlDb } from "../store/db.js";

/** A picture as stored: its reference plus the bytes. */
export interface StoredPicture extends PictureRef {
  data: Buffer;
  sourceBytes: number;
  /**
   * When it was uploaded, and moved later each time it is uploaded again, chosen for a product or dropped by one
   * (`touchPictures`): the start of the grace after which a picture no product references is deleted
   * (`deleteUnreferencedPictures`). The column keeps migration 7's name, `created_at`.
   */
  createdAt: number;
}

export interface ProductInput {
  id: string;
  names: ProductNames;
  icon: string | null;
  picture: string | null;
  price: Price;
}

export class CatalogStore {
  constructor(readonly db: SqlDb) {}

  // ------------------------------------------------------------------ pictures

  /** Stores a picture once by its hash (the same bytes twice are one row). True when it was new. */
  async putPicture(p: StoredPicture): Promise<boolean> {
    const r = await this.db.run(
      "INSERT INTO catalog_pictures (sha256, type, bytes, width, height, data_base64, source_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
      [p.sha256, p.type, p.bytes, p.width, p.height, p.data.toString("base64"), p.sourceBytes, p.createdAt],
    );
    return r.changes > 0;
  }

  async getPicture(sha256: string): Promise<StoredPicture | null> {
    const r = (await this.db.all("SELECT * FROM catalog_pictures WHERE sha256 = ?", [sha256]))[0];
    return r ? pictureOf(r) : null;
  }

  /** The reference (no bytes) of each of these pictures that exists. */
  async pictureRefs(hashes: readonly string[]): Promise<Map<string, PictureRef>> {
    const out = new Map<string, PictureRef>();
    if (hashes.length === 0) return out;
    const rows = await this.db.all(`SELECT sha256, type, bytes, width, height FROM catalog_pictures WHERE sha256 IN (${hashes.map(() => "?").join(", ")})`, [...hashes]);
    for (const r of rows) out.set(str(r.sha256), refOf(r));
    return out;
  }

  /**
   * Restarts the grace of these pictures at `nowMs` (never moves it back); returns the references of those that
   * exist. A picture touched is not deleted by `deleteUnreferencedPictures` before the grace has passed again.
   */
  async touchPictures(hashes: readonly string[], nowMs: number): Promise<Map<string, PictureRef>> {
    if (hashes.length === 0) return new Map();
    await this.db.run(`UPDATE catalog_pictures SET created_at = ? WHERE created_at < ? AND sha256 IN (${hashes.map(() => "?").join(", ")})`, [nowMs, nowMs, ...hashes]);
    return this.pictureRefs(hashes);
  }

  /**
   * Deletes every picture no product references whose grace started at or before `cutoffMs`; returns their hashes.
   * One statement: a product saved meanwhile that references a picture keeps it.
   */
  async deleteUnreferencedPictures(cutoffMs: number): Promise<string[]> {
    const rows = await this.db.all(
      `DELETE FROM catalog_pictures WHERE created_at <= ?
         AND sha256 NOT IN (SELECT picture_sha256 FROM catalog_products WHERE picture_sha256 IS NOT NULL) RETURNING sha256`,
      [cutoffMs],
    );
    return rows.map((r) => str(r.sha256)).sort();
  }

  /** Every picture a product uses (what the fleet publishes on MQTT when it connects). */
  async picturesInUse(): Promise<StoredPicture[]> {
    const rows = await this.db.all("SELECT * FROM catalog_pictures WHERE sha256 IN (SELECT picture_sha256 FROM catalog_products WHERE picture_sha256 IS NOT NULL) ORDER BY sha256");
    return rows.map(pictureOf);
  }

  // ------------------------------------------------------------------ products

  async listProducts(): Promise<FleetProduct[]> {
    const rows = await this.db.all("SELECT * FROM catalog_products ORDER BY id");
    return this.products(rows);
  }

  async getProduct(id: string): Promise<FleetProduct | null> {
    const rows = await this.db.all("SELECT * FROM catalog_products WHERE id = ?", [id]);
    return (await this.products(rows))[0] ?? null;
  }

  async getProducts(ids: readonly string[]): Promise<FleetProduct[]> {
    if (ids.length === 0) return [];
    return this.products(await this.db.all(`SELECT * FROM catalog_products WHERE id IN (${ids.map(() => "?").join(", ")}) ORDER BY id`, [...ids]));
  }

  /** Creates or replaces a product. */
  async upsertProduct(p: ProductInput, nowMs: number): Promise<FleetProduct> {
    await this.db.run(
      `INSERT INTO catalog_products (id, names_json, icon, picture_sha256, price_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET names_json = excluded.names_json, icon = excluded.icon, picture_sha256 = excluded.picture_sha256,
         price_json = excluded.price_json, updated_at = excluded.updated_at`,
      [p.id, JSON.stringify(p.names), p.icon, p.picture, JSON.stringify(p.price), nowMs, nowMs],
    );
    return (await this.getProduct(p.id))!;
  }

  /** Deletes a product no slot shows: `deleted` false when there was none, or (with `assigned`) while slots show it. */
  async deleteProduct(id: string): Promise<{ deleted: boolean; assigned: SlotAssignment[] }> {
    return this.db.transaction(async (tx) => {
      const assigned = (await tx.all("SELECT * FROM catalog_assignments WHERE product_id = ? ORDER BY machine_id, slot", [id])).map(assignmentOf);
      if (assigned.length > 0) return { deleted: false, assigned };
      const r = await tx.run("DELETE FROM catalog_products WHERE id = ?", [id]);
      return { deleted: r.changes > 0, assigned };
    });
  }

  private async products(rows: Row[]): Promise<FleetProduct[]> {
    const refs = await this.pictureRefs([...new Set(rows.map((r) => strOrNull(r.picture_sha256)).filter((h): h is string => h !== null))]);
    return rows.map((r) => {
      const sha = strOrNull(r.picture_sha256);
      return {
        id: str(r.id),
        names: JSON.parse(str(r.names_json)) as ProductNames,
        icon: strOrNull(r.icon),
        picture: sha ? (refs.get(sha) ?? null) : null,
        price: JSON.parse(str(r.price_json)) as Price,
        updatedAt: num(r.updated_at),
      };
    });
  }

  // ------------------------------------------------------------------ assignments

  async listAssignments(machineId?: string): Promise<SlotAssignment[]> {
    const rows = machineId === undefined
      ? await this.db.all("SELECT * FROM catalog_assignments ORDER BY machine_id, slot")
      : await this.db.all("SELECT * FROM catalog_assignments WHERE machine_id = ? ORDER BY slot", [machineId]);
    return rows.map(assignmentOf);
  }

  /** The machines with a slot showing this product. */
  async machinesShowing(productId: string): Promise<string[]> {
    const rows = await this.db.all("SELECT DISTINCT machine_id FROM catalog_assignments WHERE product_id = ? ORDER BY machine_id", [productId]);
    return rows.map((r) => str(r.machine_id));
  }

  /** Every machine with at least one assignment. */
  async assignedMachines(): Promise<string[]> {
    return (await this.db.all("SELECT DISTINCT machine_id FROM catalog_assignments ORDER BY machine_id")).map((r) => str(r.machine_id));
  }

  /** Assigns a product to a slot (replacing what it showed), `price` null to follow the product's price. */
  async assign(machineId: string, slot: string, productId: string, price: Price | null, nowMs: number): Promise<SlotAssignment> {
    await this.db.run(
      `INSERT INTO catalog_assignments (machine_id, slot, product_id, price_json, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (machine_id, slot) DO UPDATE SET product_id = excluded.product_id, price_json = excluded.price_json, updated_at = excluded.updated_at`,
      [machineId, slot, productId, price === null ? null : JSON.stringify(price), nowMs],
    );
    return (await this.listAssignments(machineId)).find((a) => a.slot === slot)!;
  }

  /** Clears a slot's product; false when it had none. */
  async unassign(machineId: string, slot: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM catalog_assignments WHERE machine_id = ? AND slot = ?", [machineId, slot])).changes > 0;
  }
}

function refOf(r: Row): PictureRef {
  return { sha256: str(r.sha256), type: str(r.type) as PictureRef["type"], bytes: num(r.bytes), width: num(r.width), height: num(r.height) };
}

function pictureOf(r: Row): StoredPicture {
  return { ...refOf(r), data: Buffer.from(str(r.data_base64), "base64"), sourceBytes: num(r.source_bytes), createdAt: num(r.created_at) };
}

function assignmentOf(r: Row): SlotAssignment {
  const price = strOrNull(r.price_json);
  return { machineId: str(r.machine_id), slot: str(r.slot), product: str(r.product_id), price: price === null ? null : (JSON.parse(price) as Price), updatedAt: num(r.updated_at) };
}
