// The bridge's tables live in the database the controller journals to, so an event can be written in the same
// transaction as the order transition that caused it. Their names all start with `bridge_`.
import { randomInt } from "node:crypto";
import type Database from "better-sqlite3";

/** The installation id's range, [1, 2^48): `crypto.randomInt` draws at most 48 bits. */
const INSTALL_MIN = 1;
const INSTALL_END = 2 ** 48;

/** A migration: SQL text, or a step that needs code (a random value). Each runs once, in the migration transaction. */
type Migration = string | ((db: Database.Database) => void);

const MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE bridge_outbox (
     -- AUTOINCREMENT: a sequence number is never reused, even after the rows below it were sent and deleted,
     -- so the fleet's gap detection sees every event exactly once.
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     type TEXT NOT NULL,
     ts INTEGER NOT NULL,
     boot INTEGER NOT NULL,
     body TEXT NOT NULL
   );
   CREATE TABLE bridge_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
   CREATE TABLE bridge_command_counters (key_id TEXT PRIMARY KEY, ctr INTEGER NOT NULL, updated_at INTEGER NOT NULL);`,
  // End-to-end acknowledgements: with a fleet that acks (fleet/state `acks: true`) an event is kept after the broker's
  // PUBACK, with the time of that PUBACK, until the fleet says it committed it (m/<id>/event-ack). NULL: not sent yet.
  `ALTER TABLE bridge_outbox ADD COLUMN sent_at INTEGER;`,
  // The installation id: drawn once when this database gets its bridge tables (a new SD card, a reflashed Pi, or
  // this upgrade of an existing database), never changed after. The boot counter and the outbox seqs restart with a
  // new database; the id tells the fleet that a boot 1 after boot 57 is a reinstalled machine, not a stale message,
  // and lets the machine ignore acks counted over an older installation's seqs.
  (db) => {
    db.prepare("INSERT INTO bridge_meta (key, value) VALUES ('install', ?) ON CONFLICT(key) DO NOTHING").run(randomInt(INSTALL_MIN, INSTALL_END));
  },
];

/** Creates or upgrades the bridge's tables. Idempotent; safe inside or outside the caller's transaction. */
export function migrateBridgeDb(db: Database.Database): void {
  db.exec("CREATE TABLE IF NOT EXISTS bridge_schema (version INTEGER NOT NULL)");
  const row = db.prepare("SELECT version FROM bridge_schema").get() as { version: number } | undefined;
  const current = row?.version ?? 0;
  if (current === MIGRATIONS.length) return;
  if (current > MIGRATIONS.length) throw new Error(`bridge tables are at version ${current}, newer than this software (${MIGRATIONS.length})`);
  db.transaction(() => {
    for (let v = current; v < MIGRATIONS.length; v++) {
      const m = MIGRATIONS[v]!;
      if (typeof m === "string") db.exec(m);
      else m(db);
    }
    if (!row) db.prepare("INSERT INTO bridge_schema (version) VALUES (?)").run(MIGRATIONS.length);
    else db.prepare("UPDATE bridge_schema SET version = ?").run(MIGRATIONS.length);
  })();
}

export function readMeta(db: Database.Database, key: string): number | undefined {
  const row = db.prepare("SELECT value FROM bridge_meta WHERE key = ?").get(key) as { value: number } | undefined;
  return row?.value;
}

export function writeMeta(db: Database.Database, key: string, value: number): void {
  db.prepare("INSERT INTO bridge_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
}

/** The installation id of this database (created by `migrateBridgeDb`). */
export function readInstall(db: Database.Database): number {
  const install = readMeta(db, "install");
  if (install === undefined) throw new Error("bridge tables have no installation id: migrateBridgeDb was not run");
  return install;
}

/** Increments and returns the persisted boot counter: once per process start of the bridge. */
export function nextBoot(db: Database.Database): number {
  return db.transaction(() => {
    const boot = (readMeta(db, "boot") ?? 0) + 1;
    writeMeta(db, "boot", boot);
    return boot;
  })();
}
