// The on-disk outbox of fleet events. `enqueue` is synchronous so the controller can call it inside its own
// `db.transaction(...)`: the event exists if and only if the order transition that caused it was committed.
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { EventBody, PAYLOAD_VERSION, parseValue, topics, type EventType } from "@zapvend/protocol";
import { systemClock, type Clock } from "./clock.js";
import { migrateBridgeDb, nextBoot, readInstall } from "./bridge-db.js";
import { BridgeError, BridgeErrorCode } from "./errors.js";

export interface OutboxOptions {
  /** Default: the system clock. */
  clock?: Clock;
}

/** A stored event, ready to publish. */
export interface OutboxRow {
  seq: number;
  id: string;
  type: EventType;
  ts: number;
  boot: number;
  body: string;
}

export class Outbox {
  private readonly clock: Clock;
  private opened = false;
  private bootValue = 0;
  private installValue = 0;
  private stmts:
    | {
        insert: Database.Statement;
        peek: Database.Statement;
        del: Database.Statement;
        count: Database.Statement;
        markSent: Database.Statement;
        delSentRange: Database.Statement;
        delSent: Database.Statement;
        delAllSent: Database.Statement;
        sentStats: Database.Statement;
        peekSent: Database.Statement;
      }
    | undefined;
  private readonly listeners = new Set<() => void>();
  private notifyQueued = false;

  /** No I/O here: the tables are created by `open()` (or the first `enqueue`). */
  constructor(
    private readonly db: Database.Database,
    options: OutboxOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Creates the tables when missing and increments the persisted boot counter (once per instance, i.e. per start
   * of the machine's process). Idempotent.
   */
  open(): void {
    if (this.opened) return;
    migrateBridgeDb(this.db);
    this.bootValue = nextBoot(this.db);
    this.installValue = readInstall(this.db);
    this.stmts = {
      insert: this.db.prepare("INSERT INTO bridge_outbox (id, type, ts, boot, body) VALUES (?, ?, ?, ?, ?)"),
      peek: this.db.prepare("SELECT seq, id, type, ts, boot, body FROM bridge_outbox WHERE seq > ? ORDER BY seq LIMIT ?"),
      del: this.db.prepare("DELETE FROM bridge_outbox WHERE seq = ?"),
      count: this.db.prepare("SELECT count(*) AS n FROM bridge_outbox"),
      markSent: this.db.prepare("UPDATE bridge_outbox SET sent_at = ? WHERE seq = ?"),
      delSentRange: this.db.prepare("DELETE FROM bridge_outbox WHERE seq BETWEEN ? AND ? AND sent_at IS NOT NULL"),
      delSent: this.db.prepare("DELETE FROM bridge_outbox WHERE seq = ? AND sent_at IS NOT NULL"),
      delAllSent: this.db.prepare("DELETE FROM bridge_outbox WHERE sent_at IS NOT NULL"),
      sentStats: this.db.prepare("SELECT count(*) AS n, min(sent_at) AS oldest FROM bridge_outbox WHERE sent_at IS NOT NULL"),
      peekSent: this.db.prepare(
        "SELECT seq, id, type, ts, boot, body FROM bridge_outbox WHERE seq > ? AND sent_at IS NOT NULL AND sent_at <= ? ORDER BY seq LIMIT ?",
      ),
    };
    this.opened = true;
  }

  /** The machine's boot counter for this process (opens the outbox if needed). */
  get boot(): number {
    this.open();
    return this.bootValue;
  }

  /**
   * The installation id of this database (opens the outbox if needed): random, drawn once when the bridge tables
   * were created. Boot and seq are ordered within one installation; a replaced database is a new installation.
   */
  get install(): number {
    this.open();
    return this.installValue;
  }

  /**
   * Stores one event. Synchronous; call it inside the transaction of the transition that caused the event. A body
   * that does not match protocol's `EventBody` throws a `BridgeError(INVALID_EVENT)`, which rolls that transaction
   * back: a sale the fleet would refuse is a bug to surface, not a record to lose later.
   */
  enqueue(body: EventBody): { seq: number; id: string } {
    this.open();
    const parsed = parseValue(EventBody, body);
    if (!parsed.ok) {
      throw new BridgeError(BridgeErrorCode.INVALID_EVENT, `event refused: ${parsed.error.message}`, { path: parsed.error.path, type: (body as { type?: unknown }).type });
    }
    const id = randomUUID();
    const info = this.stmts!.insert.run(id, parsed.value.type, this.clock.now(), this.bootValue, JSON.stringify(parsed.value));
    this.scheduleNotify();
    return { seq: Number(info.lastInsertRowid), id };
  }

  /** Up to `limit` stored events with a sequence number above `afterSeq`, oldest first. */
  peek(afterSeq: number, limit: number): OutboxRow[] {
    this.open();
    return this.stmts!.peek.all(afterSeq, limit) as OutboxRow[];
  }

  /** Up to `limit` sent, unconfirmed events above `afterSeq` whose PUBACK came at or before `sentAtOrBefore`, oldest first. */
  peekSent(afterSeq: number, sentAtOrBefore: number, limit: number): OutboxRow[] {
    this.open();
    return this.stmts!.peekSent.all(afterSeq, sentAtOrBefore, limit) as OutboxRow[];
  }

  /** Deletes events the broker acknowledged (a fleet without end-to-end acks), in one transaction (one fsync for the batch). */
  ack(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.open();
    const del = this.stmts!.del;
    this.db.transaction(() => {
      for (const s of seqs) del.run(s);
    })();
  }

  /**
   * Marks events the broker acknowledged (PUBACK) as sent, in one transaction: with a fleet that acknowledges events
   * end to end they stay until `confirm` removes them.
   */
  markSent(seqs: readonly number[], atMs: number): void {
    if (seqs.length === 0) return;
    this.open();
    const mark = this.stmts!.markSent;
    this.db.transaction(() => {
      for (const s of seqs) mark.run(atMs, s);
    })();
  }

  /**
   * Deletes the sent events the fleet acknowledged (`from <= seq <= upTo`, and each of `seqs`), in one transaction.
   * An event not yet marked sent stays: it is sent (again) and acknowledged again. Returns how many were deleted.
   */
  confirm(from: number, upTo: number, seqs: readonly number[] = []): number {
    this.open();
    const { delSentRange, delSent } = this.stmts!;
    return this.db.transaction(() => {
      let n = from <= upTo ? delSentRange.run(from, upTo).changes : 0;
      for (const s of seqs) if (s < from || s > upTo) n += delSent.run(s).changes;
      return n;
    })();
  }

  /** Deletes every sent event (the fleet turned out not to acknowledge events: the broker's PUBACK was the end). */
  dropSent(): number {
    this.open();
    return this.stmts!.delAllSent.run().changes;
  }

  /** Events sent to the broker that no fleet ack covers yet, and when the oldest of them was sent. */
  sentUnconfirmed(): { count: number; oldestSentAt: number | null } {
    this.open();
    const r = this.stmts!.sentStats.get() as { n: number; oldest: number | null };
    return { count: r.n, oldestSentAt: r.oldest };
  }

  /** How many events are stored: not yet sent, or (with a fleet that acknowledges) sent and not yet confirmed. */
  size(): number {
    this.open();
    return (this.stmts!.count.get() as { n: number }).n;
  }

  /** Whether the shared connection is inside a transaction (then stored rows may still be rolled back). */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /** Called (asynchronously, after the enqueuing transaction ended) when events were added. Returns the remover. */
  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private scheduleNotify(): void {
    if (this.notifyQueued || this.listeners.size === 0) return;
    this.notifyQueued = true;
    // A microtask runs after better-sqlite3's synchronous transaction has committed or rolled back, so a listener
    // never reads (and publishes) a row that is then rolled back.
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const l of this.listeners) l();
    });
  }
}

/**
 * The exact bytes published for a stored event: protocol's envelope, the installation id (`install`, when given:
 * the outbox's `install`) then the body.
 */
export function outboxPayload(row: OutboxRow, install?: number): string {
  // The body is stored as the JSON of a validated object, so splicing the envelope in front keeps valid JSON and
  // saves a parse + stringify per event on the flush path. Ids are [A-Za-z0-9_-] (protocol's Id), no escaping; the
  // installation id is an integer.
  const inst = install === undefined ? "" : `"install":${install},`;
  return `{"v":${PAYLOAD_VERSION},"id":"${row.id}","ts":${row.ts},"boot":${row.boot},"seq":${row.seq},${inst}${row.body.slice(1)}`;
}

export function outboxTopic(machineId: string, row: OutboxRow): string {
  return topics.event(machineId, row.type);
}
