// The overview's API answer for a 10,000-machine fleet (issue #18): `GET /api/overview` over real HTTP on
// 127.0.0.1 with an API token, into a real store that holds 14 days of sales history (10,000 machines, 0-24 sales a
// machine a day, about 12 on average, in the daytime hours of Europe/Paris, 30 products, EUR mostly, some CHF, some
// without fiat): today / yesterday / last 7 days with fiat per currency and products, each machine's sales today and
// last sale, revenue per day and per hour. 5 warm-up requests, then 60 one after the other (one operator opening
// the overview, not a flood): p50, p99, max, spread. Baseline: the same 7-day totals summed straight from the ledger
// (what the overview would cost without migration 10's hourly sums), 5 times.
// SQLite always; PostgreSQL as a second row when `ZAPVEND_BENCH_PG_URL` or `TEST_PG_URL` names a server (its own
// schema, dropped afterwards). `ZAPVEND_BENCH_OVERVIEW_MACHINES` / `_DAYS` / `_REQUESTS` change the sizes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { FleetHttpServer, FleetService, FleetStore, PostgresDb, SqliteDb } from "@zapvend/fleet";
import { percentile, round, spread } from "./lib.mjs";

const MACHINES = Number(process.env.ZAPVEND_BENCH_OVERVIEW_MACHINES ?? 10_000);
const DAYS = Number(process.env.ZAPVEND_BENCH_OVERVIEW_DAYS ?? 14);
const REQUESTS = Number(process.env.ZAPVEND_BENCH_OVERVIEW_REQUESTS ?? 60);
const GOAL_P99_MS = 200;
const TZ = "Europe/Paris";
const DAY_MS = 86_400_000;
const PG_URL = process.env.ZAPVEND_BENCH_PG_URL ?? process.env.TEST_PG_URL;

/** A small deterministic generator (mulberry32), so every run seeds the same history. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const machineId = (i) => `bench-${String(i).padStart(5, "0")}`;

/**
 * Takes the ledger's secondary indexes and migration 10's trigger off while the history is bulk-inserted, and puts
 * them back afterwards from their own stored definitions (sqlite_master / pg_indexes), then sums the history into
 * `sales_hours` with the same statement as migration 10's back-fill: the same end state as 1.8 M ingested sales
 * (the bench checks the overview's 7-day count against the ledger), minutes faster to build.
 */
export async function bulk(db, fill) {
  if (db.dialect === "sqlite") {
    const defs = await db.all("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'ledger' AND type IN ('index', 'trigger') AND sql IS NOT NULL");
    for (const d of defs) await db.run(`DROP ${d.type === "index" ? "INDEX" : "TRIGGER"} ${d.name}`);
    await fill();
    for (const d of defs) await db.exec(d.sql);
  } else {
    const defs = await db.all("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger' AND schemaname = current_schema() AND indexname NOT LIKE '%pkey'");
    for (const d of defs) await db.run(`DROP INDEX ${d.indexname}`);
    await db.run("ALTER TABLE ledger DISABLE TRIGGER USER");
    await fill();
    await db.run("ALTER TABLE ledger ENABLE TRIGGER USER");
    for (const d of defs) await db.run(d.indexdef);
  }
  await db.run(`INSERT INTO sales_hours (hour, product, currency, n, msat, fiat_minor)
    SELECT at / 3600000, COALESCE(product_name, slot), COALESCE(fiat_currency, ''), COUNT(*), SUM(amount_msat), SUM(COALESCE(fiat_minor, 0))
    FROM ledger WHERE kind = 'sale' GROUP BY at / 3600000, COALESCE(product_name, slot), COALESCE(fiat_currency, '')`);
  // What a live database has from its own statistics (SQLite: ANALYZE; PostgreSQL: autovacuum).
  if (db.dialect === "sqlite") await db.run("ANALYZE");
  else for (const t of ["ledger", "sales_hours", "machines"]) await db.run(`ANALYZE ${t}`);
}

/** Inserts the machines and their sales through the store's own SQL surface. */
export async function seed(db, now) {
  const rand = rng(18);
  const first = now - DAYS * DAY_MS;
  const machineRows = [];
  for (let i = 0; i < MACHINES; i++) machineRows.push([machineId(i), first, now]);
  for (let i = 0; i < machineRows.length; i += 1000) {
    const chunk = machineRows.slice(i, i + 1000);
    await db.run(`INSERT INTO machines (id, first_seen, last_seen) VALUES ${chunk.map(() => "(?, ?, ?)").join(", ")}`, chunk.flat());
  }
  let batch = [];
  let sales = 0;
  const sql = `INSERT INTO ledger (machine_id, event_id, seq, kind, order_id, slot, product_name, amount_msat, fiat_currency, fiat_minor, payment_hash, hold, evidence, state, at) VALUES ${Array.from({ length: 1000 }, () => "(?, ?, ?, 'sale', ?, ?, ?, ?, ?, ?, ?, 1, '{}', 'settled', ?)").join(", ")}`;
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    // 1,000 rows a statement, 50,000 a transaction.
    await db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += 1000) {
        const chunk = rows.slice(i, i + 1000);
        await tx.run(chunk.length === 1000 ? sql : sql.slice(0, sql.indexOf("VALUES") + 7) + chunk.map(() => "(?, ?, ?, 'sale', ?, ?, ?, ?, ?, ?, ?, 1, '{}', 'settled', ?)").join(", "), chunk.flat());
      }
    });
  };
  for (let m = 0; m < MACHINES; m++) {
    let seq = 0;
    for (let d = DAYS; d >= 0; d--) {
      const n = Math.floor(rand() * 25);
      for (let k = 0; k < n; k++) {
        // Daytime in Paris (06:00-22:00 UTC covers 07:00/08:00-23:00/24:00 local), never in the future.
        const at = Math.floor((now - d * DAY_MS) / DAY_MS) * DAY_MS + 6 * 3_600_000 + Math.floor(rand() * 16 * 3_600_000);
        if (at > now) continue;
        const p = Math.floor(rand() * 30);
        const priceSat = 1000 + p * 70;
        const r = rand();
        const currency = r < 0.9 ? "EUR" : r < 0.97 ? "CHF" : null;
        seq++;
        const id = `e-${m}-${seq}`;
        batch.push([machineId(m), id, seq, `o-${m}-${seq}`, `A${(p % 8) + 1}`, `Product ${p}`, priceSat * 1000, currency, currency ? 100 + p * 7 : null, id.padEnd(64, "0").slice(0, 64), at]);
        sales++;
        if (batch.length >= 50_000) await flush();
      }
    }
  }
  await flush();
  return sales;
}


async function measure(engineName, db, cleanup) {
  const now = Date.now();
  const store = new FleetStore(db);
  const service = new FleetService({ store, alertIntervalMs: 3_600_000 });
  await service.start();
  const http = new FleetHttpServer({ service, port: 0, timeZone: TZ });
  await http.start();
  try {
    const t0 = performance.now();
    let sales = 0;
    await bulk(db, async () => {
      sales = await seed(db, now);
    });
    await db.run("UPDATE machines SET last_sale_at = (SELECT MAX(at) FROM ledger WHERE ledger.machine_id = machines.id AND kind = 'sale')");
    const seedS = round((performance.now() - t0) / 1000, 1);
    const { secret } = await http.auth.createToken("bench", "viewer", { actor: "bench", address: null });
    const get = async () => {
      const s = performance.now();
      const res = await fetch(`${http.url}/api/overview`, { headers: { authorization: `Bearer ${secret}` } });
      const body = await res.json();
      const ms = performance.now() - s;
      if (res.status !== 200) throw new Error(`GET /api/overview: HTTP ${res.status} ${JSON.stringify(body)}`);
      return { ms, body };
    };
    for (let i = 0; i < 5; i++) await get();
    const samples = [];
    let last;
    for (let i = 0; i < REQUESTS; i++) {
      const r = await get();
      samples.push(r.ms);
      last = r.body;
    }
    // The answer must be the history's: its 7-day count is what the ledger holds for those days.
    const p7 = last.periods.last7Days;
    const base = [];
    let ledger7;
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      const rows = await db.all("SELECT COUNT(*) AS n, SUM(amount_msat) AS msat FROM ledger WHERE kind = 'sale' AND at >= ? AND at < ?", [p7.from, p7.to]);
      base.push(performance.now() - s);
      ledger7 = Number(rows[0].n);
    }
    if (ledger7 !== p7.count) throw new Error(`overview says ${p7.count} sales in 7 days, the ledger ${ledger7}`);
    const p99 = round(percentile(samples, 99), 1);
    const baseMed = round(percentile(base, 50), 1);
    return [
      {
        name: engineName === "sqlite" ? "fleet-overview-api-p99-ms" : "fleet-overview-api-postgres-p99-ms",
        label: `GET /api/overview, ${MACHINES.toLocaleString("en-US")} machines, ${sales.toLocaleString("en-US")} sales over ${DAYS + 1} days (${engineName})`,
        value: p99,
        unit: "ms",
        median: round(percentile(samples, 50), 1),
        p99,
        max: round(Math.max(...samples), 1),
        spread: round(spread(samples), 1),
        samples: samples.length,
        baseline: baseMed,
        ratio: round(p99 / baseMed, 2),
        goal: { op: "<=", value: GOAL_P99_MS },
        answerBytes: JSON.stringify(last).length,
        seedS,
      },
      {
        name: `fleet overview baseline: 7-day totals summed from the ledger (${engineName})`,
        value: baseMed,
        unit: "ms",
        median: baseMed,
        max: round(Math.max(...base), 1),
        samples: base.length,
      },
    ];
  } finally {
    await http.stop();
    await service.stop();
    await store.close();
    await cleanup();
  }
}

export default async function fleetOverview() {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-bench-overview-"));
  const rows = await measure("sqlite", new SqliteDb(path.join(dir, "fleet.db")), async () => rmSync(dir, { recursive: true, force: true }));
  if (PG_URL) {
    const schema = `zapvend_bench_overview_${process.pid}`;
    rows.push(
      ...(await measure("postgres", new PostgresDb(PG_URL, schema), async () => {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        try {
          await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await c.end();
        }
      })),
    );
  }
  return rows;
}
