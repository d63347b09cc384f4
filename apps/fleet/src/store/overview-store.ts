// The overview's queries (issue #18): period totals and top products from the hourly sums kept by migration 10's
// trigger (`sales_hours`), each machine's sales today from the ledger's covering index, the last sale from the
// machine row. Every period is `[from, to)` of local midnights (periods.ts). Whole UTC hours inside a span are read
// from the sums; a zone whose midnight is not on a whole UTC hour (UTC+5:30, +5:45) has a partial first and last
// hour, read from the ledger (at most two hours of sales). The overview reads its three periods at once, its two
// series at once and its machines (on PostgreSQL as JSON arrays): three statements (README "Overview").
import type { FleetOverview, PeriodTotals, SeriesPoint } from "@zapvend/protocol";
import { big, num, str, type Row, type SqlDb } from "./db.js";
import type { Span } from "../periods.js";

const HOUR_MS = 3_600_000;
/** Products listed per period (the console shows the top ones; a live sale re-ranks them in the browser). */
const MAX_PRODUCTS = 100;

interface Bucket {
  product: string;
  currency: string;
  n: number;
  msat: bigint;
  fiatMinor: number;
}

/** `[from, to)` as the whole UTC hours inside it (`[h0, h1)` hour numbers, none when h0 >= h1) and the partial rest. */
export function splitHours(span: Span): { h0: number; h1: number; edges: Span[] } {
  const h0 = Math.ceil(span.from / HOUR_MS);
  const h1 = Math.floor(span.to / HOUR_MS);
  if (h0 >= h1) return { h0, h1: h0, edges: span.to > span.from ? [span] : [] };
  const edges: Span[] = [];
  if (span.from < h0 * HOUR_MS) edges.push({ from: span.from, to: h0 * HOUR_MS });
  if (h1 * HOUR_MS < span.to) edges.push({ from: h1 * HOUR_MS, to: span.to });
  return { h0, h1, edges };
}

export class OverviewStore {
  /** SQLite's planner prefers (machine_id, kind, at) for the GROUP BY and reads the table; the covering index is faster. */
  private readonly todayIndex: string;

  constructor(readonly db: SqlDb) {
    this.todayIndex = db.dialect === "sqlite" ? "INDEXED BY ledger_sale_at_machine" : "";
  }

  /**
   * Sums per (product, currency) over each of `spans`, which may overlap (the overview's today, yesterday and last 7
   * days): one read of the hourly sums for all of them, cut at every span's bounds into segments and summed per
   * segment, product and currency, each span adding up the segments inside it (three periods: one query, ~270 rows,
   * instead of three queries that read the same hours again); the partial hours at a span's bounds (a zone at
   * UTC+5:30) from the ledger. Spans far apart would read the hours between them too: this is for overlapping ones.
   */
  private async bucketsOf(spans: readonly Span[]): Promise<Bucket[][]> {
    const split = spans.map(splitHours);
    const bounds = [...new Set(split.filter((x) => x.h1 > x.h0).flatMap((x) => [x.h0, x.h1]))].sort((x, y) => x - y);
    const segments: Promise<Row[]> =
      bounds.length < 2
        ? Promise.resolve([])
        : this.db.all(
            `SELECT ${segmentOf(bounds.length - 1)} AS seg, product, currency, SUM(n) AS n, SUM(msat) AS msat, SUM(fiat_minor) AS fiat
             FROM sales_hours WHERE hour >= ? AND hour < ? GROUP BY seg, product, currency`,
            [...bounds.slice(1, -1), bounds[0]!, bounds.at(-1)!],
          );
    const edgeRows = (e: Span) =>
      this.db.all(
        `SELECT COALESCE(product_name, slot) AS product, COALESCE(fiat_currency, '') AS currency, COUNT(*) AS n, SUM(amount_msat) AS msat, SUM(COALESCE(fiat_minor, 0)) AS fiat
         FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ? GROUP BY COALESCE(product_name, slot), COALESCE(fiat_currency, '')`,
        [e.from, e.to],
      );
    const [segRows, ...edges] = await Promise.all([segments, ...split.map((x) => Promise.all(x.edges.map(edgeRows)).then((parts) => parts.flat()))]);
    return split.map(({ h0, h1 }, i) => {
      // Segment j is [bounds[j], bounds[j + 1]): inside the span when both bounds are.
      const inside = h1 > h0 ? segRows!.filter((r) => bounds[num(r.seg)]! >= h0 && bounds[num(r.seg) + 1]! <= h1) : [];
      return mergeBuckets([...inside, ...edges[i]!]);
    });
  }

  /** Count, sats, fiat per currency (sales without fiat counted apart) and products (most sats first). */
  async periodTotals(span: Span): Promise<PeriodTotals> {
    return (await this.periodsTotals([span]))[0];
  }

  /** `periodTotals` of each of `spans` (overlapping ones: the overview's three periods), from one read (`bucketsOf`). */
  async periodsTotals<const T extends readonly Span[]>(spans: T): Promise<{ [K in keyof T]: PeriodTotals }> {
    const buckets = await this.bucketsOf(spans);
    return spans.map((span, i) => totalsOf(span, buckets[i]!)) as { [K in keyof T]: PeriodTotals };
  }

  /**
   * Makes `machine_today` count `today`: when `overview_day` names another day (local midnight passed, or the zone
   * changed), sets it and recomputes every machine's today from the ledger, in one transaction (the ingest's
   * transactions are serialised with it, so no sale falls between the two). With several fleet servers on one
   * PostgreSQL, a sale committed by another server in the very moment of the change may be missed there until the
   * next change; the periods and charts are not affected.
   */
  private async ensureDay(today: Span): Promise<void> {
    const [row] = await this.db.all("SELECT day_from, day_to FROM overview_day WHERE id = 1");
    if (row && isDay(row.day_from, row.day_to, today)) return;
    await this.db.transaction(async (tx) => {
      await tx.run("INSERT INTO overview_day (id, day_from, day_to) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET day_from = excluded.day_from, day_to = excluded.day_to", [today.from, today.to]);
      await tx.run("DELETE FROM machine_today");
      await tx.run(
        `INSERT INTO machine_today (machine_id, day_from, n, msat) SELECT machine_id, ?, COUNT(*), SUM(amount_msat) FROM ledger ${this.todayIndex}
         WHERE kind = 'sale' AND at >= ? AND at < ? GROUP BY machine_id`,
        [today.from, today.from, today.to],
      );
    });
  }

  /** Every machine that ever sold: its count and sats in `today`, and its latest sale (sorted by id). */
  async machinesToday(today: Span): Promise<FleetOverview["machines"]> {
    let machines: FleetOverview["machines"];
    if (this.db.dialect === "postgres") {
      // The day is read in the same statement (one round trip less); only on a new day is it set, then read again
      // (as the old order did: set, then read, whatever another server in another zone may have set in between).
      const first = await this.machinesFromJson(today);
      machines = first.machines;
      if (!first.sameDay) {
        await this.ensureDay(today);
        machines = (await this.machinesFromJson(today)).machines;
      }
    } else {
      await this.ensureDay(today);
      machines = await this.machinesJoined(today.from);
    }
    // Sorted here: ORDER BY id walks the primary key's index and fetches each row from it, a plain scan does not (and
    // the engine's collation need not be the code-unit order the answer has always had).
    return machines.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  }

  /** SQLite: one row per machine, `machine_today` joined in (rows are read in-process, so 10,000 of them are cheap). */
  private async machinesJoined(dayFrom: number): Promise<FleetOverview["machines"]> {
    const rows = await this.db.all(
      `SELECT m.id, m.last_sale_at, t.n, t.msat FROM machines m LEFT JOIN machine_today t ON t.machine_id = m.id AND t.day_from = ?
       WHERE m.last_sale_at IS NOT NULL`,
      [dayFrom],
    );
    return rows.map((r) => ({ id: str(r.id), count: r.n === null ? 0 : num(r.n), amountMsat: r.msat === null ? "0" : big(r.msat).toString(), lastSaleAt: num(r.last_sale_at) }));
  }

  /**
   * PostgreSQL: the same numbers as one row of JSON arrays, a column each, from two plain scans (`machines`,
   * `machine_today`) joined here by id, with `overview_day` read in the same snapshot (`sameDay` false: it names
   * another day, the caller sets it and reads again; once a day). Why (bench/README.md, fleet-overview): 10,000 rows through the driver cost the Node process more CPU than the whole query costs the server (a message,
   * an object and a type parser per row and column); five JSON arrays cost it a third less, with the same work on the
   * server. And the SQL join is gone, which PostgreSQL ran as a nested loop of 10,000 index probes whenever its
   * statistics had not yet seen `last_sale_at` filled (about 3 times the hash join's time). Sats come as text (exact
   * beyond 2^53: PostgreSQL's canonical decimal); the arrays of one scan come from one aggregation over the same rows,
   * so they are in the same order (json_agg has no parallel partial form).
   */
  private async machinesFromJson(today: Span): Promise<{ sameDay: boolean; machines: FleetOverview["machines"] }> {
    const [r] = await this.db.all(
      `SELECT d.day_from, d.day_to, m.ids, m.last_sale, t.ids AS today_ids, t.n, t.msat
       FROM (SELECT json_agg(id) AS ids, json_agg(last_sale_at) AS last_sale FROM machines WHERE last_sale_at IS NOT NULL) m
       CROSS JOIN (SELECT json_agg(machine_id) AS ids, json_agg(n) AS n, json_agg(msat::text) AS msat FROM machine_today WHERE day_from = ?) t
       LEFT JOIN overview_day d ON d.id = 1`,
      [today.from],
    );
    const sameDay = r !== undefined && r.day_from !== null && isDay(r.day_from, r.day_to, today);
    const ids = jsonArray(r?.ids);
    const lastSale = jsonArray(r?.last_sale);
    const todayIds = jsonArray(r?.today_ids);
    const n = jsonArray(r?.n);
    const msat = jsonArray(r?.msat);
    const todayOf = new Map<string, number>();
    for (let i = 0; i < todayIds.length; i++) todayOf.set(str(todayIds[i]), i);
    const out: FleetOverview["machines"] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = str(ids[i]);
      const k = todayOf.get(id);
      out[i] = k === undefined ? { id, count: 0, amountMsat: "0", lastSaleAt: num(lastSale[i]) } : { id, count: num(n[k]), amountMsat: str(msat[k]), lastSaleAt: num(lastSale[i]) };
    }
    return { sameDay, machines: out };
  }

  /**
   * Count and sats per bucket of `spans` (contiguous, oldest first). Whole UTC hours inside a bucket come from the
   * hourly sums (one query); an hour cut by a bucket's bound (a zone at UTC+5:30) from the ledger.
   */
  async series(spans: ReadonlyArray<Span & { label: string }>): Promise<SeriesPoint[]> {
    return (await this.seriesOf([spans]))[0];
  }

  /**
   * `series` of each list (the overview's 14 days and today's hours, which lie inside them): the hourly sums of all
   * of them in one query over the hours they span together.
   */
  async seriesOf<const T extends ReadonlyArray<ReadonlyArray<Span & { label: string }>>>(lists: T): Promise<{ [K in keyof T]: SeriesPoint[] }> {
    const whole = lists.filter((l) => l.length > 0).map((l) => splitHours({ from: l[0]!.from, to: l.at(-1)!.to })).filter((x) => x.h1 > x.h0);
    const hours =
      whole.length === 0
        ? []
        : (
            await this.db.all("SELECT hour, SUM(n) AS n, SUM(msat) AS msat FROM sales_hours WHERE hour >= ? AND hour < ? GROUP BY hour", [
              Math.min(...whole.map((x) => x.h0)),
              Math.max(...whole.map((x) => x.h1)),
            ])
          ).map((r) => ({ hour: num(r.hour), n: num(r.n), msat: big(r.msat) }));
    return (await Promise.all(lists.map((spans) => this.seriesFrom(spans, hours)))) as { [K in keyof T]: SeriesPoint[] };
  }

  /** One series from the hourly sums read (`hours`, a range covering its whole hours) and the ledger for cut hours. */
  private async seriesFrom(spans: ReadonlyArray<Span & { label: string }>, hours: ReadonlyArray<{ hour: number; n: number; msat: bigint }>): Promise<SeriesPoint[]> {
    if (spans.length === 0) return [];
    const points = spans.map((s) => ({ from: s.from, to: s.to, label: s.label, count: 0, msat: 0n }));
    const { h0, h1 } = splitHours({ from: points[0]!.from, to: points.at(-1)!.to });
    const add = (at: number, n: number, msat: bigint) => {
      // Buckets are few (14 days, 24 hours): a scan is cheaper than a search here.
      const p = points.find((b) => at >= b.from && at < b.to);
      if (p) {
        p.count += n;
        p.msat += msat;
      }
    };
    const cut = new Set<number>();
    for (const p of points) {
      if (p.from % HOUR_MS !== 0) cut.add(Math.floor(p.from / HOUR_MS));
      if (p.to % HOUR_MS !== 0) cut.add(Math.floor(p.to / HOUR_MS));
    }
    for (const r of hours) {
      if (r.hour >= h0 && r.hour < h1 && !cut.has(r.hour)) add(r.hour * HOUR_MS, r.n, r.msat);
    }
    // The first and last partial hours of the whole range, and every hour a bucket's bound cuts.
    const fromLedger = [...splitHours({ from: points[0]!.from, to: points.at(-1)!.to }).edges];
    for (const hour of cut) {
      if (hour >= h0 && hour < h1) fromLedger.push({ from: hour * HOUR_MS, to: (hour + 1) * HOUR_MS });
    }
    for (const e of fromLedger) {
      const rows = await this.db.all("SELECT at, amount_msat FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ?", [e.from, e.to]);
      for (const r of rows) add(num(r.at), 1, big(r.amount_msat));
    }
    return points.map((p) => ({ from: p.from, to: p.to, label: p.label, count: p.count, amountMsat: p.msat.toString() }));
  }
}

/** SQL numbering `hour`'s segment among `count` (0 ... count - 1), given the `count - 1` inner bounds as parameters. */
function segmentOf(count: number): string {
  if (count === 1) return "0";
  return `CASE ${Array.from({ length: count - 1 }, (_, i) => `WHEN hour < ? THEN ${i}`).join(" ")} ELSE ${count - 1} END`;
}

/** A period's answer from its buckets. */
function totalsOf(span: Span, rows: readonly Bucket[]): PeriodTotals {
  let count = 0;
  let msat = 0n;
  let noFiat = 0;
  const fiat = new Map<string, { amountMinor: number; count: number }>();
  const products = new Map<string, { count: number; msat: bigint }>();
  for (const b of rows) {
    count += b.n;
    msat += b.msat;
    if (b.currency === "") noFiat += b.n;
    else {
      const f = fiat.get(b.currency) ?? { amountMinor: 0, count: 0 };
      f.amountMinor += b.fiatMinor;
      f.count += b.n;
      fiat.set(b.currency, f);
    }
    const p = products.get(b.product) ?? { count: 0, msat: 0n };
    p.count += b.n;
    p.msat += b.msat;
    products.set(b.product, p);
  }
  return {
    from: span.from,
    to: span.to,
    count,
    amountMsat: msat.toString(),
    fiat: [...fiat].map(([currency, f]) => ({ currency, ...f })).sort((a, b) => b.count - a.count || a.currency.localeCompare(b.currency)),
    noFiatCount: noFiat,
    products: [...products]
      .sort((a, b) => (b[1].msat > a[1].msat ? 1 : b[1].msat < a[1].msat ? -1 : b[1].count - a[1].count || a[0].localeCompare(b[0])))
      .slice(0, MAX_PRODUCTS)
      .map(([product, p]) => ({ product, count: p.count, amountMsat: p.msat.toString() })),
  };
}

/** Rows of (product, currency, n, msat, fiat) summed per (product, currency). */
function mergeBuckets(rows: readonly Row[]): Bucket[] {
  const merged = new Map<string, Bucket>();
  for (const r of rows) {
    const product = str(r.product);
    const currency = str(r.currency);
    const k = `${product}\u0000${currency}`;
    const b = merged.get(k) ?? { product, currency, n: 0, msat: 0n, fiatMinor: 0 };
    b.n += num(r.n);
    b.msat += big(r.msat);
    b.fiatMinor += num(r.fiat);
    merged.set(k, b);
  }
  return [...merged.values()];
}

/** Whether the stored `overview_day` bounds are `day`'s. */
function isDay(from: unknown, to: unknown, day: Span): boolean {
  return num(from) === day.from && num(to) === day.to;
}

/** A `json_agg` column as the driver parsed it: an array, or NULL over no rows. */
function jsonArray(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v;
  throw new TypeError(`not a JSON array from the database: ${typeof v}`);
}
