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

  it("publishes bytes that protocol's parser accepts as the event, with the envelope of the stored row", () => {
    const { open } = fileDb();
    const db = open();
    const outbox = new Outbox(db, { clock });
    const { id, seq } = outbox.enqueue(saleBody(7));
    const row = outbox.peek(0, 1)[0]!;
    expect(outboxTopic("drinks-01", row)).toBe("zapvend/v1/m/drinks-01/event/sale");
    const parsed = parseMqttMessage(outboxTopic("drinks-01", row), outboxPayload(row));
    expect(parsed.ok && parsed.value.payload).toMatchObject({ v: 1, id, seq, boot: 1, ts: 1_700_000_000_000, type: "sale", orderId: "order-000007", amountMsat: "21000" });
    db.close();
  });
});
