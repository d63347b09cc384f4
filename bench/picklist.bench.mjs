// The pick list of a large fleet (issue #18): 10,000 machines with 10-20 slots each (150,000 slots, a par set on a
// third of them) and 9 days of sales at ~8 a machine a day (7 days inside the rate's window, 2 before it, so the
// window's filter does real work), on SQLite (a temp file, WAL) and on PostgreSQL (TEST_PG_URL or DATABASE_URL, a
// schema of its own, dropped afterwards). On SQLite the sales go in through the ledger's insert, so its triggers keep
// the per-slot ring of day counts (migration 12) as the ingest does; on PostgreSQL the ring is back-filled (below).
//
// The goal's figure is the pick list of the 10,000 machines as the console asks for it,
// `GET /api/picklist?limit=50`: `PicklistStore.computePage()`, which orders every machine of the fleet by need, sums
// the van's totals and the units to load over all of them, and reads the lines of the first 50 machines (the store
// queries and the assembly, before the JSON). It reads each machine's summary (migration 13), computed again for
// the machines written since the last read: so before each measured page, SALES_BETWEEN new sales (default 100, on
// as many random machines) go in through the fleet's own ingest (`FleetStore.applyBatch`, as MQTT messages parsed
// by the protocol: the ledger, the stock, and the triggers that keep the ring and mark the machines stale), and the
// page computes those machines' summaries again inside the measured time. 100 sales is ~15 s of a fleet of 10,000
// machines selling 80 a machine a day, or a console's refresh every 15 s; the day's first page (after the kept sum's
// roll) computes every machine's summary: reported apart, without a goal, as are `compute()`, every line of every
// machine (~150,000 lines: what the CSV export and issuing the whole fleet's list read), and its JSON (~20 MB);
// a route of 20 machines (`machines=`); and the baseline, a bare read of every slot row in the same run. The fleet
// itself is seeded with SQL straight into the store's tables (the ingest's own speed is fleet-ingest's figure); 3
// warm-up runs, then 20 measured (p99 of 20 is their maximum: an upper bound).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { FleetStore, PicklistStore, PostgresDb, SLOT_SALES_BACKFILL, SqliteDb } from "@zapvend/fleet";
import { parseMqttMessage, topics } from "@zapvend/protocol";
import { percentile, round } from "./lib.mjs";

const MACHINES = Number(process.env.ZAPVEND_BENCH_PICKLIST_MACHINES ?? 10_000);
const SALES_PER_DAY = Number(process.env.ZAPVEND_BENCH_PICKLIST_SALES_PER_DAY ?? 8);
const DAYS = 9;
const RUNS = Number(process.env.ZAPVEND_BENCH_PICKLIST_RUNS ?? 20);
const SALES_BETWEEN = Number(process.env.ZAPVEND_BENCH_PICKLIST_SALES_BETWEEN ?? 100);
/** Pages measured with every machine's summary computed again (the day's first). */
const COLD_RUNS = 5;
const WARMUP = 3;
const GOAL_P99_MS = 500;
const DAY_MS = 86_400_000;
const PRODUCTS = ["Cola", "Water", "Crisps", "Chocolate", "Gum", "Coffee", "Juice", "Nuts", "Cookies", "Candy", "Tea", "Energy", "Mints", "Wafer", "Pretzels", "Soda", "Bar", "Chips", "Lemonade", "Popcorn"];

/** A small deterministic PRNG (mulberry32), so both engines get the same fleet. */
function rng(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function insertRows(db, table, columns, rows) {
  const per = Math.max(1, Math.floor(900 / columns.length));
  const one = `(${columns.map(() => "?").join(", ")})`;
  await db.transaction(async (tx) => {
    for (let i = 0; i < rows.length; i += per) {
      const batch = rows.slice(i, i + per);
      await tx.run(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${batch.map(() => one).join(", ")}`, batch.flat());
    }
  });
}

/** Seeds MACHINES machines, their slots, pars on a third of the slots and DAYS days of sales ending at `nowMs`. */
export async function seed(db, nowMs) {
  const rand = rng(18);
  const machines = [];
  const slots = [];
  const pars = [];
  const ledger = [];
  for (let m = 0; m < MACHINES; m++) {
    const id = `m-${String(m).padStart(5, "0")}`;
    machines.push([id, "online", nowMs - 30 * DAY_MS, nowMs]);
    const nSlots = 10 + Math.floor(rand() * 11);
    const weights = [];
    for (let s = 0; s < nSlots; s++) {
      const slot = `${String.fromCharCode(65 + Math.floor(s / 10))}${(s % 10) + 1}`;
      const capacity = 8 + Math.floor(rand() * 8);
      // One slot in 20 is empty, the others anywhere between empty and full.
      const stock = rand() < 0.05 ? 0 : Math.floor(rand() * (capacity + 1));
      slots.push([id, slot, PRODUCTS[(m + s) % PRODUCTS.length], "spiral", capacity, stock, '{"unit":"msat","amountMsat":"1500000"}', 1]);
      if (rand() < 0.33) pars.push([id, slot, Math.max(1, capacity - 2), nowMs - DAY_MS, "user:bench"]);
      weights.push({ slot, w: rand() });
    }
    const total = weights.reduce((n, x) => n + x.w, 0);
    const sales = Math.round(SALES_PER_DAY * DAYS * (0.5 + rand()));
    for (let k = 0; k < sales; k++) {
      let r = rand() * total;
      const pick = weights.find((x) => (r -= x.w) <= 0) ?? weights[weights.length - 1];
      const at = nowMs - Math.floor(rand() * DAYS * DAY_MS);
      ledger.push([id, `sale-${m}-${k}`, k + 1, "sale", `ord-${m}-${k}`, pick.slot, "x", 1_500_000, "0".repeat(64), "settled", at]);
    }
  }
  await insertRows(db, "machines", ["id", "status", "first_seen", "last_seen"], machines);
  await insertRows(db, "slots", ["machine_id", "slot", "name", "kind", "capacity", "stock", "price_json", "enabled"], slots);
  const ledgerColumns = ["machine_id", "event_id", "seq", "kind", "order_id", "slot", "product_name", "amount_msat", "payment_hash", "state", "at"];
  if (db.dialect === "postgres") {
    // Three plpgsql triggers per sale took PostgreSQL over 15 minutes for 725,000 rows (past the bench's file limit):
    // the sales go in with the ledger's triggers off, then the ring is filled by migration 12's own back-fill (the
    // same end state: sales-ring.test.ts checks it against the trigger's), before the pars are copied in by theirs.
    await db.run("ALTER TABLE ledger DISABLE TRIGGER USER");
    try {
      await insertRows(db, "ledger", ledgerColumns, ledger);
    } finally {
      await db.run("ALTER TABLE ledger ENABLE TRIGGER USER");
    }
    await db.run(SLOT_SALES_BACKFILL);
  } else await insertRows(db, "ledger", ledgerColumns, ledger);
  await insertRows(db, "slot_pars", ["machine_id", "slot", "par", "updated_at", "updated_by"], pars);
  // Fresh statistics, as a fleet that has run for days has them (autovacuum on PostgreSQL, `ANALYZE` on SQLite).
  await db.run("ANALYZE");
  const slotsOf = new Map();
  for (const [id, slot] of slots) slotsOf.set(id, [...(slotsOf.get(id) ?? []), slot]);
  return { slots: slots.length, sales: ledger.length, slotsOf };
}

/** `n` sales of random machines and slots, settled in the last hour, as the machines publish them. */
function newSales(rand, slotsOf, n, nowMs, seqs) {
  const ids = [...slotsOf.keys()];
  const out = [];
  for (let k = 0; k < n; k++) {
    const machineId = ids[Math.floor(rand() * ids.length)];
    const slotList = slotsOf.get(machineId);
    const slot = slotList[Math.floor(rand() * slotList.length)];
    const seq = (seqs.get(machineId) ?? 1_000_000) + 1;
    seqs.set(machineId, seq);
    const id = `bench-${machineId}-${seq}`;
    const at = nowMs - Math.floor(rand() * 3_600_000);
    const payload = {
      v: 1, id, ts: at, boot: 1, seq, type: "sale", orderId: `ord-${id}`, slot, productName: "x", amountMsat: "1500000", fiat: null,
      paymentHash: createHash("sha256").update(id).digest("hex"), hold: true, evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1800 }, settledAt: at,
    };
    const r = parseMqttMessage(topics.event(machineId, "sale"), JSON.stringify(payload));
    if (!r.ok) throw new Error(`bench sale does not parse: ${r.error.code} ${r.error.path} ${r.error.message}`);
    out.push({ msg: r.value, receivedAt: nowMs });
  }
  return out;
}

async function time(fn) {
  const t0 = performance.now();
  const out = await fn();
  return { ms: performance.now() - t0, out };
}

function row(name, label, ms, extra = {}) {
  const p99 = round(percentile(ms, 99), 1);
  return {
    name,
    label,
    value: p99,
    unit: "ms",
    median: round(percentile(ms, 50), 1),
    p99,
    max: round(Math.max(...ms), 1),
    spread: round(ms.length >= 20 ? percentile(ms, 95) - percentile(ms, 5) : Math.max(...ms) - Math.min(...ms), 1),
    samples: ms.length,
    ...extra,
  };
}

async function runEngine(engine, db) {
  const store = new FleetStore(db);
  try {
    return await measure(engine, db, store);
  } finally {
    if (db.dialect === "postgres") await db.run(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`).catch(() => {});
    await store.close();
  }
}

async function measure(engine, db, store) {
  await store.start(Date.now());
  const picks = new PicklistStore(db);
  const nowMs = Date.now();
  const seeded = await time(() => seed(db, nowMs));
  const page = () => picks.computePage({ nowMs, offset: 0, limit: 50 });
  const all = () => picks.compute({ nowMs });
  const group = Array.from({ length: 20 }, (_, i) => `m-${String(i * 487).padStart(5, "0")}`);
  const rand = rng(1913);
  const seqs = new Map();
  const sell = () => store.applyBatch(newSales(rand, seeded.out.slotsOf, SALES_BETWEEN, nowMs, seqs));
  for (let i = 0; i < WARMUP; i++) {
    await page();
    await all();
  }
  // The day's first page: every machine's summary is computed again (as after the kept sum's roll).
  const coldMs = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    await db.run("UPDATE picklist_machines SET at_rev = -1");
    coldMs.push((await time(page)).ms);
  }
  const pageMs = [];
  const listMs = [];
  const bareMs = [];
  const jsonMs = [];
  const groupMs = [];
  let last;
  let firstPage;
  for (let i = 0; i < RUNS; i++) {
    await sell();
    const p = await time(page);
    pageMs.push(p.ms);
    firstPage = p.out;
    const r = await time(all);
    listMs.push(r.ms);
    last = r.out;
    bareMs.push((await time(() => db.all("SELECT machine_id, slot, stock, capacity FROM slots"))).ms);
    groupMs.push((await time(() => picks.compute({ nowMs, machineIds: group }))).ms);
    if (i < 5) jsonMs.push((await time(async () => JSON.stringify(r.out).length)).ms);
  }
  if (last.machines.length !== MACHINES) throw new Error(`${engine}: ${last.machines.length} machines on the pick list, expected ${MACHINES}`);
  // The page is the whole list's first 50 machines, with the whole list's totals.
  if (firstPage.page.machines !== MACHINES || firstPage.toLoad !== last.toLoad || JSON.stringify(firstPage.machines) !== JSON.stringify(last.machines.slice(0, 50))) {
    throw new Error(`${engine}: the first page is not the whole pick list's first 50 machines`);
  }
  const what = `${MACHINES.toLocaleString("en")} machines, ${seeded.out.slots.toLocaleString("en")} slots, ${seeded.out.sales.toLocaleString("en")} sales over ${DAYS} days (7-day window), ${SALES_BETWEEN} new sales through the ingest before each page`;
  const bareP99 = percentile(bareMs, 99);
  console.info(`[picklist ${engine}] seeded ${what} in ${round(seeded.ms / 1000, 1)} s; ${last.toLoad.toLocaleString("en")} units to load, ${last.totals.length} products`);
  return [
    row(`picklist-10k-${engine}-p99-ms`, `PicklistStore.computePage({limit: 50}) on ${engine} (GET /api/picklist?limit=50, the console's page): ${what}; every machine ordered by need + van totals of all + the lines of the first 50`, pageMs, {
      baseline: round(bareP99, 1),
      ratio: round(percentile(pageMs, 99) / bareP99, 2),
      goal: { op: "<=", value: GOAL_P99_MS },
    }),
    row(`picklist ${engine}: the day's first page (every machine's summary computed again)`, `PicklistStore.computePage({limit: 50}) with every summary stale (as after the kept sum's roll, once a UTC day)`, coldMs),
    row(`picklist ${engine}: every line of the 10k fleet`, `PicklistStore.compute(): the ${seeded.out.slots.toLocaleString("en")} lines of every machine (the CSV export, issuing the whole fleet's list)`, listMs, {
      baseline: round(bareP99, 1),
      ratio: round(percentile(listMs, 99) / bareP99, 2),
    }),
    row(`picklist ${engine}: bare read of every slot row (baseline)`, "SELECT machine_id, slot, stock, capacity FROM slots, interleaved", bareMs),
    row(`picklist ${engine}: a route of 20 machines (machines=) in the 10k fleet`, "PicklistStore.compute({machineIds}) for 20 machines", groupMs),
    row(`picklist ${engine}: JSON of the 10k answer`, `JSON.stringify of the whole pick list (${round(JSON.stringify(last).length / 1e6, 1)} MB), what the API adds for all machines at once`, jsonMs),
  ];
}

/** `ZAPVEND_BENCH_PICKLIST_ENGINES=postgres` (or `sqlite`) runs one engine only. */
const ENGINES = (process.env.ZAPVEND_BENCH_PICKLIST_ENGINES ?? "sqlite,postgres").split(",");

export default async function picklist() {
  const rows = [];
  if (ENGINES.includes("sqlite")) {
    const dir = mkdtempSync(path.join(tmpdir(), "zapvend-bench-picklist-"));
    try {
      rows.push(...(await runEngine("sqlite", new SqliteDb(path.join(dir, "fleet.db")))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!ENGINES.includes("postgres")) return rows;
  const pgUrl = process.env.TEST_PG_URL ?? process.env.DATABASE_URL;
  if (!pgUrl) {
    rows.push({ name: "picklist-10k-postgres-p99-ms", label: "skipped: set TEST_PG_URL (or DATABASE_URL) to a PostgreSQL server", value: null, unit: "ms" });
    return rows;
  }
  rows.push(...(await runEngine("postgres", new PostgresDb(pgUrl, `zapvend_bench_picklist_${process.pid}`))));
  return rows;
}
