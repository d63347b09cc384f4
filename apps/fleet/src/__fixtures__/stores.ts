// The engines every store test runs over: SQLite always (a temp file, WAL), PostgreSQL when TEST_PG_URL or
// DATABASE_URL names a server. Each PostgreSQL store gets a schema of its own, dropped afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { PostgresDb, SqliteDb } from "../store/db.js";
import { missingService } from "./services.js";
import { FleetStore, type FleetStoreOptions } from "../store/fleet-store.js";

export const pgUrl = process.env.TEST_PG_URL ?? process.env.DATABASE_URL;
export const PG_SKIP_REASON = "PostgreSQL suite skipped: set TEST_PG_URL (or DATABASE_URL) to postgres://user@host:port/db to run it";

export interface Engine {
  name: "sqlite" | "postgres";
  skip: string | null;
  open(options?: FleetStoreOptions): Promise<{ store: FleetStore; cleanup: () => Promise<void> }>;
}

let counter = 0;

export const engines: Engine[] = [
  {
    name: "sqlite",
    skip: null,
    async open(options) {
      const dir = mkdtempSync(path.join(tmpdir(), "zapvend-fleet-"));
      const store = new FleetStore(new SqliteDb(path.join(dir, "fleet.db")), options);
      await store.start(Date.now());
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    skip: missingService("fleet store on postgres", pgUrl !== undefined, PG_SKIP_REASON),
    async open(options) {
      const schema = `zapvend_test_${process.pid}_${Date.now().toString(36)}_${++counter}`;
      const store = new FleetStore(new PostgresDb(pgUrl!, schema), options);
      await store.start(Date.now());
      return {
        store,
        cleanup: async () => {
          await store.close();
          const c = new pg.Client({ connectionString: pgUrl });
          await c.connect();
          try {
            await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          } finally {
            await c.end();
          }
        },
      };
    },
  },
];

