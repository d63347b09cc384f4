// The fleet catalog (issue #18): products edited by operators, their pictures, and the slots that show them. Every
// change that alters what a machine shows becomes a new version of that machine's signed desired state (products +
// slot product + slot price) through FleetService.editDesired, after the pictures it references were published
// retained on `zapvend/v1/pictures/<sha256>`. A change made while the broker is away is saved and sent when the
// link comes back (`onConnected`: every picture in use, then every machine whose desired state differs).
import {
  canonicalJson,
  type CatalogResponse,
  type DesiredProduct,
  type DesiredView,
  type FleetProduct,
  type PictureUploadResponse,
  type Price,
  type ProductUpsertRequest,
  type SlotAssignment,
} from "@zapvend/protocol";
import type { Clock, Logger } from "../clock.js";
import { FleetError, FleetErrorCode } from "../errors.js";
import type { FleetService } from "../fleet-service.js";
import type { DesiredEdit, DesiredEditSlot } from "../store/fleet-store.js";
import { CatalogStore } from "./catalog-store.js";
import { compressPicture } from "./pictures.js";

export const CatalogErrorCode = {
  PRODUCT_NOT_FOUND: "product_not_found",
  PICTURE_NOT_FOUND: "picture_not_found",
  /** A product still shown by a slot cannot be deleted. */
  PRODUCT_IN_USE: "product_in_use",
} as const;

/** What one catalog change did to one machine's desired state. */
export interface MachineSync {
  machineId: string;
  /** The desired state before and after; `after` null when nothing was sent (unchanged, or the link is down). */
  before: DesiredView | null;
  after: DesiredView | null;
  /** Why it was not sent now (it is sent when the link comes back). */
  error?: { code: string; message: string };
}

/** How long a picture no product references is kept after its upload or after it was last dropped: 24 h. */
export const PICTURE_GRACE_MS = 24 * 3_600_000;

export interface CatalogServiceOptions {
  service: FleetService;
  store?: CatalogStore;
  clock: Pick<Clock, "now">;
  log: Logger;
}

export class CatalogService {
  readonly store: CatalogStore;
  private readonly svc: FleetService;
  private readonly clock: Pick<Clock, "now">;
  private readonly log: Logger;
  /** Pictures published since the link last (re)connected: each goes out once per connection. */
  private readonly published = new Set<string>();
  /** One sync at a time, so two edits never compute a machine's state from the same stale base. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(o: CatalogServiceOptions) {
    this.svc = o.service;
    this.store = o.store ?? new CatalogStore(o.service.store.db);
    this.clock = o.clock;
    this.log = o.log;
  }

  async catalog(): Promise<CatalogResponse> {
    return { products: await this.store.listProducts(), assignments: await this.store.listAssignments() };
  }

  /**
   * One machine's part of the catalog (its machine page): the assignments of its slots and the products they name.
   * The whole catalog grows with the fleet; a technician's phone opening one machine needs only this.
   */
  async machineCatalog(machineId: string): Promise<CatalogResponse> {
    if (!(await this.svc.store.getMachine(machineId))) throw new FleetError(FleetErrorCode.MACHINE_NOT_FOUND, `no machine ${machineId} has reported to this fleet`, 404);
    const assignments = await this.store.listAssignments(machineId);
    return { products: await this.store.getProducts([...new Set(assignments.map((a) => a.product))]), assignments };
  }

  /** Compresses and stores an uploaded picture (idempotent: the same image gives the same sha256). */
  async uploadPicture(input: Buffer): Promise<PictureUploadResponse & { created: boolean }> {
    const c = await compressPicture(input);
    const now = this.clock.now();
    const created = await this.store.putPicture({ ...c.ref, data: c.data, sourceBytes: input.length, createdAt: now });
    // The same picture uploaded again (to be assigned now): its grace starts again.
    if (!created) await this.store.touchPictures([c.ref.sha256], now);
    return { picture: c.ref, sourceBytes: input.length, sourceWidth: c.sourceWidth, sourceHeight: c.sourceHeight, quality: c.quality, created };
  }

  /** Creates or replaces a product, then updates every machine showing it. */
  async upsertProduct(id: string, req: ProductUpsertRequest): Promise<{ product: FleetProduct; created: boolean; machines: MachineSync[] }> {
    // Touched, not only looked up: its grace starts again, so the sweep cannot delete it before the product is saved.
    if (req.picture && !(await this.store.touchPictures([req.picture], this.clock.now())).has(req.picture)) {
      throw new FleetError(CatalogErrorCode.PICTURE_NOT_FOUND, `no uploaded picture ${req.picture} (POST /api/pictures first)`, 400);
    }
    return this.serial(async () => {
      const old = await this.store.getProduct(id);
      const created = old === null;
      const now = this.clock.now();
      const product = await this.store.upsertProduct({ id, names: req.names, icon: req.icon ?? null, picture: req.picture ?? null, price: req.price }, now);
      // The picture it showed until now starts its grace (deleted a day later when nothing references it then).
      if (old?.picture && old.picture.sha256 !== req.picture) await this.store.touchPictures([old.picture.sha256], now);
      const machines = await this.syncMachines(await this.store.machinesShowing(id));
      return { product, created, machines };
    });
  }

  async deleteProduct(id: string): Promise<void> {
    const old = await this.store.getProduct(id);
    const r = await this.store.deleteProduct(id);
    if (r.assigned.length > 0) {
      const where = r.assigned.slice(0, 5).map((a) => `${a.machineId} ${a.slot}`).join(", ");
      throw new FleetError(CatalogErrorCode.PRODUCT_IN_USE, `${id} is shown by ${r.assigned.length} slot(s) (${where}): assign them another product first`, 409);
    }
    if (!r.deleted) throw new FleetError(CatalogErrorCode.PRODUCT_NOT_FOUND, `no product ${id}`, 404);
    if (old?.picture) await this.store.touchPictures([old.picture.sha256], this.clock.now());
  }

  /**
   * Deletes the pictures no product references whose grace (`graceMs` after their upload, or after a product last
   * chose or dropped them) is over, and clears their retained MQTT topic. Only while the link is up, so the broker's
   * retained copy goes with the row (a picture waits for the next sweep otherwise). Run by the server on each
   * connection of the link (so at start) and every hour.
   */
  async sweepPictures(graceMs = PICTURE_GRACE_MS): Promise<string[]> {
    return this.serial(async () => {
      if (!this.svc.linkConnected) return [];
      const deleted = await this.store.deleteUnreferencedPictures(this.clock.now() - graceMs);
      for (const sha256 of deleted) {
        this.published.delete(sha256);
        try {
          await this.svc.publishPicture(sha256, new Uint8Array(0));
        } catch (err) {
          this.log("fleet:catalog", `the retained topic of deleted picture ${sha256} was not cleared: ${(err as Error).message}`, { level: "warn" });
        }
      }
      if (deleted.length > 0) this.log("fleet:catalog", `${deleted.length} unreferenced picture(s) deleted after ${Math.round(graceMs / 3_600_000)} h: ${deleted.join(", ")}`);
      return deleted;
    });
  }

  /**
   * Shows `productId` on a machine's slot (or MDB selection "S<n>"), at `price` or the product's price; `null`
   * clears the slot's product. The machine and its slot must be known (from its birth).
   */
  async assign(machineId: string, slot: string, productId: string | null, price: Price | null): Promise<{ assignment: SlotAssignment | null; machine: MachineSync }> {
    const machine = await this.svc.store.getMachine(machineId);
    if (!machine) throw new FleetError(FleetErrorCode.MACHINE_NOT_FOUND, `no machine ${machineId} has reported to this fleet`, 404);
    if (!machine.stock.some((s) => s.slot === slot)) throw new FleetError(FleetErrorCode.UNKNOWN_SLOT, `${machineId} has no slot ${slot}`, 400);
    if (productId !== null && (await this.store.getProduct(productId)) === null) throw new FleetError(CatalogErrorCode.PRODUCT_NOT_FOUND, `no product ${productId}`, 404);
    return this.serial(async () => {
      let assignment: SlotAssignment | null = null;
      if (productId === null) await this.store.unassign(machineId, slot);
      else assignment = await this.store.assign(machineId, slot, productId, price, this.clock.now());
      const [sync] = await this.syncMachines([machineId]);
      return { assignment, machine: sync! };
    });
  }

  /**
   * After every (re)connection of the link: publishes every picture a product uses (a broker restarted without
   * persistence lost its retained messages), then sends each machine whose desired state lags the catalog.
   */
  async onConnected(): Promise<{ pictures: number; machines: number }> {
    this.published.clear();
    return this.serial(async () => {
      let pictures = 0;
      for (const p of await this.store.picturesInUse()) {
        try {
          await this.svc.publishPicture(p.sha256, p.data);
          this.published.add(p.sha256);
          pictures++;
        } catch (err) {
          this.log("fleet:catalog", `picture ${p.sha256} could not be published: ${(err as Error).message}`, { level: "warn" });
        }
      }
      const synced = await this.syncMachines(await this.store.assignedMachines());
      return { pictures, machines: synced.filter((s) => s.after !== null).length };
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async syncMachines(machineIds: readonly string[]): Promise<MachineSync[]> {
    const out: MachineSync[] = [];
    for (const id of machineIds) out.push(await this.syncMachine(id));
    return out;
  }

  /** Sends the machine a new desired state when its catalog part (slot products and prices, products) changed. */
  private async syncMachine(machineId: string): Promise<MachineSync> {
    const before = await this.svc.store.getDesired(machineId);
    const edit = await this.catalogEdit(machineId, before);
    if (!edit) return { machineId, before, after: null };
    try {
      // The pictures first, so a machine applying the state can fetch them at once.
      for (const p of Object.values(edit.products ?? {})) {
        if (!p.picture || this.published.has(p.picture.sha256)) continue;
        const stored = await this.store.getPicture(p.picture.sha256);
        if (!stored) continue;
        await this.svc.publishPicture(stored.sha256, stored.data);
        this.published.add(stored.sha256);
      }
      const after = await this.svc.editDesired(machineId, edit);
      return { machineId, before, after };
    } catch (err) {
      const e = err instanceof FleetError ? err : new FleetError(FleetErrorCode.PUBLISH_FAILED, (err as Error).message, 503);
      this.log("fleet:catalog", `${machineId}: catalog change not sent (${e.code}): ${e.message}`, { level: "warn" });
      return { machineId, before, after: null, error: { code: e.code, message: e.message } };
    }
  }

  /** The edit that brings the machine's desired state to the catalog, or null when it already matches. */
  private async catalogEdit(machineId: string, cur: DesiredView | null): Promise<DesiredEdit | null> {
    const assignments = await this.store.listAssignments(machineId);
    const products = new Map((await this.store.getProducts([...new Set(assignments.map((a) => a.product))])).map((p) => [p.id, p]));
    const slots: Record<string, DesiredEditSlot> = {};
    const wanted: Record<string, DesiredProduct> = {};
    let changed = false;
    for (const a of assignments) {
      const p = products.get(a.product);
      if (!p) continue; // deleted meanwhile (deleteProduct refuses assigned products; defensive)
      const price = a.price ?? p.price;
      wanted[p.id] ??= desiredProduct(p);
      const c = cur?.slots[a.slot];
      if (c?.product !== p.id || canonicalJson(c.price ?? null) !== canonicalJson(price)) changed = true;
      slots[a.slot] = { product: p.id, price };
    }
    for (const [slot, s] of Object.entries(cur?.slots ?? {})) {
      if (s.product !== undefined && slots[slot] === undefined) {
        slots[slot] = { product: null };
        changed = true;
      }
    }
    if (canonicalJson(cur?.products ?? {}) !== canonicalJson(wanted)) changed = true;
    return changed ? { slots, products: wanted } : null;
  }
}

/** What a machine needs of a product: names, icon, picture (the price goes on the slot). */
function desiredProduct(p: FleetProduct): DesiredProduct {
  return { names: p.names, ...(p.icon ? { icon: p.icon } : {}), ...(p.picture ? { picture: p.picture } : {}) };
}
