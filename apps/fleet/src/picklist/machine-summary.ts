// Each machine's pick-list summary, kept in `picklist_machines` (migration 13), so the console's page of the pick list
// (issue #18: 10,000 machines ordered by need with the van's totals, within 500 ms p99) reads one row a machine
// instead of passing over its ~15 slots with their ring of sales every time: a pass over the 150,000 slots of a
// 10,000-machine fleet was measured 525 ms median on SQLite and 645 ms on PostgreSQL, a bare read of the slot rows
// alone 466 ms.
//
// A summary holds what `computePage()` needs of a machine for the default window (the kept 7-day `sold` of
// sales-ring.ts): its empty slots, its units to load, the lowest stock / sold of its slots (days of stock left is
// that times the window's length in days, which grows through the day: `compute()` computes it the same way, so
// both give the same number), and its loads per product for the van's totals.
//
// Kept fresh lazily: triggers bump the machine's `rev` in the writer's own transaction on every write that can
// change its summary (a slot inserted, deleted or changed in stock, capacity, name, kind or enabled; a sale in the
// ledger; a par set, changed or cleared). A summary is fresh when it was computed at the machine's current `rev` and
// for the day `sold` is kept for (`picklist_day`: its roll changes every machine's `sold`). The pick list computes
// the stale ones again before it reads them: a busy fleet's pick list finds the machines that sold since its last
// read stale, the day's first one (after the roll) every machine.
//
// Concurrency: the recompute locks the stale rows before it reads their slots, so a write cannot slip between the
// read and the summary written from it. SQLite: a write transaction (one writer at a time). PostgreSQL:
// `FOR UPDATE SKIP LOCKED`: a row a writer's transaction holds (it bumped the rev and has not committed yet) is
// skipped, keeps its previous summary for this read and is computed by the next one; a write after the lock waits
// for the recompute's commit and then bumps the rev. The recompute goes CHUNK machines a transaction, so it never
// holds the store's writers for long.
//
// Every machine has its row: the migration adds one (stale) for every machine there was, a trigger on the machines'
// insert one for each new machine (the fleet stores a machine before anything of it). A row is only ever updated
// afterwards, so a recompute that locked it cannot miss a writer's bump.

import { num, numOrNull, str, type Row, type SqlDb, type SqlExecutor, type SqlValue } from "../store/db.js";

/** Machines per recompute transaction, and ids per `IN (...)` list: far below SQLite's and PostgreSQL's parameter limits. */
export const CHUNK = 500;

export const MACHINE_SUMMARY_SQL = `
CREATE TABLE picklist_machines (
  machine_id TEXT PRIMARY KEY,
  rev {BIG} NOT NULL DEFAULT 0, at_rev {BIG} NOT NULL DEFAULT -1, day {BIG} NOT NULL DEFAULT -1,
  empty {BIG} NOT NULL DEFAULT 0, to_load {BIG} NOT NULL DEFAULT 0, ratio {REAL}, loads TEXT
);
INSERT INTO picklist_machines (machine_id) SELECT id FROM machines;
`;

// The row is there from the machine's insert on (below), so a write only ever updates it: a plain UPDATE.
const bump = (machineId: string) => `UPDATE picklist_machines SET rev = rev + 1 WHERE machine_id = ${machineId}`;
const addRow = "INSERT INTO picklist_machines (machine_id) VALUES (NEW.id) ON CONFLICT (machine_id) DO NOTHING";

/** The slot columns a summary depends on (a price change does not bump the rev). */
const SLOT_COLUMNS = "stock, capacity, enabled, name, kind";

/** The triggers that add a machine's row and bump its rev, per engine. */
export const MACHINE_SUMMARY_TRIGGERS = {
  sqlite: [
    `CREATE TRIGGER machines_insert_picklist AFTER INSERT ON machines BEGIN ${addRow}; END`,
    `CREATE TRIGGER slots_insert_picklist_rev AFTER INSERT ON slots BEGIN ${bump("NEW.machine_id")}; END`,
    `CREATE TRIGGER slots_update_picklist_rev AFTER UPDATE OF ${SLOT_COLUMNS} ON slots BEGIN ${bump("NEW.machine_id")}; END`,
    `CREATE TRIGGER slots_delete_picklist_rev AFTER DELETE ON slots BEGIN ${bump("OLD.machine_id")}; END`,
    `CREATE TRIGGER ledger_picklist_rev AFTER INSERT ON ledger WHEN NEW.kind = 'sale' BEGIN ${bump("NEW.machine_id")}; END`,
    `CREATE TRIGGER slot_pars_insert_picklist_rev AFTER INSERT ON slot_pars BEGIN ${bump("NEW.machine_id")}; END`,
    `CREATE TRIGGER slot_pars_update_picklist_rev AFTER UPDATE ON slot_pars BEGIN ${bump("NEW.machine_id")}; END`,
    `CREATE TRIGGER slot_pars_delete_picklist_rev AFTER DELETE ON slot_pars BEGIN ${bump("OLD.machine_id")}; END`,
  ],
  postgres: [
    `CREATE FUNCTION picklist_machine_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${addRow}; RETURN NULL; END $$`,
    "CREATE TRIGGER machines_insert_picklist AFTER INSERT ON machines FOR EACH ROW EXECUTE FUNCTION picklist_machine_row()",
    `CREATE FUNCTION picklist_machine_rev() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       IF TG_OP = 'DELETE' THEN ${bump("OLD.machine_id")}; ELSE ${bump("NEW.machine_id")}; END IF;
       RETURN NULL;
     END $$`,
    "CREATE TRIGGER slots_picklist_rev AFTER INSERT OR DELETE ON slots FOR EACH ROW EXECUTE FUNCTION picklist_machine_rev()",
    `CREATE TRIGGER slots_update_picklist_rev AFTER UPDATE OF ${SLOT_COLUMNS} ON slots FOR EACH ROW EXECUTE FUNCTION picklist_machine_rev()`,
    "CREATE TRIGGER ledger_picklist_rev AFTER INSERT ON ledger FOR EACH ROW WHEN (NEW.kind = 'sale') EXECUTE FUNCTION picklist_machine_rev()",
    "CREATE TRIGGER slot_pars_picklist_rev AFTER INSERT OR UPDATE OR DELETE ON slot_pars FOR EACH ROW EXECUTE FUNCTION picklist_machine_rev()",
  ],
};

/** One machine's summary, as `computePage()` reads it. */
export interface MachineSummary {
  machineId: string;
  status: string;
  empty: number;
  toLoad: number;
  /** The lowest stock / sold over the slots that sold in the window (null: none did). */
  ratio: number | null;
  /** Its loads per product: "kind US name US units", joined by RS (names hold no control characters). */
  loads: string;
}

/** `list` in pieces of CHUNK. */
export function chunks<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

const inList = (ids: readonly string[]) => ` IN (${ids.map(() => "?").join(", ")})`;

/**
 * The summaries of every machine (`ids` undefined) or of a group, fresh for `soldDay` (the day `picklist_slots.sold`
 * is kept for, after `rollSold`): the stale ones are computed again first. A machine without a row sums to nothing.
 */
export async function machineSummaries(db: SqlDb, ids: readonly string[] | undefined, soldDay: number): Promise<MachineSummary[]> {
  const groups = ids === undefined ? [undefined] : chunks([...new Set(ids)]);
  const out: MachineSummary[] = [];
  for (const group of groups) {
    await refreshStale(db, group, soldDay);
    const where = group === undefined ? "" : ` WHERE m.id${inList(group)}`;
    const rows = await db.all(`SELECT m.id, m.status, p.empty, p.to_load, p.ratio, p.loads FROM machines m LEFT JOIN picklist_machines p ON p.machine_id = m.id${where}`, group ?? []);
    for (const r of rows) {
      out.push({ machineId: str(r.id), status: str(r.status), empty: num(r.empty ?? 0), toLoad: num(r.to_load ?? 0), ratio: numOrNull(r.ratio), loads: typeof r.loads === "string" ? r.loads : "" });
    }
  }
  return out;
}

/**
 * Computes the stale summaries of every machine (`group` undefined) or of a group of at most CHUNK machines again;
 * answers how many were.
 */
export async function refreshStale(db: SqlDb, group: readonly string[] | undefined, soldDay: number): Promise<number> {
  const filter = group === undefined ? "" : ` AND p.machine_id${inList(group)}`;
  const stale = await db.all(`SELECT p.machine_id FROM picklist_machines p WHERE (p.at_rev <> p.rev OR p.day <> ?)${filter}`, [soldDay, ...(group ?? [])]);
  for (const batch of chunks(stale.map((r) => str(r.machine_id)))) await recompute(db, batch);
  return stale.length;
}

/**
 * Computes the summaries of some machines again, from their enabled slots, and stores them with the rev and the
 * day they were computed at, in one transaction that first locks their rows (see the head of the file).
 */
async function recompute(db: SqlDb, ids: readonly string[]): Promise<void> {
  const pg = db.dialect === "postgres";
  await db.transaction(async (tx) => {
    // SQLite's write transaction already excludes every other writer; PostgreSQL locks the rows no writer holds.
    const locked = pg
      ? (await tx.all(`SELECT machine_id FROM picklist_machines WHERE machine_id${inList(ids)} ORDER BY machine_id FOR UPDATE SKIP LOCKED`, [...ids])).map((r) => str(r.machine_id))
      : [...ids];
    if (locked.length === 0) return;
    const rows = await tx.all(
      `SELECT p.machine_id, p.rev, k.day, COALESCE(a.empty, 0) AS empty, COALESCE(a.to_load, 0) AS to_load, a.ratio, a.loads
       FROM picklist_machines p CROSS JOIN picklist_day k
       LEFT JOIN (SELECT x.machine_id, ${summaryColumns(db.dialect)}
                  FROM (SELECT s.machine_id, s.name, s.kind, s.capacity, s.stock, r.par, COALESCE(r.sold, 0) AS sold
                        FROM slots s LEFT JOIN picklist_slots r ON r.machine_id = s.machine_id AND r.slot = s.slot
                        WHERE s.enabled = 1 AND s.machine_id${inList(locked)}) x
                  GROUP BY x.machine_id) a ON a.machine_id = p.machine_id
       WHERE k.id = 1 AND p.machine_id${inList(locked)}`,
      [...locked, ...locked],
    );
    await writeSummaries(tx, pg, rows);
  });
}

/**
 * The aggregate columns of a machine's summary over its slot rows `x` (machine_id, name, kind, capacity, stock,
 * par, sold): empty, to_load, ratio, loads. Each column of `x` is named once (SQLite flattens a subquery and repeats
 * its expressions where they are named: the ring's sum named twice cost a third of the query), so NULLIF, not a CASE.
 */
export function summaryColumns(dialect: SqlDb["dialect"]): string {
  const pg = dialect === "postgres";
  const toLoad = pg ? "GREATEST(LEAST(COALESCE(x.par, x.capacity), x.capacity) - x.stock, 0)" : "max(min(coalesce(x.par, x.capacity), x.capacity) - x.stock, 0)";
  const sep = (code: number) => (pg ? `chr(${code})` : `char(${code})`);
  const loads = `x.kind || ${sep(31)} || x.name || ${sep(31)} || CAST(NULLIF(${toLoad}, 0) AS TEXT)`;
  return `SUM(CASE WHEN x.stock = 0 THEN 1 ELSE 0 END) AS empty, SUM(${toLoad}) AS to_load,
    MIN(CAST(x.stock AS ${pg ? "DOUBLE PRECISION" : "REAL"}) / NULLIF(x.sold, 0)) AS ratio,
    ${pg ? `string_agg(${loads}, ${sep(30)})` : `GROUP_CONCAT(${loads}, ${sep(30)})`} AS loads`;
}

/** One UPDATE for all the rows, from a VALUES list. */
async function writeSummaries(tx: SqlExecutor, pg: boolean, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const params: SqlValue[] = [];
  const values = rows.map((r, i) => {
    params.push(str(r.machine_id), num(r.rev), num(r.day), num(r.empty), num(r.to_load), numOrNull(r.ratio), typeof r.loads === "string" ? r.loads : null);
    // PostgreSQL types a VALUES list from its first row: cast that row's parameters.
    return i === 0 && pg ? "(?::text, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::double precision, ?::text)" : "(?, ?, ?, ?, ?, ?, ?)";
  });
  // SQLite names a VALUES list's columns column1..column7; PostgreSQL takes the alias's column list.
  const [id, rev, day, empty, load, ratio, loads] = pg ? ["id", "rev", "day", "empty", "to_load", "ratio", "loads"] : ["column1", "column2", "column3", "column4", "column5", "column6", "column7"];
  const source = pg ? `(VALUES ${values.join(", ")}) AS v (id, rev, day, empty, to_load, ratio, loads)` : `(VALUES ${values.join(", ")}) AS v`;
  await tx.run(
    `UPDATE picklist_machines SET at_rev = v.${rev}, day = v.${day}, empty = v.${empty}, to_load = v.${load}, ratio = v.${ratio}, loads = v.${loads}
     FROM ${source} WHERE picklist_machines.machine_id = v.${id}`,
    params,
  );
}
