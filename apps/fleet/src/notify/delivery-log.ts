// The record of every attempt to deliver an alert message (migration 5, `notification_deliveries`), on SQLite and
// PostgreSQL alike: what went where, when, whether it worked and why not. It also answers the dedupe question
// "did this message already reach this channel?", so a restarted fleet does not tell a technician twice.
import { randomUUID } from "node:crypto";
import { num, type SqlDb } from "../store/db.js";

/** `test`: "send a test" from the console (no alert). */
export const NotifyEvent = { RAISED: "raised", RESOLVED: "resolved", DIGEST: "digest", TEST: "test" } as const;
export type NotifyEvent = (typeof NotifyEvent)[keyof typeof NotifyEvent];

export interface DeliveryAttempt {
  id: string;
  /** One message (one alert's raise, its resolve, or one digest) sent to one or more channels. */
  messageId: string;
  /** `<alert id>:raised`, `<alert id>:resolved`, `digest:<message id>`, `test:<message id>`. */
  dedupeKey: string;
  event: NotifyEvent;
  alertIds: string[];
  channel: string;
  channelType: "webhook" | "email" | "ntfy";
  /** 1 for the first try. */
  attempt: number;
  at: number;
  ok: boolean;
  /** HTTP status or the SMTP server's answer. */
  status: string | null;
  error: string | null;
  durationMs: number;
}

export interface DeliveryQuery {
  alertId?: string;
  channel?: string;
  limit?: number;
}

export class DeliveryLog {
  constructor(
    private readonly db: SqlDb,
    private readonly newId: () => string = randomUUID,
  ) {}

  async record(a: Omit<DeliveryAttempt, "id">): Promise<DeliveryAttempt> {
    const row: DeliveryAttempt = { id: this.newId(), ...a };
    await this.db.run(
      "INSERT INTO notification_deliveries (id, message_id, dedupe_key, event, alert_ids, channel, channel_type, attempt, at, ok, status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      [row.id, row.messageId, row.dedupeKey, row.event, JSON.stringify(row.alertIds), row.channel, row.channelType, row.attempt, row.at, row.ok ? 1 : 0, row.status, row.error, Math.round(row.durationMs)],
    );
    return row;
  }

  /** True when a message with this dedupe key already reached this channel. */
  async delivered(dedupeKey: string, channel: string): Promise<boolean> {
    const rows = await this.db.all("SELECT 1 AS one FROM notification_deliveries WHERE dedupe_key = ? AND channel = ? AND ok = 1 LIMIT 1", [dedupeKey, channel]);
    return rows.length > 0;
  }

  /** True when any message carrying this alert (alone or in a digest) reached this channel. */
  async toldAbout(alertId: string, channel: string): Promise<boolean> {
    const rows = await this.db.all("SELECT 1 AS one FROM notification_deliveries WHERE channel = ? AND ok = 1 AND alert_ids LIKE ? LIMIT 1", [channel, `%${JSON.stringify(alertId)}%`]);
    return rows.length > 0;
  }

  /** Newest first; `alertId` matches messages that carried that alert (digests included). */
  async list(q: DeliveryQuery = {}): Promise<DeliveryAttempt[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (q.channel !== undefined) {
      where.push("channel = ?");
      params.push(q.channel);
    }
    if (q.alertId !== undefined) {
      // alert_ids is a JSON array of uuids; the quoted id cannot match inside another one.
      where.push("alert_ids LIKE ?");
      params.push(`%${JSON.stringify(q.alertId)}%`);
    }
    params.push(Math.min(Math.max(q.limit ?? 200, 1), 1_000));
    const rows = await this.db.all(
      `SELECT * FROM notification_deliveries${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, seq DESC LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      id: String(r.id),
      messageId: String(r.message_id),
      dedupeKey: String(r.dedupe_key),
      event: String(r.event) as NotifyEvent,
      alertIds: JSON.parse(String(r.alert_ids)) as string[],
      channel: String(r.channel),
      channelType: String(r.channel_type) as DeliveryAttempt["channelType"],
      attempt: num(r.attempt),
      at: num(r.at),
      ok: num(r.ok) === 1,
      status: r.status === null || r.status === undefined ? null : String(r.status),
      error: r.error === null || r.error === undefined ? null : String(r.error),
      durationMs: num(r.duration_ms),
    }));
  }
}
