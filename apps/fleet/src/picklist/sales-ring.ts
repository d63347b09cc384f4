// Each slot's recent sales per UTC day, kept as a ring of RING_DAYS day buckets in one row per slot (`picklist_slots`,
// migration 12, which also holds a copy of the slot's par from slot_pars, kept by triggers on it: the pick list
// joins one table to the slots, not two; measured ~100 ms a join over 150,000 slots on SQLite), so the pick list reads a slot's rate with its stock in one pass instead of counting the ledger's
// sales of every slot (issue #18: the pick list of 10,000 machines, ~150,000 slots, within 500 ms p99).
//
// Bucket i holds the sales of the UTC day d (epoch ms / 86,400,000) with d % RING_DAYS = i, and that day in `d<i>`.
// A sale of day d lands in bucket d % RING_DAYS: the same day adds one, a newer day starts the bucket again at one,
// an older day (a sale delivered more than RING_DAYS - 1 days late) is not kept: it is older than any window the
// ring serves. The pick list sums the buckets whose day lies in its window, so a bucket left from an old day never
// counts. A trigger on the ledger's insert keeps the ring in the same transaction as the sale (a redelivered sale
// inserts no ledger row and fires nothing), on SQLite and PostgreSQL alike.
//
// The ring serves windows of up to RING_DAYS - 1 whole days before today plus today so far; longer windows count
// the ledger (picklist-store.ts).
//
// The default window (SOLD_DAYS = 7 days and today) is also kept summed in `sold`, for the day in `picklist_day`:
// summing the ring's 8 buckets of 150,000 slots was most of the pick list's query (measured ~200 ms of ~400). The
// trigger adds a sale to `sold` when its day is in the window of that day; the first pick list of a new UTC day
// moves `picklist_day` forward and sums `sold` again from the ring, in one transaction (`rollSold`). A server whose
// clock is behind the stored day never moves it back: it sums the ring itself.

import { num, type SqlDb, type SqlExecutor } from "../store/db.js";

export const DAY_MS = 86_400_000;
/** Day buckets per slot: today and the 7 days before it (the pick list's default window is 7 days). */
export const RING_DAYS = 8;
/** The window kept summed in `picklist_slots.sold`: this many whole days before `picklist_day` and that day. */
export const SOLD_DAYS = RING_DAYS - 1;

const idx = Array.from({ length: RING_DAYS }, (_, i) => i);

/** Fills the (empty) ring from the ledger's sales of the RING_DAYS days up to the newest sale's. */
export const SLOT_SALES_BACKFILL = `INSERT INTO picklist_slots (machine_id, slot, ${idx.map((i) => `d${i}, n${i}`).join(", ")})
  SELECT machine_id, slot, ${idx.map((i) => `COALESCE(MAX(CASE WHEN day % ${RING_DAYS} = ${i} THEN day END), -1), COALESCE(SUM(CASE WHEN day % ${RING_DAYS} = ${i} THEN n END), 0)`).join(",\n    ")}
  FROM (SELECT machine_id, slot, at / ${DAY_MS} AS day, COUNT(*) AS n FROM ledger
        WHERE kind = 'sale' AND at / ${DAY_MS} > (SELECT MAX(at) / ${DAY_MS} FROM ledger WHERE kind = 'sale') - ${RING_DAYS}
        GROUP BY machine_id, slot, at / ${DAY_MS}) d
  GROUP BY machine_id, slot`;

/** The table, filled from the ledger. */
export const SLOT_SALES_SQL = `
CREATE TABLE picklist_slots (
  machine_id TEXT NOT NULL, slot TEXT NOT NULL,
  ${idx.map((i) => `d${i} {BIG} NOT NULL DEFAULT -1, n${i} {BIG} NOT NULL DEFAULT 0`).join(",\n  ")},
  sold {BIG} NOT NULL DEFAULT 0, par {BIG},
  PRIMARY KEY (machine_id, slot)
);
${SLOT_SALES_BACKFILL};
INSERT INTO picklist_slots (machine_id, slot, par) SELECT machine_id, slot, par FROM slot_pars WHERE true
  ON CONFLICT (machine_id, slot) DO UPDATE SET par = excluded.par;
CREATE TABLE picklist_day (id {BIG} PRIMARY KEY, day {BIG} NOT NULL);
INSERT INTO picklist_day (id, day) VALUES (1, -1);
`;

/**
 * The upsert of one sale (`NEW` is the ledger row), for the trigger body of either engine. `row` is how the
 * existing row's columns are named in the update (SQLite: bare, PostgreSQL: the insert's alias).
 */
function upsertSale(row: string): string {
  const day = `(NEW.at / ${DAY_MS})`;
  const prefix = row ? `${row}.` : "";
  const inWindow = `(SELECT CASE WHEN ${day} BETWEEN k.day - ${SOLD_DAYS} AND k.day THEN 1 ELSE 0 END FROM picklist_day k WHERE k.id = 1)`;
  return `INSERT INTO picklist_slots ${row ? `AS ${row} ` : ""}(machine_id, slot, ${idx.map((i) => `d${i}, n${i}`).join(", ")}, sold)
    VALUES (NEW.machine_id, NEW.slot, ${idx.map((i) => `CASE WHEN ${day} % ${RING_DAYS} = ${i} THEN ${day} ELSE -1 END, CASE WHEN ${day} % ${RING_DAYS} = ${i} THEN 1 ELSE 0 END`).join(", ")}, COALESCE(${inWindow}, 0))
    ON CONFLICT (machine_id, slot) DO UPDATE SET
      sold = ${prefix}sold + excluded.sold,
      ${idx
        .map(
          (i) =>
            `n${i} = CASE WHEN excluded.d${i} < 0 THEN ${prefix}n${i} WHEN excluded.d${i} = ${prefix}d${i} THEN ${prefix}n${i} + 1 WHEN excluded.d${i} > ${prefix}d${i} THEN 1 ELSE ${prefix}n${i} END, ` +
            `d${i} = CASE WHEN excluded.d${i} > ${prefix}d${i} THEN excluded.d${i} ELSE ${prefix}d${i} END`,
        )
        .join(",\n      ")}`;
}

const copyPar = (row: string) =>
  `INSERT INTO picklist_slots (machine_id, slot, par) VALUES (${row}.machine_id, ${row}.slot, ${row}.par) ON CONFLICT (machine_id, slot) DO UPDATE SET par = excluded.par`;
const clearPar = "UPDATE picklist_slots SET par = NULL WHERE machine_id = OLD.machine_id AND slot = OLD.slot";

/** The triggers that keep the ring (a sale inserted in the ledger) and the par's copy (slot_pars written), per engine. */
export const SLOT_SALES_TRIGGERS = {
  sqlite: [
    `CREATE TRIGGER ledger_picklist_slots AFTER INSERT ON ledger WHEN NEW.kind = 'sale' BEGIN ${upsertSale("")}; END`,
    `CREATE TRIGGER slot_pars_insert_copy AFTER INSERT ON slot_pars BEGIN ${copyPar("NEW")}; END`,
    `CREATE TRIGGER slot_pars_update_copy AFTER UPDATE ON slot_pars BEGIN ${clearPar}; ${copyPar("NEW")}; END`,
    `CREATE TRIGGER slot_pars_delete_copy AFTER DELETE ON slot_pars BEGIN ${clearPar}; END`,
  ],
  postgres: [
    `CREATE FUNCTION ledger_picklist_slots() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${upsertSale("r")}; RETURN NULL; END $$`,
    "CREATE TRIGGER ledger_picklist_slots AFTER INSERT ON ledger FOR EACH ROW WHEN (NEW.kind = 'sale') EXECUTE FUNCTION ledger_picklist_slots()",
    `CREATE FUNCTION slot_pars_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       IF TG_OP <> 'INSERT' THEN ${clearPar}; END IF;
       IF TG_OP <> 'DELETE' THEN ${copyPar("NEW")}; END IF;
       RETURN NULL;
     END $$`,
    "CREATE TRIGGER slot_pars_copy AFTER INSERT OR UPDATE OR DELETE ON slot_pars FOR EACH ROW EXECUTE FUNCTION slot_pars_copy()",
  ],
};

/** The first UTC day of a window of `windowDays` whole days before today (today so far counts too). */
export function windowStartDay(nowMs: number, windowDays: number): number {
  return Math.floor(nowMs / DAY_MS) - windowDays;
}

/**
 * The SQL sum of a slot's sales from the ring (`r` is the joined `picklist_slots` row, absent for a slot that never
 * sold) over the days `fromDay`..`toDay`; integers only, so they are written into the text. On SQLite a comparison
 * is 0 or 1 and multiplies (measured cheaper than a CASE per bucket over 150,000 slots).
 */
export function ringSoldSql(fromDay: number, toDay: number, dialect: "sqlite" | "postgres", row = "r"): string {
  if (!Number.isSafeInteger(fromDay) || !Number.isSafeInteger(toDay)) throw new TypeError("days must be integers");
  if (toDay - fromDay + 1 > RING_DAYS) throw new RangeError(`the ring holds ${RING_DAYS} days, not ${toDay - fromDay + 1}`);
  const p = row ? `${row}.` : "";
  const term = (i: number) => (dialect === "sqlite" ? `(${p}d${i} BETWEEN ${fromDay} AND ${toDay}) * ${p}n${i}` : `CASE WHEN ${p}d${i} BETWEEN ${fromDay} AND ${toDay} THEN ${p}n${i} ELSE 0 END`);
  return `COALESCE(${idx.map(term).join(" + ")}, 0)`;
}

/**
 * Moves `picklist_day` forward to `today` and sums `sold` again from the ring, once per UTC day (the first pick
 * list of the day does it; a second server finds it done). Answers the day `sold` is kept for afterwards.
 */
export async function rollSold(db: SqlDb, today: number): Promise<number> {
  const kept = async (ex: SqlExecutor) => num((await ex.all("SELECT day FROM picklist_day WHERE id = 1"))[0]?.day ?? -1);
  if ((await kept(db)) >= today) return kept(db);
  return db.transaction(async (tx) => {
    const moved = await tx.run("UPDATE picklist_day SET day = ? WHERE id = 1 AND day < ?", [today, today]);
    if (moved.changes > 0) await tx.run(`UPDATE picklist_slots SET sold = ${ringSoldSql(today - SOLD_DAYS, today, db.dialect, "")}`);
    return kept(tx);
  });
}
