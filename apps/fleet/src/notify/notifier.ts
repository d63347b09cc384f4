// Alerts that reach people (issue #18): listens to the fleet's alert changes, routes each raised alert to the
// channels of its groups at most once until it clears (the delivery log is the dedupe record, so a restart does
// not resend), holds minor ones and those raised in quiet hours for the digest, and tells the same channels when
// a sent alert clears. The waiting digest is kept in memory; at start `recover()` puts back in it every open alert
// that no routed channel was told about (one held when the fleet stopped, one whose delivery failed for good).
import { randomUUID } from "node:crypto";
import type { Alert, FleetNotifications } from "@zapvend/protocol";
import type { AlertSettings } from "../alerts.js";
import { silentLogger, systemClock, type Clock, type Logger } from "../clock.js";
import type { SqlDb } from "../store/db.js";
import { fetchPost, type HttpPost, type NotifyChannel } from "./channel.js";
import { DeliveryLog, NotifyEvent } from "./delivery-log.js";
import { Dispatcher, type ChannelOutcome } from "./dispatcher.js";
import { EmailChannel, type MailTransport } from "./email.js";
import { alertMessage, digestMessage, type DigestItem, type NotifyMessage } from "./message.js";
import { NtfyChannel } from "./ntfy.js";
import { NotifyError, NotifyErrorCode } from "./channel.js";
import type { NotifySettingsStore } from "./settings.js";
import { DigestClaims } from "./digest-claims.js";
import { channelsOf, groupsFor, isQuiet, waitsForDigest } from "./rules.js";
import { WebhookChannel } from "./webhook.js";

export interface NotifierOptions {
  /** The config file's `notifications` (or none: no channels), in force until settings are saved in the store. */
  config: FleetNotifications;
  /**
   * Settings edited in the console (migration 8): when given, the stored ones win over `config` and are re-read
   * whenever their version changed (checked before each alert, digest and test, so every server follows an edit).
   */
  settings?: NotifySettingsStore;
  /** This server's name on the digest claims (several fleet servers). Default a random id. */
  serverId?: string;
  /** For the opening hours of `when: "open" | "closed"` routes. */
  alertSettings: AlertSettings;
  db: SqlDb;
  clock?: Clock;
  log?: Logger;
  /** HTTP transport of the webhook and ntfy channels. Default: fetch. */
  post?: HttpPost;
  /** SMTP transport per e-mail channel name. Default: nodemailer over the channel's `smtp`. */
  mailTransport?: (channel: string) => MailTransport | undefined;
  newId?: () => string;
}

/** Where the settings in force come from. */
export type NotifySettingsSource = "store" | "config" | "none";

/** The outcome of "send a test" to one channel. */
export interface TestOutcome {
  channel: string;
  ok: boolean;
  status: string | null;
  error: string | null;
  durationMs: number;
}



/** What subscribes the notifier: the fleet service (or anything emitting `alert`). */
export interface AlertSource {
  on(event: "alert", listener: (a: Alert) => void): unknown;
  off(event: "alert", listener: (a: Alert) => void): unknown;
}

const DIGEST_CHECK_MS = 60_000;

interface Held extends DigestItem {
  channels: string[];
}

export class Notifier {
  readonly deliveries: DeliveryLog;
  private config: FleetNotifications;
  private settingsVersion = 0;
  private settingsSource: NotifySettingsSource;
  private readonly claims: DigestClaims;
  private readonly channels = new Map<string, NotifyChannel>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly dispatcher: Dispatcher;
  private readonly newId: () => string;
  /** Alerts waiting for the digest, by `<alert id>:<event>`. */
  private readonly held = new Map<string, Held>();
  /** Open alerts whose raise this process has seen (so `recover()` does not hold them a second time). */
  private readonly handled = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: unknown;
  private lastDigestAt = 0;
  private source: AlertSource | undefined;
  /** Per alert, its changes are handled in order: a clear waits until its raise was delivered (or given up). */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly listener = (a: Alert) => {
    const next = (this.chains.get(a.id) ?? Promise.resolve()).then(async () => {
      await this.refresh();
      return this.onAlert(a);
    });
    const tracked = this.track(next);
    this.chains.set(a.id, tracked);
    void tracked.finally(() => {
      if (this.chains.get(a.id) === tracked) this.chains.delete(a.id);
    });
  };

  /** No I/O: `start()` begins the digest timer. */
  constructor(private readonly o: NotifierOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.log ?? silentLogger;
    this.newId = o.newId ?? randomUUID;
    this.claims = new DigestClaims(o.db, o.serverId ?? randomUUID(), this.log);
    this.config = o.config;
    this.settingsSource = Object.keys(o.config.channels).length > 0 ? "config" : "none";
    this.deliveries = new DeliveryLog(o.db);
    this.dispatcher = new Dispatcher(this.deliveries, this.clock, { maxAttempts: o.config.maxAttempts, baseMs: o.config.retryBaseMs }, this.log);
    this.buildChannels();
  }

  /** The settings in force (secrets included: never hand them to a browser, see settings.ts `redact`). */
  get settings(): FleetNotifications {
    return this.config;
  }

  get settingsFrom(): NotifySettingsSource {
    return this.settingsSource;
  }

  /** The config file's settings (what applies when none are stored). */
  get fileSettings(): FleetNotifications {
    return this.o.config;
  }

  /**
   * Re-reads the stored settings when their version changed (another server's edit, or this one's) and applies
   * them; a failed read keeps the settings in force (logged). Returns the version in force.
   */
  async refresh(): Promise<number> {
    const store = this.o.settings;
    if (!store) return 0;
    try {
      if ((await store.version()) === this.settingsVersion) return this.settingsVersion;
      const row = await store.load();
      this.settingsVersion = row?.version ?? 0;
      const next = row?.settings ?? this.o.config;
      this.settingsSource = row?.settings ? "store" : Object.keys(this.o.config.channels).length > 0 ? "config" : "none";
      this.apply(next);
      this.log("fleet:notify", `notification settings v${this.settingsVersion} in force (${this.settingsSource})`, { channels: Object.keys(next.channels) });
    } catch (err) {
      this.log("fleet:notify", `notification settings not re-read: ${(err as Error).message}`, { level: "error" });
    }
    return this.settingsVersion;
  }

  private apply(next: FleetNotifications): void {
    const old = [...this.channels.values()];
    this.config = next;
    this.dispatcher.policy = { maxAttempts: next.maxAttempts, baseMs: next.retryBaseMs };
    this.channels.clear();
    this.buildChannels();
    // Deliveries under way keep their channel objects; the old transports close once they are done.
    void this.idle().then(async () => {
      for (const c of old) await c.close?.().catch(() => {});
    });
  }

  /**
   * Sends a test message to one channel, once (no retry, nothing deduplicated), logged in the delivery log as event
   * `test`. Throws `notify_unknown_channel` for a name not in the settings in force.
   */
  async sendTest(name: string, by: string): Promise<TestOutcome> {
    await this.refresh();
    const c = this.channels.get(name);
    if (!c) throw new NotifyError(NotifyErrorCode.UNKNOWN_CHANNEL, `no channel "${name}" in the notification settings`, false);
    const now = this.clock.now();
    const id = this.newId();
    const m: NotifyMessage = {
      id,
      event: NotifyEvent.TEST,
      dedupeKey: `test:${id}`,
      title: `Test from the zapvend fleet`,
      text: `A test message to channel ${name}, sent by ${by} at ${new Date(now).toISOString().slice(0, 19).replace("T", " ")} UTC. No alert is open because of it.`,
      severity: "info",
      alerts: [],
      createdAt: now,
    };
    let status: string | null = null;
    let error: string | null = null;
    try {
      status = (await c.send(m)).status;
    } catch (err) {
      error = (err as Error).message;
      status = err instanceof NotifyError ? err.status : null;
    }
    const durationMs = Math.max(0, this.clock.now() - now);
    await this.deliveries.record({ messageId: id, dedupeKey: m.dedupeKey, event: NotifyEvent.TEST, alertIds: [], channel: name, channelType: c.type, attempt: 1, at: now, ok: error === null, status, error, durationMs });
    this.log("fleet:notify", `test to ${name} ${error === null ? "delivered" : "failed"}`, { channel: name, status, ...(error !== null ? { error, level: "warn" } : {}) });
    return { channel: name, ok: error === null, status, error, durationMs };
  }

  private buildChannels(): void {
    const o = this.o;
    const post = o.post ?? fetchPost;
    for (const [name, c] of Object.entries(this.config.channels)) {
      if (c.type === "webhook") this.channels.set(name, new WebhookChannel({ name, url: c.url, secret: c.secret, post, now: () => this.clock.now() }));
      else if (c.type === "ntfy") this.channels.set(name, new NtfyChannel({ name, server: c.server, topic: c.topic, ...(c.token !== undefined ? { token: c.token } : {}), post }));
      else {
        const transport = o.mailTransport?.(name);
        this.channels.set(name, new EmailChannel({ name, smtp: c.smtp, from: c.from, to: c.to, ...(transport ? { transport } : {}) }));
      }
    }
  }

  start(source?: AlertSource): void {
    if (source) {
      this.source = source;
      source.on("alert", this.listener);
    }
    this.lastDigestAt = this.clock.now();
    // Checked every minute: the digest goes every `digestIntervalMs`, and what quiet hours held goes as soon as they
    // end (not up to an interval later).
    this.timer = this.clock.setInterval(() => void this.track(this.digestTick()), Math.min(DIGEST_CHECK_MS, this.config.digestIntervalMs));
  }

  async stop(): Promise<void> {
    this.source?.off("alert", this.listener);
    this.source = undefined;
    this.clock.clearInterval(this.timer);
    this.dispatcher.cancel();
    await this.idle();
    for (const c of this.channels.values()) await c.close?.();
    if (this.held.size > 0) this.log("fleet:notify", `${this.held.size} alert(s) waiting for the digest were not sent (stopping)`, { level: "warn" });
  }

  /** Resolves when no delivery is under way (tests, and `stop()`). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Alerts held for the next digest. */
  get waiting(): number {
    return this.held.size;
  }

  /**
   * At start, with the store's open alerts: each one not acknowledged that a routed channel has not been told about
   * (held for a digest when the fleet stopped, given up after its retries, raised before notifications were set up)
   * waits for the next digest, for those channels. Returns how many.
   */
  async recover(open: readonly Alert[]): Promise<number> {
    let n = 0;
    for (const a of open) {
      if (a.clearedAt !== null || a.acknowledgedAt !== null || this.handled.has(a.id)) continue;
      const untold: string[] = [];
      for (const c of channelsOf(groupsFor(a, this.config, this.o.alertSettings), this.config)) {
        if (!(await this.deliveries.toldAbout(a.id, c))) untold.push(c);
      }
      if (untold.length === 0) continue;
      this.held.set(`${a.id}:${NotifyEvent.RAISED}`, { alert: a, event: NotifyEvent.RAISED, channels: untold });
      n++;
    }
    if (n > 0) this.log("fleet:notify", `${n} open alert(s) nobody was told about wait for the next digest`, { alerts: n });
    return n;
  }

  /** Handles one alert change as the service emits it (raised, acknowledged or cleared). */
  async onAlert(a: Alert): Promise<ChannelOutcome[]> {
    const now = this.clock.now();
    if (a.clearedAt === null) {
      // An acknowledgement is not news: the alert was raised (and told) before.
      if (a.acknowledgedAt !== null) return [];
      this.handled.add(a.id);
      if (this.held.has(`${a.id}:${NotifyEvent.RAISED}`)) return [];
      const channels = channelsOf(groupsFor(a, this.config, this.o.alertSettings), this.config);
      if (channels.length === 0) return [];
      if (waitsForDigest(a, this.config, now)) {
        this.held.set(`${a.id}:${NotifyEvent.RAISED}`, { alert: a, event: NotifyEvent.RAISED, channels });
        return [];
      }
      return this.send(alertMessage(this.newId(), a, NotifyEvent.RAISED, now), channels);
    }
    // Cleared. Never told (still waiting in the digest): nothing to say.
    this.handled.delete(a.id);
    if (this.held.delete(`${a.id}:${NotifyEvent.RAISED}`)) return [];
    if (!this.config.resolved) return [];
    // Only the channels the raise reached (the log survives restarts) hear that it is resolved.
    const routed = channelsOf(groupsFor(a, this.config, this.o.alertSettings), this.config);
    const told: string[] = [];
    for (const c of routed) if (await this.deliveries.delivered(`${a.id}:${NotifyEvent.RAISED}`, c)) told.push(c);
    if (told.length === 0) return [];
    if (a.severity !== "critical" && isQuiet(this.config, now)) {
      this.held.set(`${a.id}:${NotifyEvent.RESOLVED}`, { alert: a, event: NotifyEvent.RESOLVED, channels: told });
      return [];
    }
    return this.send(alertMessage(this.newId(), a, NotifyEvent.RESOLVED, now), told);
  }

  private async digestTick(): Promise<ChannelOutcome[]> {
    if (this.held.size === 0) return [];
    await this.refresh();
    const now = this.clock.now();
    // A clock set back (NTP, a test) must not hold the digest for as long as it jumped.
    const due = now - this.lastDigestAt >= this.config.digestIntervalMs || now < this.lastDigestAt;
    const heldByQuiet = [...this.held.values()].some((h) => h.event === NotifyEvent.RESOLVED || !this.config.digestSeverities.includes(h.alert.severity));
    if (!due && !(heldByQuiet && !isQuiet(this.config, now))) return [];
    return this.flushDigest();
  }

  /**
   * Sends what waits, one digest per channel, unless it is quiet. Runs on the digest timer. With several fleet
   * servers on one database each holds its own waiting digest (and a restarted one puts back what nobody was told
   * about, possibly still held by another): an alert another server cleared is left out, and each (alert event,
   * channel) is claimed in `notification_claims` first, so only one server ever sends it. A claim whose delivery
   * failed is released, so a restart's recovery can try again.
   */
  async flushDigest(): Promise<ChannelOutcome[]> {
    const now = this.clock.now();
    if (this.held.size === 0 || isQuiet(this.config, now)) return [];
    this.lastDigestAt = now;
    const held = [...this.held.values()];
    this.held.clear();
    // Claims only matter while a digest is being sent; a day later they are history.
    await this.claims.prune(now);
    const cleared = await this.claims.clearedAmong(held.filter((h) => h.event === NotifyEvent.RAISED).map((h) => h.alert.id));
    const byChannel = new Map<string, DigestItem[]>();
    for (const h of held) {
      if (h.event === NotifyEvent.RAISED && cleared.has(h.alert.id)) continue;
      for (const c of h.channels) {
        if (!(await this.claims.claim(`${h.alert.id}:${h.event}`, c, now))) continue;
        let items = byChannel.get(c);
        if (!items) byChannel.set(c, (items = []));
        items.push({ alert: h.alert, event: h.event });
      }
    }
    // Channels in parallel: one whose receiver is down (and retried) does not hold back the others' digests.
    const sent = await Promise.all(
      [...byChannel].map(async ([c, items]) => {
        const out = await this.send(digestMessage(this.newId(), items, now), [c]);
        if (out.some((o) => !o.ok)) for (const i of items) await this.claims.release(`${i.alert.id}:${i.event}`, c);
        return out;
      }),
    );
    return sent.flat();
  }

  private async send(m: NotifyMessage, names: readonly string[]): Promise<ChannelOutcome[]> {
    const channels = names.map((n) => this.channels.get(n)).filter((c): c is NotifyChannel => c !== undefined);
    return this.dispatcher.deliver(m, channels);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const guarded = p.catch((err: unknown) => {
      this.log("fleet:notify", `notification failed: ${(err as Error).message}`, { level: "error" });
      return undefined as T;
    });
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
    return guarded;
  }
}
