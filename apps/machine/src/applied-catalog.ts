// The fleet's part of the machine's catalog (issue #18) as last applied from a verified desired state: each slot's
// price, enabled flag and fleet product (names per language, icon, picture), kept in the machine's database so that a
// restart without the broker (no retained desired state delivered) still shows and sells what the fleet set. The
// mode is not here: the controller's journal keeps it (with the desired version that set it).
import type Database from "better-sqlite3";
import { DesiredStatePayload, parseValue, type DesiredProduct, type DesiredStatePayload as DesiredState, type PictureRef } from "@zapvend/protocol";
import type { Logger } from "./log.js";

/** What of a desired state the machine keeps: the version, the slots and the products they name (same schemas). */
const StoredCatalog = DesiredStatePayload.pick({ version: true, slots: true, products: true });
export interface AppliedCatalog {
  /** The desired-state version it came from; 0: none applied. */
  version: number;
  slots: NonNullable<DesiredState["slots"]>;
  products: NonNullable<DesiredState["products"]>;
}

/** The part of a verified desired state that is kept (a state without slots or products has none). */
export function appliedCatalogOf(d: DesiredState): AppliedCatalog {
  return { version: d.version, slots: d.slots ?? {}, products: d.products ?? {} };
}

export const EMPTY_APPLIED_CATALOG: AppliedCatalog = { version: 0, slots: {}, products: {} };

/** The one-row table of the applied catalog, in the machine's database (beside the journal and the outbox). */
export class AppliedCatalogStore {
  private readonly getRow: Database.Statement<[], { body: string }>;
  private readonly putRow: Database.Statement<[string, number]>;

  constructor(
    db: Database.Database,
    private readonly log?: Logger,
  ) {
    db.exec("CREATE TABLE IF NOT EXISTS fleet_applied_catalog (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    this.getRow = db.prepare("SELECT body FROM fleet_applied_catalog WHERE id = 1");
    this.putRow = db.prepare("INSERT INTO fleet_applied_catalog (id, body, applied_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body, applied_at = excluded.applied_at");
  }

  /** The last applied catalog; empty when none was applied (or the row is unreadable: logged, never thrown). */
  load(): AppliedCatalog {
    const row = this.getRow.get();
    if (!row) return EMPTY_APPLIED_CATALOG;
    let json: unknown;
    try {
      json = JSON.parse(row.body);
    } catch {
      json = undefined;
    }
    const parsed = parseValue(StoredCatalog, json);
    if (!parsed.ok) {
      this.log?.error("stored fleet catalog unreadable; running on the config's catalog until the fleet's desired state comes", { ...parsed.error });
      return EMPTY_APPLIED_CATALOG;
    }
    return { version: parsed.value.version, slots: parsed.value.slots ?? {}, products: parsed.value.products ?? {} };
  }

  save(applied: AppliedCatalog): void {
    this.putRow.run(JSON.stringify(applied), Date.now());
  }
}

/** The fleet product a slot shows, if the applied catalog assigns one. */
export function productOfSlot(applied: AppliedCatalog, slot: string): DesiredProduct | undefined {
  const id = applied.slots[slot]?.product;
  return id !== undefined && Object.hasOwn(applied.products, id) ? applied.products[id] : undefined;
}

/** The pictures of the products that slots show, once each (a product no slot names needs no picture here). */
export function referencedPictures(applied: AppliedCatalog): PictureRef[] {
  const out = new Map<string, PictureRef>();
  for (const slot of Object.keys(applied.slots)) {
    const pic = productOfSlot(applied, slot)?.picture;
    if (pic) out.set(pic.sha256, pic);
  }
  return [...out.values()];
}
