// The overview's queries (issue #18): period totals and top products from the quarter-hour sums kept by migration
// 10's trigger (`sales_quarters`), each machine's sales today from the ledger's covering index, the last sale from
// the machine row. Every period is `[from, to)` of local midnights (periods.ts); a midnight always falls on a
// quarter hour, and a bound that does not (a zone with a historical offset) is answered from the ledger instead.
import type { FleetOverview, PeriodTotals, SeriesPoint } from "@zapvend/protocol";
import { big, num, str, type SqlDb } from "./db.js";
import type { Span } from "../periods.js";

const QUARTER_MS = 900_000;
/** Products listed per period (the console shows the top ones; a live sale re-ranks them in the browser). */
const MAX_PRODUCTS = 100;

interface Bucket {
  product: string;
  currency: string;
  n: number;
  msat: bigint;
  fiatMinor: number;
}

export class OverviewStore {
  constructor(readonly db: SqlDb) {}

  /** Sums per (product, currency) over `[from, to)`. */
  private async buckets(span: Span): Promise<Bucket[]> {
    const rows =
      span.from % QUARTER_MS === 0 && span.to % QUARTER_MS === 0
        ? await this.db.all(
            "SELECT product, currency, SUM(n) AS n, SUM(msat) AS msat, SUM(fiat_minor) AS fiat FROM sales_quarters WHERE quarter >= ? AND quarter < ? GROUP BY product, currency",
            [span.from / QUARTER_MS, span.to / QUARTER_MS],
          )
        : await this.db.all(
            `SELECT COALESCE(product_name, slot) AS product, COALESCE(fiat_currency, '') AS currency, COUNT(*) AS n, SUM(amount_msat) AS msat, SUM(COALESCE(fiat_minor, 0)) AS fiat
             FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ? GROUP BY COALESCE(product_name, slot), COALESCE(fiat_currency, '')`,
            [span.from, span.to],
          );
    return rows.map((r) => ({ product: str(r.product), currency: str(r.currency), n: num(r.n), msat: big(r.msat), fiatMinor: num(r.fiat) }));
  }

  /** Count, sats, fiat per currency (sales without fiat counted apart) and products (most sats first). */
  async periodTotals(span: Span): Promise<PeriodTotals> {
    const rows = await this.buckets(span);
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

  /** Every machine that ever sold: its count and sats in `today`, and its latest sale. */
  async machinesToday(today: Span): Promise<FleetOverview["machines"]> {
    const [sold, last] = await Promise.all([
      this.db.all("SELECT machine_id, COUNT(*) AS n, SUM(amount_msat) AS msat FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ? GROUP BY machine_id", [today.from, today.to]),
      this.db.all("SELECT id, last_sale_at FROM machines WHERE last_sale_at IS NOT NULL ORDER BY id"),
    ]);
    const by = new Map(sold.map((r) => [str(r.machine_id), r]));
    return last.map((r) => {
      const id = str(r.id);
      const s = by.get(id);
      return { id, count: s ? num(s.n) : 0, amountMsat: s ? big(s.msat).toString() : "0", lastSaleAt: num(r.last_sale_at) };
    });
  }

  /**
   * Count and sats per bucket of `spans` (contiguous, oldest first, each a whole number of quarter hours), from one
   * query over the quarter sums.
   */
  async series(spans: ReadonlyArray<Span & { label: string }>): Promise<SeriesPoint[]> {
    if (spans.length === 0) return [];
    const from = spans[0]!.from;
    const to = spans.at(-1)!.to;
    const points = spans.map((s) => ({ from: s.from, to: s.to, label: s.label, count: 0, msat: 0n }));
    if (from % QUARTER_MS === 0 && to % QUARTER_MS === 0) {
      const rows = await this.db.all("SELECT quarter, SUM(n) AS n, SUM(msat) AS msat FROM sales_quarters WHERE quarter >= ? AND quarter < ? GROUP BY quarter ORDER BY quarter", [from / QUARTER_MS, to / QUARTER_MS]);
      let i = 0;
      for (const r of rows) {
        const at = num(r.quarter) * QUARTER_MS;
        while (i < points.length - 1 && at >= points[i]!.to) i++;
        const p = points[i]!;
        p.count += num(r.n);
        p.msat += big(r.msat);
      }
    } else {
      const rows = await this.db.all("SELECT at, amount_msat FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ? ORDER BY at", [from, to]);
      let i = 0;
      for (const r of rows) {
        const at = num(r.at);
        while (i < points.length - 1 && at >= points[i]!.to) i++;
        points[i]!.count += 1;
        points[i]!.msat += big(r.amount_msat);
      }
    }
    return points.map((p) => ({ from: p.from, to: p.to, label: p.label, count: p.count, amountMsat: p.msat.toString() }));
  }
}
