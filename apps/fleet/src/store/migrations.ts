// Schema migrations, numbered and applied once each in a transaction; the same text serves both engines with
// the few types that differ substituted (`{BIG}` a 64-bit integer, `{REAL}` a double).
import { MACHINE_SUMMARY_SQL, MACHINE_SUMMARY_TRIGGERS } from "../picklist/machine-summary.js";
import { SLOT_SALES_SQL, SLOT_SALES_TRIGGERS } from "../picklist/sales-ring.js";
import type { SqlDb } from "./db.js";

const MIGRATIONS: ReadonlyArray<{
  version: number;
  name: string;
  sql: string;
  /** Statements that differ by engine and contain `;` themselves (trigger bodies), run after `sql`. */
  extra?: Record<SqlDb["dialect"], string[]>;
}> = [
  {
    version: 1,
    name: "fleet store",
    sql: `
CREATE TABLE meta (key TEXT PRIMARY KEY, value {BIG} NOT NULL);
CREATE TABLE machines (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL DEFAULT 'unknown',
  status_boot {BIG}, status_seq {BIG}, status_changed_at {BIG},
  birth_boot {BIG},
  first_seen {BIG} NOT NULL, last_seen {BIG} NOT NULL,
  model TEXT, software_version TEXT, capabilities TEXT,
  temperature_c {REAL}, door TEXT, payments TEXT, hardware TEXT, uptime_ms {BIG}, rss_mb {REAL}, telemetry_at {BIG},
  last_sample_at {BIG},
  event_min_seq {BIG}, event_max_seq {BIG}, event_count {BIG} NOT NULL DEFAULT 0,
  vend_failures_in_a_row {BIG} NOT NULL DEFAULT 0,
  last_sale_at {BIG},
  desired_version {BIG} NOT NULL DEFAULT 0, desired_json TEXT, desired_at {BIG},
  reported_version {BIG}, reported_status TEXT, reported_error TEXT, reported_json TEXT, mode TEXT
);
CREATE TABLE slots (
  machine_id TEXT NOT NULL, slot TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
  capacity {BIG} NOT NULL, stock {BIG} NOT NULL, price_json TEXT NOT NULL, enabled {BIG} NOT NULL,
  PRIMARY KEY (machine_id, slot)
);
CREATE TABLE events (
  machine_id TEXT NOT NULL, event_id TEXT NOT NULL, seq {BIG} NOT NULL, boot {BIG} NOT NULL, type TEXT NOT NULL,
  ts {BIG} NOT NULL, received_at {BIG} NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (machine_id, event_id)
);
CREATE INDEX events_machine_seq ON events (machine_id, seq);
CREATE TABLE ledger (
  machine_id TEXT NOT NULL, event_id TEXT NOT NULL, seq {BIG} NOT NULL, kind TEXT NOT NULL,
  order_id TEXT NOT NULL, slot TEXT NOT NULL, product_name TEXT, amount_msat {BIG} NOT NULL,
  fiat_currency TEXT, fiat_minor {BIG}, payment_hash TEXT NOT NULL, hold {BIG}, evidence TEXT,
  state TEXT NOT NULL, at {BIG} NOT NULL, reason TEXT,
  PRIMARY KEY (machine_id, event_id)
);
CREATE INDEX ledger_kind_at ON ledger (kind, at);
CREATE INDEX ledger_machine_kind_at ON ledger (machine_id, kind, at);
CREATE TABLE faults (
  machine_id TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, severity TEXT NOT NULL, since {BIG} NOT NULL,
  PRIMARY KEY (machine_id, code)
);
CREATE TABLE telemetry (
  machine_id TEXT NOT NULL, ts {BIG} NOT NULL, temperature_c {REAL}, door TEXT NOT NULL, payments TEXT NOT NULL,
  hardware TEXT NOT NULL, rss_mb {REAL} NOT NULL
);
CREATE INDEX telemetry_machine_ts ON telemetry (machine_id, ts);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY, machine_id TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, severity TEXT NOT NULL,
  message TEXT NOT NULL, raised_at {BIG} NOT NULL, cleared_at {BIG}, acknowledged_at {BIG}
);
CREATE UNIQUE INDEX alerts_open ON alerts (machine_id, kind, subject) WHERE cleared_at IS NULL;
CREATE INDEX alerts_raised ON alerts (raised_at);
CREATE TABLE commands (
  rid TEXT PRIMARY KEY, machine_id TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL, ctr {BIG} NOT NULL,
  sent_at {BIG} NOT NULL, expires_at {BIG} NOT NULL, status TEXT NOT NULL, data TEXT, error TEXT, completed_at {BIG}
);
CREATE INDEX commands_machine ON commands (machine_id, sent_at);
`,
  },
  {
    version: 2,
    name: "telemetry retention",
    // The pruning deletes by age across every machine: without an index of its own each batch would scan the table.
    sql: `CREATE INDEX telemetry_ts ON telemetry (ts);`,
  },
  {
    version: 3,
    name: "installation ids",
    // A machine's boot counter and event seqs restart at 1 when its database is replaced (a new SD card, a reflashed
    // Pi); its installation id (protocol's `install`) says which database they count in. `machines.install` is the
    // current one (NULL: the machine never sent one), `events.install` the one each event carried (NULL: none).
    sql: `ALTER TABLE machines ADD COLUMN install {BIG}; ALTER TABLE events ADD COLUMN install {BIG};`,
  },
  {
    version: 4,
    name: "accounts, sessions, tokens, audit",
    // Issue #15. Passwords, session ids and token secrets are stored only as hashes. The audit is append-only: a
    // trigger refuses UPDATE and DELETE on both engines, so a bug (or an SQL injection) cannot rewrite history.
    sql: `
CREATE TABLE users (
  name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, totp_secret TEXT, totp_pending TEXT,
  created_at {BIG} NOT NULL, last_login_at {BIG}
);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE,
  created_at {BIG} NOT NULL, created_by TEXT NOT NULL, last_used_at {BIG}, revoked_at {BIG}
);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, csrf_token TEXT NOT NULL, created_at {BIG} NOT NULL,
  last_seen {BIG} NOT NULL, expires_at {BIG} NOT NULL, address TEXT
);
CREATE INDEX sessions_user ON sessions (user_name);
CREATE TABLE audit (
  seq {SERIAL}, id TEXT NOT NULL UNIQUE, at {BIG} NOT NULL, actor TEXT NOT NULL, address TEXT, action TEXT NOT NULL,
  target TEXT, ok {BIG} NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_action_at ON audit (action, at);
`,
    extra: {
      sqlite: [
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END",
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END",
      ],
      postgres: [
        "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit is append-only'; END $$",
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
      ],
    },
  },
  {
    version: 5,
    name: "notification deliveries",
    // Issue #18: every attempt to deliver an alert message (webhook, e-mail, ntfy), failed ones included, so the
    // operator can see why a technician was not told. `dedupe_key` is `<alert id>:raised|resolved` (or
    // `digest:<id>`): a successful row for it means the message went out and is not sent again.
    sql: `
CREATE TABLE notification_deliveries (
  seq {SERIAL}, id TEXT NOT NULL UNIQUE, message_id TEXT NOT NULL, dedupe_key TEXT NOT NULL, event TEXT NOT NULL,
  alert_ids TEXT NOT NULL, channel TEXT NOT NULL, channel_type TEXT NOT NULL, attempt {BIG} NOT NULL, at {BIG} NOT NULL,
  ok {BIG} NOT NULL, status TEXT, error TEXT, duration_ms {BIG} NOT NULL
);
CREATE INDEX notification_deliveries_at ON notification_deliveries (at);
CREATE INDEX notification_deliveries_dedupe ON notification_deliveries (dedupe_key, channel, ok);
`,
  },
  {
    version: 6,
    name: "pick list: par levels, issued pick lists",
    // Issue #18. `slot_pars`: the level an operator wants a slot filled to (none: its capacity). An issued pick list
    // is saved with its lines (`picklist_lines`, the stock, par and units to load at issue time) so that the
    // technician's restocks after it are matched against what it said. The partial indexes serve the pick list's two
    // hot reads without slowing the ingest of other rows: a slot's sales over the last days (covering: one index
    // seek per slot, whatever the length of the sales history), and a machine's restock events since a pick list was
    // issued.
    sql: `
CREATE TABLE slot_pars (
  machine_id TEXT NOT NULL, slot TEXT NOT NULL, par {BIG} NOT NULL, updated_at {BIG} NOT NULL, updated_by TEXT NOT NULL,
  PRIMARY KEY (machine_id, slot)
);
CREATE TABLE picklists (
  id TEXT PRIMARY KEY, issued_at {BIG} NOT NULL, issued_by TEXT NOT NULL, window_days {BIG} NOT NULL
);
CREATE INDEX picklists_issued_at ON picklists (issued_at);
CREATE TABLE picklist_lines (
  picklist_id TEXT NOT NULL, position {BIG} NOT NULL, machine_id TEXT NOT NULL, status TEXT NOT NULL, slot TEXT NOT NULL,
  name TEXT NOT NULL, kind TEXT NOT NULL, capacity {BIG} NOT NULL, par {BIG} NOT NULL, par_set {BIG} NOT NULL,
  stock {BIG} NOT NULL, to_load {BIG} NOT NULL, days_left {REAL},
  PRIMARY KEY (picklist_id, machine_id, slot)
);
CREATE INDEX picklist_lines_machine ON picklist_lines (machine_id, picklist_id);
CREATE INDEX ledger_sales_slot_at ON ledger (machine_id, slot, at) WHERE kind = 'sale';
CREATE INDEX events_restock ON events (machine_id, ts) WHERE type = 'restock';
`,
  },
  {
    version: 7,
    name: "catalog",
    // Issue #18: the fleet's products (names per language, icon, picture, price), their pictures (WebP/AVIF of at
    // most 40 KB, by sha256, base64 in the database so every fleet server sharing it serves them and one backup
    // holds them) and which machine slot (or MDB selection "S<n>") shows which product, with an optional price of
    // its own. The desired state sent to a machine is computed from these rows (apps/fleet/src/catalog).
    sql: `
CREATE TABLE catalog_pictures (
  sha256 TEXT PRIMARY KEY, type TEXT NOT NULL, bytes {BIG} NOT NULL, width {BIG} NOT NULL, height {BIG} NOT NULL,
  data_base64 TEXT NOT NULL, source_bytes {BIG} NOT NULL, created_at {BIG} NOT NULL
);
CREATE TABLE catalog_products (
  id TEXT PRIMARY KEY, names_json TEXT NOT NULL, icon TEXT, picture_sha256 TEXT, price_json TEXT NOT NULL,
  created_at {BIG} NOT NULL, updated_at {BIG} NOT NULL
);
CREATE TABLE catalog_assignments (
  machine_id TEXT NOT NULL, slot TEXT NOT NULL, product_id TEXT NOT NULL, price_json TEXT, updated_at {BIG} NOT NULL,
  PRIMARY KEY (machine_id, slot)
);
CREATE INDEX catalog_assignments_product ON catalog_assignments (product_id);
`,
  },
  {
    version: 8,
    name: "notification settings and digest claims",
    // Issue #18. `notification_settings`: the channels, groups, routes, quiet hours and digest as edited in the
    // console (one row, id 'current', a JSON document of protocol's FleetNotifications with a version for
    // optimistic concurrency); once saved it replaces the config file's `notifications`. `notification_claims`:
    // several fleet servers each hold a waiting digest in memory; the server that sends an alert in a digest claims
    // (alert event, channel) first, so two servers never both send it.
    sql: `
CREATE TABLE notification_settings (
  id TEXT PRIMARY KEY, version {BIG} NOT NULL, doc TEXT NOT NULL, updated_at {BIG} NOT NULL, updated_by TEXT NOT NULL
);
CREATE TABLE notification_claims (
  item TEXT NOT NULL, channel TEXT NOT NULL, server TEXT NOT NULL, claimed_at {BIG} NOT NULL, PRIMARY KEY (item, channel)
);
`,
  },
  {
    version: 9,
    name: "login failures per account",
    // Issue #15: the per-account lockout counts in the shared store, so several fleet servers behind a load balancer
    // give an attacker one budget per account, not one per server (the per-address limit stays in each server's
    // memory). `account` is the lower-cased name tried (known or not: the lockout must not tell which exist);
    // `failures` counts in the window that began at `window_start`; `locked_until` is 0 when not locked.
    sql: `
CREATE TABLE login_failures (
  account TEXT PRIMARY KEY, failures {BIG} NOT NULL, window_start {BIG} NOT NULL, locked_until {BIG} NOT NULL
);
`,
  },
  {
    version: 10,
    name: "sales aggregates for the overview",
    // Issue #18: the overview's totals for today, yesterday and 7 days of a 10,000-machine fleet must not sum a
    // million ledger rows per request. A trigger keeps fleet-wide sums per UTC hour (epoch / 3,600 s), product and
    // currency, in the ledger insert's own transaction, so the sums are exactly the ledger (a redelivered sale
    // inserts no ledger row, so it fires nothing). Existing sales are summed in. `currency` '' holds sales without
    // fiat. A zone whose midnight is not on a whole UTC hour (India, Nepal) reads its partial first and last hour
    // from the ledger (store/overview-store.ts). "Each machine's sales today" is kept the same way in
    // `machine_today` for the local day in `overview_day` (one row, set by the overview when the operator's day
    // changes, which recomputes `machine_today` from the ledger in the same transaction): a sale of another day is
    // not counted there.
    sql: `
CREATE TABLE sales_hours (
  hour {BIG} NOT NULL, product TEXT NOT NULL, currency TEXT NOT NULL, n {BIG} NOT NULL, msat {BIG} NOT NULL, fiat_minor {BIG} NOT NULL,
  PRIMARY KEY (hour, product, currency)
);
INSERT INTO sales_hours (hour, product, currency, n, msat, fiat_minor)
  SELECT at / 3600000, COALESCE(product_name, slot), COALESCE(fiat_currency, ''), COUNT(*), SUM(amount_msat), SUM(COALESCE(fiat_minor, 0))
  FROM ledger WHERE kind = 'sale' GROUP BY at / 3600000, COALESCE(product_name, slot), COALESCE(fiat_currency, '');
CREATE INDEX ledger_sale_at_machine ON ledger (kind, at, machine_id, amount_msat);
CREATE TABLE overview_day (id {BIG} PRIMARY KEY, day_from {BIG} NOT NULL, day_to {BIG} NOT NULL);
CREATE TABLE machine_today (machine_id TEXT PRIMARY KEY, day_from {BIG} NOT NULL, n {BIG} NOT NULL, msat {BIG} NOT NULL);
`,
    extra: {
      sqlite: [
        `CREATE TRIGGER ledger_sales_hours AFTER INSERT ON ledger WHEN NEW.kind = 'sale' BEGIN
           INSERT INTO sales_hours (hour, product, currency, n, msat, fiat_minor)
           VALUES (NEW.at / 3600000, COALESCE(NEW.product_name, NEW.slot), COALESCE(NEW.fiat_currency, ''), 1, NEW.amount_msat, COALESCE(NEW.fiat_minor, 0))
           ON CONFLICT (hour, product, currency) DO UPDATE SET n = n + 1, msat = msat + excluded.msat, fiat_minor = fiat_minor + excluded.fiat_minor;
         END`,
        `CREATE TRIGGER ledger_machine_today AFTER INSERT ON ledger WHEN NEW.kind = 'sale' BEGIN
           INSERT INTO machine_today (machine_id, day_from, n, msat)
             SELECT NEW.machine_id, day_from, 1, NEW.amount_msat FROM overview_day WHERE id = 1 AND NEW.at >= day_from AND NEW.at < day_to
           ON CONFLICT (machine_id) DO UPDATE SET
             n = CASE WHEN machine_today.day_from = excluded.day_from THEN machine_today.n + 1 ELSE 1 END,
             msat = CASE WHEN machine_today.day_from = excluded.day_from THEN machine_today.msat + excluded.msat ELSE excluded.msat END,
             day_from = excluded.day_from;
         END`,
      ],
      postgres: [
        `CREATE FUNCTION ledger_sales_hours() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           INSERT INTO sales_hours AS h (hour, product, currency, n, msat, fiat_minor)
           VALUES (NEW.at / 3600000, COALESCE(NEW.product_name, NEW.slot), COALESCE(NEW.fiat_currency, ''), 1, NEW.amount_msat, COALESCE(NEW.fiat_minor, 0))
           ON CONFLICT (hour, product, currency) DO UPDATE SET n = h.n + 1, msat = h.msat + excluded.msat, fiat_minor = h.fiat_minor + excluded.fiat_minor;
           RETURN NULL;
         END $$`,
        "CREATE TRIGGER ledger_sales_hours AFTER INSERT ON ledger FOR EACH ROW WHEN (NEW.kind = 'sale') EXECUTE FUNCTION ledger_sales_hours()",
        `CREATE FUNCTION ledger_machine_today() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           INSERT INTO machine_today AS t (machine_id, day_from, n, msat)
             SELECT NEW.machine_id, d.day_from, 1, NEW.amount_msat FROM overview_day d WHERE d.id = 1 AND NEW.at >= d.day_from AND NEW.at < d.day_to
           ON CONFLICT (machine_id) DO UPDATE SET
             n = CASE WHEN t.day_from = excluded.day_from THEN t.n + 1 ELSE 1 END,
             msat = CASE WHEN t.day_from = excluded.day_from THEN t.msat + excluded.msat ELSE excluded.msat END,
             day_from = excluded.day_from;
           RETURN NULL;
         END $$`,
        "CREATE TRIGGER ledger_machine_today AFTER INSERT ON ledger FOR EACH ROW WHEN (NEW.kind = 'sale') EXECUTE FUNCTION ledger_machine_today()",
      ],
    },
  },
  {
    version: 12,
    name: "each slot's sales per day for the pick list",
    // Issue #18: the pick list's rate per slot for 10,000 machines read with the slots in one pass, not counted
    // from the ledger's sales slot by slot. The ring of day buckets, its back-fill and its trigger:
    // picklist/sales-ring.ts.
    sql: SLOT_SALES_SQL,
    extra: SLOT_SALES_TRIGGERS,
  },
  {
    version: 13,
    name: "each machine's pick-list summary",
    // Issue #18: the console's page of the pick list of 10,000 machines reads one summary row a machine, computed
    // again only for the machines written since (picklist/machine-summary.ts), not a pass over their 150,000 slots.
    sql: MACHINE_SUMMARY_SQL,
    extra: MACHINE_SUMMARY_TRIGGERS,
  },
];

// The highest version, whatever the order branches appended theirs in (versions may have gaps: each is applied once).
export const LATEST_SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
/** Every version this build knows. */
export const SCHEMA_VERSIONS: readonly number[] = MIGRATIONS.map((m) => m.version);

/** Brings the database to the latest schema. Safe to run at every start and from several servers at once. */
export async function migrate(db: SqlDb, nowMs: number): Promise<number[]> {
  const types = db.dialect === "postgres" ? { BIG: "BIGINT", REAL: "DOUBLE PRECISION", SERIAL: "BIGSERIAL PRIMARY KEY" } : { BIG: "INTEGER", REAL: "REAL", SERIAL: "INTEGER PRIMARY KEY" };
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${types.BIG} NOT NULL)`);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    const done = await db.transaction(async (tx) => {
      // Inserting the version first makes a second server running the same migration wait on (PostgreSQL) or
      // conflict with the first, instead of applying it twice.
      const ins = await tx.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING", [m.version, m.name, nowMs]);
      if (ins.changes === 0) return false;
      for (const stmt of m.sql.replace(/\{BIG\}/g, types.BIG).replace(/\{REAL\}/g, types.REAL).replace(/\{SERIAL\}/g, types.SERIAL).split(";")) {
        if (stmt.trim()) await tx.run(stmt);
      }
      for (const stmt of m.extra?.[db.dialect] ?? []) await tx.run(stmt);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
