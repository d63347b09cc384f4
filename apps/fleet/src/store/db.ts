// One small SQL surface over two engines, so the fleet's repository is written once and its contract suite runs
// over both: SQLite (better-sqlite3, WAL) by default, PostgreSQL (`pg`) for a large fleet. Statements use `?`
// placeholders; the PostgreSQL adapter numbers them (`$1`, `$2`, ...). Integers come back as whatever the driver
// gives (number, bigint or string for int8); the repository normalises them with `num()` and `big()`.
import Database from "better-sqlite3";
import pg from "pg";

export type SqlValue = string | number | bigint | null;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface SqlDb extends SqlExecutor {
  readonly dialect: "sqlite" | "postgres";
  /** Runs `fn` in one transaction; writes are serialised so two transactions never interleave. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** A FIFO lock: SQLite has one connection, so an async transaction must not let another one in between its awaits. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export class SqliteDb implements SqlDb {
  readonly dialect = "sqlite" as const;
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();
  private readonly lock = new Mutex();

  /** Opens the file (created when missing). WAL so the HTTP readers never block the ingest writer. */
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode: never corrupts the file; a power cut can lose the last committed batches (the OS had not
    // flushed them yet). Traded for ingest throughput: FULL syncs every batch.
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("busy_timeout = 5000");
  }

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (s.reader) s.safeIntegers(true);
      this.cache.set(sql, s);
    }
    return s;
  }

  private readonly exec1: SqlExecutor = {
    all: async (sql, params = []) => this.stmt(sql).all(...params) as Row[],
    run: async (sql, params = []) => {
      const s = this.stmt(sql);
      if (s.reader) return { changes: (s.all(...params) as Row[]).length };
      return { changes: s.run(...params).changes };
    },
  };

  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.exec1.all(sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.lock.run(() => this.exec1.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const out = await fn(this.exec1);
        this.db.exec("COMMIT");
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  async exec(sql: string): Promise<void> {
    await this.lock.run(async () => void this.db.exec(sql));
  }

  async close(): Promise<void> {
    await this.lock.run(async () => {
      this.cache.clear();
      if (this.db.open) this.db.close();
    });
  }
}

/** `?` -> `$1, $2, ...` (statements here never contain a literal `?`). */
function numberPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function pgParams(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (typeof p === "bigint" ? p.toString() : p));
}

export class PostgresDb implements SqlDb {
  readonly dialect = "postgres" as const;
  private readonly pool: pg.Pool;
  private readonly texts = new Map<string, string>();
  private readonly lock = new Mutex();

  /**
   * @param url `postgres://user@host:port/db`
   * @param schema the schema every statement runs in (created by `migrate`); tests use a unique one per run.
   */
  constructor(url: string, readonly schema = "public") {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new RangeError(`not a safe schema name: ${schema}`);
    this.pool = new pg.Pool({ connectionString: url, max: 4, options: `-c search_path=${schema}` });
    // An idle client that errors (the server restarted) must not crash the process; the next query reconnects.
    this.pool.on("error", () => {});
  }

  private text(sql: string): string {
    let t = this.texts.get(sql);
    if (t === undefined) {
      t = numberPlaceholders(sql);
      this.texts.set(sql, t);
    }
    return t;
  }

  private executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
    return {
      all: async (sql, params = []) => (await client.query(this.text(sql), pgParams(params))).rows as Row[],
      run: async (sql, params = []) => ({ changes: (await client.query(this.text(sql), pgParams(params))).rowCount ?? 0 }),
    };
  }

  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.executor(this.pool).all(sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.executor(this.pool).run(sql, params);
  }

  /**
   * A read with planner settings of its own (`SET LOCAL` in a read-only transaction on a connection of the pool, so
   * nothing else sees them), outside the write lock since it writes nothing. For a query whose plan the statistics
   * get wrong: e.g. the pick list's pass over every slot, where PostgreSQL 15 picks 150,000 index lookups (a nested
   * loop, measured 920 ms) over one merge of two primary-key scans (370 ms).
   */
  async readWith(settings: Readonly<Record<string, "on" | "off">>, sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN READ ONLY");
      for (const [name, value] of Object.entries(settings)) {
        if (!/^[a-z_]{1,63}$/.test(name)) throw new RangeError(`not a planner setting: ${name}`);
        await client.query(`SET LOCAL ${name} = ${value === "on" ? "on" : "off"}`);
      }
      const rows = await this.executor(client).all(sql, params);
      await client.query("COMMIT");
      return rows;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Serialised within one fleet server like SQLite's, so its batches apply in arrival order. Several fleet servers
   * (a shared subscription) write concurrently; every write is an idempotent upsert or an atomic
   * `x = x + 1` update, so they stay correct without explicit row locks.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      const client = await this.pool.connect();
      try {
        await client.query("BEGIN");
        const out = await fn(this.executor(client));
        await client.query("COMMIT");
        return out;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    });
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    await this.pool.query(sql);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && v !== "") return Number(v);
  throw new TypeError(`not a number from the database: ${String(v)}`);
}
export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}
export function big(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "string" && v !== "") return BigInt(v.includes(".") ? v.slice(0, v.indexOf(".")) : v);
  if (v === null || v === undefined) return 0n;
  throw new TypeError(`not an integer from the database: ${String(v)}`);
}
export function str(v: unknown): string {
  return typeof v === "string" ? v : String(v);
}
export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : str(v);
}
