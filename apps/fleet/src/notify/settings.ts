// Notification settings edited in the console (issue #18), kept in the store (migration 8, one row) on SQLite and
// PostgreSQL alike. Which wins: once saved from the console, the stored settings replace the config file's
// `notifications` as a whole (the console's first edit starts from the file's values, so nothing is lost); deleting
// them goes back to the file. Secrets (the webhook's HMAC secret, the SMTP password, the ntfy token) are write-only:
// `redact()` never lets them out, and an edit that leaves one out keeps the value in force for that channel.
import { FleetNotifications, parseValue, type NotifyChannelConfig } from "@zapvend/protocol";
import { FleetError } from "../errors.js";
import { num, type SqlDb } from "../store/db.js";

export const NotifySettingsErrorCode = {
  CONFLICT: "settings_conflict",
  BAD_SETTINGS: "bad_settings",
} as const;

/** The settings in force, as the store has them. */
export interface StoredNotifySettings {
  /** Grows with every save and delete (servers compare it to know when to reload). */
  version: number;
  /** null: deleted from the console, the config file's apply. */
  settings: FleetNotifications | null;
  updatedAt: number;
  updatedBy: string;
}

/** A channel as the console sees it: everything but its secret, and whether one is set. */
export type ChannelView =
  | { type: "webhook"; url: string; secretSet: boolean }
  | { type: "email"; smtp: { host: string; port: number; secure: boolean; user?: string; passSet: boolean }; from: string; to: string[] }
  | { type: "ntfy"; server: string; topic: string; tokenSet: boolean };

export type NotifySettingsView = Omit<FleetNotifications, "channels"> & { channels: Record<string, ChannelView> };

export const EMPTY_NOTIFICATIONS: FleetNotifications = FleetNotifications.parse({ channels: {}, groups: {}, routes: [] });

export function redactChannel(c: NotifyChannelConfig): ChannelView {
  if (c.type === "webhook") return { type: "webhook", url: c.url, secretSet: c.secret.length > 0 };
  if (c.type === "email") {
    const { pass, ...smtp } = c.smtp;
    return { type: "email", smtp: { ...smtp, passSet: pass !== undefined && pass !== "" }, from: c.from, to: c.to };
  }
  return { type: "ntfy", server: c.server, topic: c.topic, tokenSet: c.token !== undefined && c.token !== "" };
}

export function redact(s: FleetNotifications): NotifySettingsView {
  return { ...s, channels: Object.fromEntries(Object.entries(s.channels).map(([name, c]) => [name, redactChannel(c)])) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An edit from the console (the settings without secrets, or with new ones) made whole: a channel that leaves its
 * secret out keeps the one `current` has under the same name and type; `""` removes an optional one (SMTP password,
 * ntfy token). The `...Set` flags of the redacted view are ignored. Validated with protocol's FleetNotifications.
 */
export function applyEdit(edit: unknown, current: FleetNotifications): FleetNotifications {
  if (!isObject(edit)) throw new FleetError(NotifySettingsErrorCode.BAD_SETTINGS, "settings must be an object", 400);
  const channels: Record<string, unknown> = {};
  const given = isObject(edit.channels) ? edit.channels : {};
  for (const [name, raw] of Object.entries(given)) {
    if (!isObject(raw)) {
      channels[name] = raw;
      continue;
    }
    const old = current.channels[name];
    const c: Record<string, unknown> = { ...raw };
    if (c.type === "webhook") {
      delete c.secretSet;
      if (c.secret === undefined && old?.type === "webhook") c.secret = old.secret;
    } else if (c.type === "email" && isObject(c.smtp)) {
      const smtp: Record<string, unknown> = { ...c.smtp };
      delete smtp.passSet;
      if (smtp.pass === undefined && old?.type === "email" && old.smtp.pass !== undefined) smtp.pass = old.smtp.pass;
      if (smtp.pass === "") delete smtp.pass;
      c.smtp = smtp;
    } else if (c.type === "ntfy") {
      delete c.tokenSet;
      if (c.token === undefined && old?.type === "ntfy" && old.token !== undefined) c.token = old.token;
      if (c.token === "") delete c.token;
    }
    channels[name] = c;
  }
  const r = parseValue(FleetNotifications, { ...edit, channels });
  if (!r.ok) throw new FleetError(r.error.code, `settings.${r.error.path}: ${r.error.message}`, 400);
  return r.value;
}

/** Names of the channels whose secret an edit set, changed or removed (for the audit; never the values). */
export function secretsChanged(before: FleetNotifications, after: FleetNotifications): string[] {
  const secretOf = (c: NotifyChannelConfig | undefined) => (c === undefined ? undefined : c.type === "webhook" ? c.secret : c.type === "email" ? c.smtp.pass : c.token);
  return Object.keys(after.channels).filter((n) => secretOf(before.channels[n]) !== secretOf(after.channels[n]));
}

export class NotifySettingsStore {
  constructor(private readonly db: SqlDb) {}

  /** The stored version, 0 when nothing is stored (one indexed read: servers check it before they act). */
  async version(): Promise<number> {
    const rows = await this.db.all("SELECT version FROM notification_settings WHERE id = 'current'");
    return rows[0] ? num(rows[0].version) : 0;
  }

  /** The stored row (settings null: deleted, the config file's apply), or null when none was ever saved. */
  async load(): Promise<StoredNotifySettings | null> {
    const rows = await this.db.all("SELECT * FROM notification_settings WHERE id = 'current'");
    const r = rows[0];
    if (!r) return null;
    const doc: unknown = JSON.parse(String(r.doc));
    let settings: FleetNotifications | null = null;
    if (doc !== null) {
      const parsed = parseValue(FleetNotifications, doc);
      // Written through `save()` only, so always valid; a hand-edited row that is not is an error, not a silent fallback.
      if (!parsed.ok) throw new FleetError(NotifySettingsErrorCode.BAD_SETTINGS, `stored notification settings are invalid: ${parsed.error.path}: ${parsed.error.message}`, 500);
      settings = parsed.value;
    }
    return { version: num(r.version), settings, updatedAt: num(r.updated_at), updatedBy: String(r.updated_by) };
  }

  /**
   * Saves the settings (null: deletes them, so the config file's apply) as the next version if the stored one is
   * still `expectedVersion` (0: nothing ever stored); another editor's save in between answers 409
   * `settings_conflict` instead of being overwritten. Returns the new version.
   */
  async save(settings: FleetNotifications | null, expectedVersion: number, by: string, nowMs: number): Promise<number> {
    const doc = JSON.stringify(settings);
    const next = expectedVersion + 1;
    const changes = await this.db.transaction(async (tx) => {
      if (expectedVersion === 0) {
        return (await tx.run("INSERT INTO notification_settings (id, version, doc, updated_at, updated_by) VALUES ('current', ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", [next, doc, nowMs, by])).changes;
      }
      return (await tx.run("UPDATE notification_settings SET version = ?, doc = ?, updated_at = ?, updated_by = ? WHERE id = 'current' AND version = ?", [next, doc, nowMs, by, expectedVersion])).changes;
    });
    if (changes !== 1) throw new FleetError(NotifySettingsErrorCode.CONFLICT, `the notification settings were changed by someone else since version ${expectedVersion}: reload them`, 409);
    return next;
  }
}
