// The pick list's queries (issue #18), over the fleet store's `SqlDb` (SQLite or PostgreSQL, migration 6): par
// levels per slot, the pick list computed from the stock the machines reported and their recent sales, the issued
// pick lists saved with their lines, and the technician's restocks matched against them (shrinkage).
import { randomBytes } from "node:crypto";
import type { IssuedPickLine, IssuedPickList, IssuedPickListSummary, ParsEdit, PickLine, PickList, PickListPage, PickMachine, PickTotal, SlotPar } from "@zapvend/protocol";
import { PICKLIST_DEFAULT_WINDOW_DAYS } from "@zapvend/protocol";
import { FleetError, FleetErrorCode } from "../errors.js";
import { num, numOrNull, PostgresDb, str, type Row, type SqlDb, type SqlValue } from "../store/db.js";
import { chunks, machineSummaries, refreshStale, summaryColumns, type MachineSummary } from "./machine-summary.js";
import { DAY_MS, RING_DAYS, ringSoldSql, rollSold, SOLD_DAYS, windowStartDay } from "./sales-ring.js";

export const PicklistErrorCode = {
  PAR_ABOVE_CAPACITY: "par_above_capacity",
  PICKLIST_NOT_FOUND: "picklist_not_found",
  EMPTY_PICKLIST: "empty_picklist",
} as const;

export interface PickListQuery {
  /** The group: these machines only (absent: every machine). */
  machineIds?: readonly string[];
  /** Days of sales for the rate. Default 7. */
  windowDays?: number;
  nowMs: number;
}

type MachineStatus = PickMachine["status"];

/** A2 before A10. One collator: `localeCompare` with options builds one per call (most of the pick list's time). */
const collator = new Intl.Collator("en", { numeric: true });
const bySlot = (a: { slot: string }, b: { slot: string }) => collator.compare(a.slot, b.slot);
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Most empty slots first, then the fewest days of stock left (machines that sold nothing in the window, which have
 * no rate to run out at, after those that did), then by id so the order is stable.
 */
export function byNeed(a: Pick<PickMachine, "machineId" | "emptySlots" | "daysLeft">, b: Pick<PickMachine, "machineId" | "emptySlots" | "daysLeft">): number {
  if (a.emptySlots !== b.emptySlots) return b.emptySlots - a.emptySlots;
  if (a.daysLeft !== b.daysLeft) {
    if (a.daysLeft === null) return 1;
    if (b.daysLeft === null) return -1;
    return a.daysLeft - b.daysLeft;
  }
  return a.machineId < b.machineId ? -1 : a.machineId > b.machineId ? 1 : 0;
}

/** The van's load by product (same name and kind), most units first. */
export function totalsOf(machines: ReadonlyArray<{ lines: ReadonlyArray<Pick<PickLine, "name" | "kind" | "toLoad">> }>): PickTotal[] {
  const totals = new Map<string, PickTotal>();
  for (const m of machines) {
    const seen = new Set<string>();
    for (const l of m.lines) {
      if (l.toLoad === 0) continue;
      const key = `${l.kind}\u0000${l.name}`;
      let t = totals.get(key);
      if (!t) totals.set(key, (t = { name: l.name, kind: l.kind, toLoad: 0, machines: 0 }));
      t.toLoad += l.toLoad;
      if (!seen.has(key)) {
        seen.add(key);
        t.machines += 1;
      }
    }
  }
  return [...totals.values()].sort((a, b) => b.toLoad - a.toLoad || collator.compare(a.name, b.name));
}

export class PicklistStore {
  constructor(readonly db: SqlDb) {}

  /**
   * The slots query of one group (`inList`: ` IN (?, ...)` or "" for every machine) and its parameters: each enabled
   * slot with its par and its sales from the first day of the window (`fromDay`, a UTC day) to today. A window of up
   * to RING_DAYS - 1 days reads the slot's ring of day buckets (`picklist_slots`, joined by its key, one pass with
   * the slots); a longer one counts the ledger's sales from the partial covering index ledger_sales_slot_at (machine_id,
   * slot, at) WHERE kind = 'sale' (migration 6): on SQLite a correlated count per slot (2-3x faster there than
   * grouping, which needs a temporary B-tree), on PostgreSQL the window's sales grouped once and joined.
   */
  private slotsQuery(inList: string, ids: readonly string[], fromDay: number, today: number, soldDay: number): [string, SqlValue[]] {
    // The par comes with the ring (`picklist_slots.par`, a copy of slot_pars kept by its triggers): one join.
    const cols = "s.machine_id, s.slot, s.name, s.kind, s.capacity, s.stock, r.par";
    const pars = "LEFT JOIN picklist_slots r ON r.machine_id = s.machine_id AND r.slot = s.slot";
    const where = `s.enabled = 1${inList ? ` AND s.machine_id${inList}` : ""}`;
    if (today - fromDay === SOLD_DAYS && soldDay === today) {
      return [`SELECT ${cols}, COALESCE(r.sold, 0) AS sold FROM slots s ${pars} WHERE ${where}`, [...ids]];
    }
    if (today - fromDay < RING_DAYS) {
      return [`SELECT ${cols}, ${ringSoldSql(fromDay, today, this.db.dialect)} AS sold FROM slots s ${pars} WHERE ${where}`, [...ids]];
    }
    const fromMs = fromDay * DAY_MS;
    const toMs = (today + 1) * DAY_MS;
    if (this.db.dialect === "sqlite") {
      return [
        `SELECT ${cols}, (SELECT COUNT(*) FROM ledger l WHERE l.kind = 'sale' AND l.machine_id = s.machine_id AND l.slot = s.slot AND l.at >= ? AND l.at < ?) AS sold
         FROM slots s ${pars} WHERE ${where}`,
        [fromMs, toMs, ...ids],
      ];
    }
    // The group's filter inside the aggregate too: PostgreSQL does not push the join's machines into it.
    return [
      `SELECT ${cols}, COALESCE(c.n, 0) AS sold FROM slots s ${pars}
         LEFT JOIN (SELECT machine_id, slot, COUNT(*) AS n FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ?${inList ? ` AND machine_id${inList}` : ""}
                    GROUP BY machine_id, slot) c ON c.machine_id = s.machine_id AND c.slot = s.slot
       WHERE ${where}`,
      [fromMs, toMs, ...ids, ...ids],
    ];
  }

  /**
   * The machines of a group (every machine at once, or the given ids CHUNK at a time) with the rows of `outer` over
   * their slots query (by default the slot rows themselves), a group at a time.
   */
  private async *byGroup(machineIds: readonly string[] | undefined, fromDay: number, today: number, soldDay: number, outer = (slotsSql: string) => slotsSql) {
    const groups: Array<readonly string[] | undefined> = machineIds === undefined ? [undefined] : chunks([...new Set(machineIds)]);
    for (const ids of groups) {
      const inList = ids === undefined ? "" : ` IN (${ids.map(() => "?").join(", ")})`;
      const [sql, params] = this.slotsQuery(inList, ids ?? [], fromDay, today, soldDay);
      const [mRows, rows] = await Promise.all([this.db.all(`SELECT id, status FROM machines${ids === undefined ? "" : ` WHERE id${inList}`}`, ids ?? []), this.scan(ids === undefined, outer(sql), params)]);
      yield { mRows, rows };
    }
  }

  /**
   * The rate's window of a query: its days, today and its first day (UTC day numbers), where it starts, its length
   * in days (the whole days and today so far), and the day the kept 7-day sum is for (moved to today if it was not).
   */
  private async window(q: PickListQuery) {
    const windowDays = q.windowDays ?? PICKLIST_DEFAULT_WINDOW_DAYS;
    const today = Math.floor(q.nowMs / DAY_MS);
    const fromDay = windowStartDay(q.nowMs, windowDays);
    const windowFrom = fromDay * DAY_MS;
    return { windowDays, today, fromDay, windowFrom, spanDays: (q.nowMs - windowFrom) / DAY_MS, soldDay: await rollSold(this.db, today) };
  }

  /**
   * Brings the pick list's kept figures up to date now, as the first pick list after it would: the kept 7-day sum
   * rolled to today, and every stale machine summary computed again. The fleet server runs it on a timer, so the
   * day's first page (every machine's summary computed again after the roll) is not an operator's to wait for.
   * Answers how many summaries were computed.
   */
  async refresh(nowMs: number): Promise<number> {
    const today = Math.floor(nowMs / DAY_MS);
    const soldDay = await rollSold(this.db, today);
    return soldDay === today ? refreshStale(this.db, undefined, soldDay) : 0;
  }

  /**
   * A query over the slots of every machine (`whole`) or of a group. The whole fleet's on PostgreSQL runs without
   * nested loops: its statistics make it join 150,000 slots to their `picklist_slots` row by row (measured 920 ms)
   * instead of merging the two primary-key scans (370 ms). A group's few machines are best looked up.
   */
  private scan(whole: boolean, sql: string, params: SqlValue[]): Promise<Row[]> {
    if (whole && this.db instanceof PostgresDb) return this.db.readWith({ enable_nestloop: "off" }, sql, params);
    return this.db.all(sql, params);
  }

  // ------------------------------------------------------------------ pars

  /** Every slot of the machine with the par the pick list uses; null for an unknown machine. */
  async pars(machineId: string): Promise<SlotPar[] | null> {
    const known = await this.db.all("SELECT id FROM machines WHERE id = ?", [machineId]);
    if (known.length === 0) return null;
    const rows = await this.db.all(
      "SELECT s.slot, s.name, s.capacity, p.par FROM slots s LEFT JOIN slot_pars p ON p.machine_id = s.machine_id AND p.slot = s.slot WHERE s.machine_id = ?",
      [machineId],
    );
    return rows
      .map((r) => {
        const capacity = num(r.capacity);
        const par = numOrNull(r.par);
        return { slot: str(r.slot), name: str(r.name), capacity, par: par === null ? capacity : Math.min(par, capacity), parSet: par !== null };
      })
      .sort(bySlot);
  }

  /**
   * Sets (or with null clears, back to the capacity) the par of some slots, all or none: an unknown machine or slot
   * or a par above the slot's capacity refuses the whole edit.
   */
  async setPars(machineId: string, edit: ParsEdit, by: string, nowMs: number): Promise<SlotPar[]> {
    const current = await this.pars(machineId);
    if (current === null) throw new FleetError(FleetErrorCode.MACHINE_NOT_FOUND, `no machine ${machineId}`, 404);
    const slots = new Map(current.map((s) => [s.slot, s]));
    for (const [slot, par] of Object.entries(edit.pars)) {
      const s = slots.get(slot);
      if (!s) throw new FleetError(FleetErrorCode.UNKNOWN_SLOT, `machine ${machineId} has no slot ${slot}`, 400);
      if (par !== null && par > s.capacity) throw new FleetError(PicklistErrorCode.PAR_ABOVE_CAPACITY, `par ${par} of slot ${slot} is above its capacity ${s.capacity}`, 400);
    }
    await this.db.transaction(async (tx) => {
      for (const [slot, par] of Object.entries(edit.pars)) {
        if (par === null) await tx.run("DELETE FROM slot_pars WHERE machine_id = ? AND slot = ?", [machineId, slot]);
        else {
          await tx.run(
            "INSERT INTO slot_pars (machine_id, slot, par, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT (machine_id, slot) DO UPDATE SET par = excluded.par, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            [machineId, slot, par, nowMs, by],
          );
        }
      }
    });
    return (await this.pars(machineId))!;
  }

  // ------------------------------------------------------------- pick list

  /**
   * The pick list now: every enabled slot of the machines (of the group), its stock as last reported, its par, the
   * units to load and its sales rate over the window: the `windowDays` whole UTC days before today and today so far
   * (from `windowFrom`, between `windowDays` and `windowDays` + 1 days long: the ring keeps whole days).
   */
  async compute(q: PickListQuery): Promise<PickList> {
    const { windowDays, today, fromDay, windowFrom, spanDays, soldDay } = await this.window(q);
    const machines: PickMachine[] = [];
    for await (const { mRows, rows } of this.byGroup(q.machineIds, fromDay, today, soldDay)) machines.push(...assemble(mRows, rows, spanDays));
    machines.sort(byNeed);
    return { generatedAt: q.nowMs, windowDays, windowFrom, machines, totals: totalsOf(machines), toLoad: machines.reduce((n, m) => n + m.toLoad, 0) };
  }

  /**
   * One page of the pick list: every machine (of the group) ordered by need as `compute()` orders them, the van's
   * totals and the units to load of all of them, and the lines of the machines `offset`..`offset + limit` only. What
   * the console shows: a fleet of 10,000 machines is ~150,000 lines (~20 MB of JSON) that nobody reads at once. The
   * ordering needs each machine's empty slots, units to load, lowest stock / sold and loads per product: on the
   * default window the summaries kept per machine (machine-summary.ts), on another one summed in one pass over the
   * same slots query as `compute()`; then the page's machines are read line by line. Their numbers are `compute()`'s
   * exactly (the pages of a list put together are `compute()`'s machines).
   */
  async computePage(q: PickListQuery & { offset: number; limit: number }): Promise<PickListPage> {
    const { windowDays, today, fromDay, windowFrom, spanDays, soldDay } = await this.window(q);
    // The default window with its kept sum: the summaries kept per machine (machine-summary.ts); another window
    // passes over the slots of every machine (of the group).
    const kept = today - fromDay === SOLD_DAYS && soldDay === today;
    const rows = kept ? await machineSummaries(this.db, q.machineIds, soldDay) : await this.summarise(q.machineIds, fromDay, today, soldDay);
    const summaries: PickMachine[] = [];
    const totals = new Map<string, { total: PickTotal; lastMachine: number }>();
    for (const a of rows) {
      summaries.push({
        machineId: a.machineId,
        status: a.status as MachineStatus,
        emptySlots: a.empty,
        daysLeft: a.ratio === null ? null : round(spanDays * a.ratio, 1),
        toLoad: a.toLoad,
        lines: [],
      });
      // The machine's loads by product, "kind US name US units" joined by RS: the van's totals without grouping
      // the slots by name again.
      if (a.loads === "") continue;
      const machineNo = summaries.length;
      for (const item of a.loads.split("\u001e")) {
        const cut = item.lastIndexOf("\u001f");
        const key = item.slice(0, cut);
        let t = totals.get(key);
        if (!t) {
          const [kind, name] = key.split("\u001f") as [PickTotal["kind"], string];
          totals.set(key, (t = { total: { name, kind, toLoad: 0, machines: 0 }, lastMachine: -1 }));
        }
        t.total.toLoad += Number(item.slice(cut + 1));
        // A product in two slots of one machine counts that machine once.
        if (t.lastMachine !== machineNo) {
          t.lastMachine = machineNo;
          t.total.machines += 1;
        }
      }
    }
    summaries.sort(byNeed);
    const page = summaries.slice(q.offset, q.offset + q.limit);
    if (page.length > 0) {
      const ids = page.map((m) => m.machineId);
      const inList = ` IN (${ids.map(() => "?").join(", ")})`;
      const [sql, params] = this.slotsQuery(inList, ids, fromDay, today, soldDay);
      const lines = new Map(assemble(page.map((m) => ({ id: m.machineId, status: m.status })), await this.db.all(sql, params), spanDays).map((m) => [m.machineId, m.lines]));
      for (const m of page) m.lines = lines.get(m.machineId) ?? [];
    }
    return {
      generatedAt: q.nowMs,
      windowDays,
      windowFrom,
      machines: page,
      totals: [...totals.values()].map((t) => t.total).sort((a, b) => b.toLoad - a.toLoad || collator.compare(a.name, b.name)),
      toLoad: summaries.reduce((n, m) => n + m.toLoad, 0),
      page: { offset: q.offset, limit: q.limit, machines: summaries.length, withLoad: summaries.filter((m) => m.toLoad > 0).length },
    };
  }

  /**
   * Each machine's summary (as machine-summary.ts keeps them) for another window than the kept one: one pass over the
   * slots query of `compute()`, grouped by machine.
   */
  private async summarise(machineIds: readonly string[] | undefined, fromDay: number, today: number, soldDay: number): Promise<MachineSummary[]> {
    const out: MachineSummary[] = [];
    const perMachine = (slotsSql: string) => `SELECT x.machine_id, ${summaryColumns(this.db.dialect)} FROM (${slotsSql}) x GROUP BY x.machine_id`;
    for await (const { mRows, rows: aRows } of this.byGroup(machineIds, fromDay, today, soldDay, perMachine)) {
      const agg = new Map(aRows.map((r) => [str(r.machine_id), r]));
      for (const m of mRows) {
        const a = agg.get(str(m.id));
        out.push({ machineId: str(m.id), status: str(m.status), empty: a ? num(a.empty) : 0, toLoad: a ? num(a.to_load) : 0, ratio: a ? numOrNull(a.ratio) : null, loads: typeof a?.loads === "string" ? a.loads : "" });
      }
    }
    return out;
  }

  // ------------------------------------------------------------ issued lists

  /** Saves the pick list computed now with its lines, so the restocks after it can be matched against it. */
  async issue(q: PickListQuery, by: string): Promise<IssuedPickList> {
    const list = await this.compute(q);
    if (list.machines.length === 0) throw new FleetError(PicklistErrorCode.EMPTY_PICKLIST, "no machine to put on the pick list", 400);
    const id = `pl-${randomBytes(9).toString("base64url")}`;
    const rows: SqlValue[][] = [];
    list.machines.forEach((m, position) => {
      for (const l of m.lines) rows.push([id, position, m.machineId, m.status, l.slot, l.name, l.kind, l.capacity, l.par, l.parSet ? 1 : 0, l.stock, l.toLoad, l.daysLeft]);
    });
    await this.db.transaction(async (tx) => {
      await tx.run("INSERT INTO picklists (id, issued_at, issued_by, window_days) VALUES (?, ?, ?, ?)", [id, q.nowMs, by, list.windowDays]);
      for (const batch of chunks(rows)) {
        await tx.run(
          `INSERT INTO picklist_lines (picklist_id, position, machine_id, status, slot, name, kind, capacity, par, par_set, stock, to_load, days_left) VALUES ${batch.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
          batch.flat(),
        );
      }
    });
    return (await this.issued(id))!;
  }

  /** An issued pick list with the restocks since (null: no such list). */
  async issued(id: string): Promise<IssuedPickList | null> {
    const head = (await this.db.all("SELECT id, issued_at, issued_by, window_days FROM picklists WHERE id = ?", [id]))[0];
    if (!head) return null;
    const issuedAt = num(head.issued_at);
    const lineRows = await this.db.all("SELECT * FROM picklist_lines WHERE picklist_id = ? ORDER BY position", [id]);
    const machineIds = [...new Set(lineRows.map((r) => str(r.machine_id)))];
    const restocks = await this.restocksSince(machineIds, issuedAt, id);
    const machines = new Map<string, IssuedPickList["machines"][number]>();
    for (const r of lineRows) {
      const machineId = str(r.machine_id);
      let m = machines.get(machineId);
      if (!m) machines.set(machineId, (m = { machineId, status: str(r.status) as MachineStatus, emptySlots: 0, daysLeft: null, toLoad: 0, lines: [] }));
      const line: IssuedPickLine = {
        slot: str(r.slot),
        name: str(r.name),
        kind: str(r.kind) as PickLine["kind"],
        capacity: num(r.capacity),
        par: num(r.par),
        parSet: num(r.par_set) === 1,
        stock: num(r.stock),
        toLoad: num(r.to_load),
        daysLeft: numOrNull(r.days_left),
        restock: null,
      };
      const found = restocks.get(`${machineId}\u0000${line.slot}`);
      if (found) {
        const expected = found.previous + line.toLoad;
        line.restock = { at: found.at, previous: found.previous, counted: found.counted, loaded: found.counted - found.previous, expected, shrinkage: expected - found.counted };
      }
      m.lines.push(line);
      if (line.stock === 0) m.emptySlots += 1;
      if (line.daysLeft !== null && (m.daysLeft === null || line.daysLeft < m.daysLeft)) m.daysLeft = line.daysLeft;
      m.toLoad += line.toLoad;
    }
    const list = [...machines.values()];
    for (const m of list) m.lines.sort(bySlot);
    const lines = list.flatMap((m) => m.lines);
    return {
      id,
      issuedAt,
      issuedBy: str(head.issued_by),
      windowDays: num(head.window_days),
      machines: list,
      totals: totalsOf(list),
      toLoad: list.reduce((n, m) => n + m.toLoad, 0),
      restocked: lines.filter((l) => l.toLoad > 0 && l.restock !== null).length,
      shrinkage: lines.reduce((n, l) => n + (l.restock?.shrinkage ?? 0), 0),
    };
  }

  /** The latest issued pick lists, newest first, with their restock progress and shrinkage. */
  async listIssued(limit = 20): Promise<IssuedPickListSummary[]> {
    const heads = await this.db.all("SELECT id FROM picklists ORDER BY issued_at DESC, id DESC LIMIT ?", [Math.max(1, Math.min(100, limit))]);
    const out: IssuedPickListSummary[] = [];
    for (const h of heads) {
      const l = await this.issued(str(h.id));
      if (!l) continue;
      const { machines, totals: _totals, ...rest } = l;
      out.push({ ...rest, machineIds: machines.map((m) => m.machineId) });
    }
    return out;
  }

  /**
   * Per (machine, slot): the technician's restock that answers this pick list: restocks at or after its issue and
   * before the next pick list issued for that machine (which the later ones answer). Several restocks of one slot
   * in that time (a correction) count as one visit: the machine's count before the first, the stock after the last.
   */
  private async restocksSince(machineIds: readonly string[], issuedAt: number, id: string): Promise<Map<string, { at: number; previous: number; counted: number }>> {
    const out = new Map<string, { at: number; previous: number; counted: number }>();
    for (const ids of chunks(machineIds)) {
      const inList = ids.map(() => "?").join(", ");
      const [nextRows, evRows] = await Promise.all([
        this.db.all(
          `SELECT l.machine_id, MIN(p.issued_at) AS next_at FROM picklist_lines l JOIN picklists p ON p.id = l.picklist_id
           WHERE l.machine_id IN (${inList}) AND p.issued_at > ? AND p.id <> ? GROUP BY l.machine_id`,
          [...ids, issuedAt, id],
        ),
        this.db.all(`SELECT machine_id, ts, seq, body FROM events WHERE type = 'restock' AND machine_id IN (${inList}) AND ts >= ? ORDER BY ts, seq`, [...ids, issuedAt]),
      ]);
      const next = new Map(nextRows.map((r: Row) => [str(r.machine_id), num(r.next_at)]));
      for (const r of evRows) {
        const machineId = str(r.machine_id);
        const ts = num(r.ts);
        if (ts >= (next.get(machineId) ?? Number.POSITIVE_INFINITY)) continue;
        const body = JSON.parse(str(r.body)) as { slot: string; previous: number; stock: number };
        const key = `${machineId}\u0000${body.slot}`;
        const seen = out.get(key);
        if (seen) out.set(key, { ...seen, at: ts, counted: body.stock });
        else out.set(key, { at: ts, previous: body.previous, counted: body.stock });
      }
    }
    return out;
  }
}

/**
 * Days until a slot runs out at its rate: stock / (sold / spanDays), written as the pick list's page computes it
 * (the window's days times the lowest stock / sold the database keeps per machine, in doubles; both are monotonic,
 * so the machine's lowest is its slots' lowest), so both give the very same number.
 */
function daysOfStock(stock: number, sold: number, spanDays: number): number {
  return spanDays * (stock / sold);
}

/** Builds the machines of a pick list from the rows of one group of machines. */
function assemble(mRows: Row[], sRows: Row[], spanDays: number): PickMachine[] {
  const machines = new Map<string, PickMachine>();
  for (const r of mRows) machines.set(str(r.id), { machineId: str(r.id), status: str(r.status) as MachineStatus, emptySlots: 0, daysLeft: null, toLoad: 0, lines: [] });
  for (const r of sRows) {
    const m = machines.get(str(r.machine_id));
    if (!m) continue;
    const slot = str(r.slot);
    const capacity = num(r.capacity);
    const parRaw = numOrNull(r.par);
    const par = parRaw === null ? capacity : Math.min(parRaw, capacity);
    const stock = num(r.stock);
    const n = num(r.sold);
    const perDay = n / spanDays;
    const daysLeft = n > 0 ? round(daysOfStock(stock, n, spanDays), 1) : null;
    const toLoad = Math.max(0, par - stock);
    m.lines.push({ slot, name: str(r.name), kind: str(r.kind) as PickLine["kind"], capacity, par, parSet: parRaw !== null, stock, toLoad, sold: n, perDay: round(perDay, 2), daysLeft });
    if (stock === 0) m.emptySlots += 1;
    if (daysLeft !== null && (m.daysLeft === null || daysLeft < m.daysLeft)) m.daysLeft = daysLeft;
    m.toLoad += toLoad;
  }
  const out = [...machines.values()];
  // The slot names repeat across machines (A1..B10): rank the distinct ones once, then sort by rank.
  const rank = new Map([...new Set(sRows.map((r) => str(r.slot)))].sort(collator.compare).map((slot, i) => [slot, i]));
  for (const m of out) m.lines.sort((a, b) => rank.get(a.slot)! - rank.get(b.slot)!);
  return out;
}
