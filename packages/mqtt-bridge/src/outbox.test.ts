// The outbox against real SQLite (a file, as on the machine): rows, sequence numbers, the boot counter, and the
// bytes it publishes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { parseMqttMessage } from "@zapvend/protocol";
import { BridgeError } from "./errors.js";
import { Outbox, outboxPayload, outboxTopic } from "./outbox.js";
import { saleBody } from "./__fixtures__/machine.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function fileDb(): { file: string; open: () => Database.Database } {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-outbox-"));
  dirs.push(dir);
  const file = path.join(dir, "machine.db");
  return { file, open: () => new Database(file) };
}
const clock = { now: () => 1_700_000_000_000, setTimeout: () => 0, clearTimeout: () => {} };

describe("Outbox", () => {
  it("the constructor touches nothing; open() creates the tables and counts boots across processes", () => {
    const { open } = fileDb();
    const db1 = open();
    const o1 = new Outbox(db1, { clock });
    expect(db1.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'bridge_%'").all()).toEqual([]);
    expect(o1.boot).toBe(1);
    expect(o1.boot).toBe(1); // once per instance
    db1.close();
    const db2 = open();
    expect(new Outbox(db2, { clock }).boot).toBe(2);
    expect(db2.prepare("SELECT value FROM bridge_meta WHERE key = 'boot'").get()).toEqual({ value: 2 });
    db2.close();
  });

  it("stores an event only when the caller's transaction commits; an invalid body rolls the caller back", () => {
    const { open } = fileDb();
    const db = open();
    db.exec("CREATE TABLE journal (order_id TEXT)");
    const outbox = new Outbox(db, { clock });
    const transition = db.transaction((orderId: string, body: Parameters<Outbox["enqueue"]>[0]) => {
      db.prepare("INSERT INTO journal VALUES (?)").run(orderId);
      outbox.enqueue(body);
    });
    transition("o1", saleBody(1));
    expect(() => transition("o2", { ...saleBody(2), amountMsat: 21000 } as never)).toThrow(BridgeError);
    let caught: unknown;
    try {
      transition("o3", { type: "door" } as never);
    } catch (err) {
      caught = err;
    }
    expect((caught as BridgeError | undefined)?.code).toBe("INVALID_EVENT");
    expect(db.prepare("SELECT order_id FROM journal").all()).toEqual([{ order_id: "o1" }]);
    expect(db.prepare("SELECT seq, type, ts, boot FROM bridge_outbox").all()).toEqual([{ seq: 1, type: "sale", ts: 1_700_000_000_000, boot: 1 }]);
    db.close();
  });

  it("sequence numbers grow and are never reused after acknowledged rows are deleted, across a restart", () => {
    const { open } = fileDb();
    let db = open();
    let outbox = new Outbox(db, { clock });
    const a = outbox.enqueue(saleBody(1));
    const b = outbox.enqueue(saleBody(2));
    outbox.ack([a.seq, b.seq]);
    expect(outbox.size()).toBe(0);
    db.close();
    db = open();
    outbox = new Outbox(db, { clock });
    const c = outbox.enqueue(saleBody(3));
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
    expect(outbox.peek(0, 10).map((r) => r.seq)).toEqual([3]);
    db.close();
  });

  it("end-to-end acks: sent rows stay until a fleet ack covers them; unsent rows never go; an older database is upgraded with its rows", () => {
    const { open } = fileDb();
    let db = open();
    // A machine database of the first schema (before acks), with two events waiting.
    db.exec(`CREATE TABLE bridge_schema (version INTEGER NOT NULL); INSERT INTO bridge_schema VALUES (1);
      CREATE TABLE bridge_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, ts INTEGER NOT NULL, boot INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE TABLE bridge_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE bridge_command_counters (key_id TEXT PRIMARY KEY, ctr INTEGER NOT NULL, updated_at INTEGER NOT NULL);`);
    db.prepare("INSERT INTO bridge_outbox (id, type, ts, boot, body) VALUES (?, 'sale', 1, 1, ?)").run("old-1", JSON.stringify(saleBody(1)));
    db.prepare("INSERT INTO bridge_outbox (id, type, ts, boot, body) VALUES (?, 'sale', 1, 1, ?)").run("old-2", JSON.stringify(saleBody(2)));
    let outbox = new Outbox(db, { clock });
    for (let n = 3; n <= 8; n++) outbox.enqueue(saleBody(n));
    expect(db.prepare("SELECT version FROM bridge_schema").get()).toEqual({ version: 3 });
    expect(outbox.peek(0, 100).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(outbox.sentUnconfirmed()).toEqual({ count: 0, oldestSentAt: null });

    outbox.markSent([1, 2, 3, 5, 6], 1_000);
    outbox.markSent([7], 2_000);
    expect(outbox.sentUnconfirmed()).toEqual({ count: 6, oldestSentAt: 1_000 });
    // The fleet holds 2..3 contiguously and 6 beyond a gap: 1 (below its run), 4 (unsent) and 5, 7 stay.
    expect(outbox.confirm(2, 3, [6])).toBe(3);
    expect(outbox.peek(0, 100).map((r) => r.seq)).toEqual([1, 4, 5, 7, 8]);
    // An ack covering an unsent row (4, 8) leaves it: it is sent and acknowledged again.
    expect(outbox.confirm(1, 8)).toBe(3);
    expect(outbox.peek(0, 100).map((r) => r.seq)).toEqual([4, 8]);
    db.close();

    // Across a restart the sent mark stays; an older fleet taking over drops what was sent.
    db = open();
    outbox = new Outbox(db, { clock });
    outbox.markSent([4], 3_000);
    expect(outbox.sentUnconfirmed()).toEqual({ count: 1, oldestSentAt: 3_000 });
    expect(outbox.dropSent()).toBe(1);
    expect(outbox.peek(0, 100).map((r) => r.seq)).toEqual([8]);
    expect(outbox.enqueue(saleBody(9)).seq).toBe(9);
    db.close();
  });

  it("draws the installation id once, keeps it across reopening and restarts, and gives an upgraded database one", () => {
    const { open } = fileDb();
    let db = open();
    const install = new Outbox(db, { clock }).install;
    expect(Number.isInteger(install)).toBe(true);
    expect(install).toBeGreaterThanOrEqual(1);
    expect(install).toBeLessThan(2 ** 48);
    expect(db.prepare("SELECT value FROM bridge_meta WHERE key = 'install'").get()).toEqual({ value: install });
    db.close();
    for (let i = 0; i < 3; i++) {
      db = open();
      const o = new Outbox(db, { clock });
      expect(o.install).toBe(install);
      expect(o.boot).toBe(i + 2); // the boot counter still counts starts of the same installation
      db.close();
    }
    // A replaced database (a new SD card) is another installation. Two draws of 48 bits colliding: 1 in 2^48.
    const other = fileDb().open();
    expect(new Outbox(other, { clock }).install).not.toBe(install);
    other.close();

    // A database of the schema before installation ids (version 2) gets one, once, by the migration.
    const old = fileDb().open();
    old.exec(`CREATE TABLE bridge_schema (version INTEGER NOT NULL); INSERT INTO bridge_schema VALUES (2);
      CREATE TABLE bridge_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, ts INTEGER NOT NULL, boot INTEGER NOT NULL, body TEXT NOT NULL, sent_at INTEGER);
      CREATE TABLE bridge_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL); INSERT INTO bridge_meta VALUES ('boot', 57);
      CREATE TABLE bridge_command_counters (key_id TEXT PRIMARY KEY, ctr INTEGER NOT NULL, updated_at INTEGER NOT NULL);`);
    const upgraded = new Outbox(old, { clock });
    expect(upgraded.boot).toBe(58);
    expect(upgraded.install).toBeGreaterThanOrEqual(1);
    expect(old.prepare("SELECT count(*) AS n FROM bridge_meta WHERE key = 'install'").get()).toEqual({ n: 1 });
    old.close();
  });

  it("publishes bytes that protocol's parser accepts as the event, with the envelope of the stored row", () => {
    const { open } = fileDb();
    const db = open();
    const outbox = new Outbox(db, { clock });
    const { id, seq } = outbox.enqueue(saleBody(7));
    const row = outbox.peek(0, 1)[0]!;
    expect(outboxTopic("drinks-01", row)).toBe("zapvend/v1/m/drinks-01/event/sale");
    const parsed = parseMqttMessage(outboxTopic("drinks-01", row), outboxPayload(row, outbox.install));
    expect(parsed.ok && parsed.value.payload).toMatchObject({ v: 1, id, seq, boot: 1, install: outbox.install, ts: 1_700_000_000_000, type: "sale", orderId: "order-000007", amountMsat: "21000" });
    // Without an installation id (the bytes of a machine from before them) the payload still parses.
    const bare = parseMqttMessage(outboxTopic("drinks-01", row), outboxPayload(row));
    expect(bare.ok && "install" in bare.value.payload).toBe(false);
    db.close();
  });
});
