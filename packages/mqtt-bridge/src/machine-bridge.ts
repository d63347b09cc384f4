// The machine's side of the fleet link: retained status with a last will and a boot counter, retained birth,
// telemetry at QoS 0, events from the on-disk outbox at QoS 1, desired -> reported state, and signed commands.
import { randomUUID, type KeyObject } from "node:crypto";
import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import {
  BirthPayload,
  COMMAND_CLOCK_SKEW_MS,
  CommandArgs,
  MAX_COMMAND_LIFETIME_MS,
  PAYLOAD_VERSION,
  ReportedStatePayload,
  TelemetryPayload,
  parseMqttMessage,
  parseValue,
  topics,
  type CodedError,
  type CommandArgsOf,
  type CommandName,
  type CommandPayload,
  type DesiredStatePayload,
  type Envelope,
  type EventAckPayload,
  type FleetStatePayload,
  type MachineOnlineState,
} from "@zapvend/protocol";
import { systemClock, silentLogger, type Clock, type Logger } from "./clock.js";
import { Connection, type BrokerConfig, type ReconnectOptions } from "./connection.js";
import { readMeta, writeMeta } from "./bridge-db.js";
import { BridgeError, BridgeErrorCode } from "./errors.js";
import { Outbox } from "./outbox.js";
import { OutboxPublisher, type OutboxPublisherOptions } from "./outbox-publisher.js";
import { trustedKeyMap, verifySignedPayload } from "./signing.js";
import { PictureFetcher, type PictureFetcherOptions } from "./picture-fetcher.js";

type EnvelopeKeys = keyof Envelope;
/** The bridge adds the envelope and the installation id. */
export type BirthBody = Omit<BirthPayload, EnvelopeKeys | "install">;
/** The bridge fills `uptimeMs` and `rssMb` itself. */
export type TelemetryBody = Omit<TelemetryPayload, EnvelopeKeys | "uptimeMs" | "rssMb">;
/** What the machine runs with now, for `state/reported`. */
export type AppliedState = Pick<ReportedStatePayload, "slots" | "mode">;
/** A desired state's outcome: applied (with what is now in force) or refused with a reason. */
export type DesiredOutcome = AppliedState & ({ status: "applied" } | { status: "refused"; error: CodedError });

/** Context a command handler gets. */
export interface CommandContext {
  rid: string;
  keyId: string;
  /** Aborted when the bridge stops. */
  signal: AbortSignal;
}
/** Runs a verified command; returns `data` for the result, or throws (a `code` on the error is passed on). */
export type CommandHandler<N extends CommandName = CommandName> = (
  args: CommandArgsOf<N>,
  ctx: CommandContext,
) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;
export type CommandHandlers = { [N in CommandName]?: CommandHandler<N> };

export interface MachineBridgeOptions {
  machineId: string;
  /** Broker and telemetry period (protocol's `MqttConfig` fits). */
  mqtt: BrokerConfig & { telemetryIntervalMs?: number };
  /** The database the controller journals to; the outbox and the counters live beside the journal. */
  db: Database.Database;
  /** Default: the system clock. */
  clock?: Clock;
  logger?: Logger;
  /** Operator keys this machine accepts commands and desired state from (config `operatorKeys`). */
  trustedKeys: ReadonlyArray<{ keyId: string; publicKey: string }>;
  /** What this machine is, published retained on every connect and on `rebirth`. */
  birth: () => BirthBody;
  /** Current readings, published every `telemetryIntervalMs` (default 30 000) while connected. */
  telemetry: () => TelemetryBody;
  /** Applies a verified desired state; the outcome is published on `state/reported` with the same version. */
  onDesiredState: (desired: DesiredStatePayload) => DesiredOutcome | Promise<DesiredOutcome>;
  /** What is in force now, reported when a desired state is refused before reaching `onDesiredState`. */
  appliedState: () => AppliedState;
  commandHandlers: CommandHandlers;
  /** Reconnect backoff. */
  reconnect?: ReconnectOptions;
  outbox?: OutboxPublisherOptions;
  /** Keepalive in seconds. Default 30 (the will fires about 1.5 x this after the machine vanished). */
  keepaliveSec?: number;
  /** Random source for reconnect jitter. Default Math.random. */
  random?: () => number;
  /**
   * Stores a catalog picture that arrived and verified (issue #18); with it the bridge has `pictures`, which the
   * machine tells which pictures it lacks. Without it no picture topic is subscribed.
   */
  storePicture?: PictureFetcherOptions["store"];
}

/** Counters of what the bridge refused or dropped (also in telemetry logs). */
export interface BridgeCounters {
  /** Events the broker acknowledged (PUBACK). */
  eventsPublished: number;
  /** Events deleted because the fleet acknowledged them end to end (`event-ack`). */
  eventsConfirmed: number;
  /** Passes that published unacknowledged events again (fleet online, ack timeout). */
  eventResends: number;
  invalidMessages: number;
  commandsExecuted: number;
  commandsRefused: number;
  desiredApplied: number;
  desiredRefused: number;
}

export interface MachineBridgeEvents {
  connected: [];
  disconnected: [];
  /**
   * An event was acknowledged by the broker. With an older fleet its row is deleted soon after; with a fleet that
   * acknowledges events end to end it is kept (marked sent) until `events-confirmed`.
   */
  "event-acked": [{ seq: number; id: string }];
  /** The fleet acknowledged committed events (`event-ack`); `count` rows were deleted. */
  "events-confirmed": [{ count: number; from: number; upTo: number }];
  "invalid-message": [{ topic: string; code: string; message: string }];
  "command-executed": [{ name: CommandName; rid: string }];
  "command-refused": [{ name: string; rid: string | null; code: string; message: string }];
  "desired-applied": [{ version: number }];
  "desired-refused": [{ version: number | null; code: string; message: string }];
}

export class MachineBridge extends EventEmitter<MachineBridgeEvents> {
  readonly outbox: Outbox;
  /** The catalog pictures this machine still needs over MQTT (present when `storePicture` was given). */
  readonly pictures: PictureFetcher | undefined;
  readonly counters: BridgeCounters = {
    eventsPublished: 0,
    eventsConfirmed: 0,
    eventResends: 0,
    invalidMessages: 0,
    commandsExecuted: 0,
    commandsRefused: 0,
    desiredApplied: 0,
    desiredRefused: 0,
  };
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly trusted: Map<string, KeyObject>;
  private conn: Connection | undefined;
  private publisher: OutboxPublisher | undefined;
  private removeEnqueueListener: (() => void) | undefined;
  private telemetryTimer: unknown;
  private startedAt = 0;
  private serviceMode = false;
  private seq = 0;
  private appliedThisRun = false;
  private abort = new AbortController();
  private inbox: Promise<void> = Promise.resolve();

  /** No I/O: `start()` opens the tables and connects. */
  constructor(private readonly opts: MachineBridgeOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.trusted = trustedKeyMap(opts.trustedKeys);
    this.outbox = new Outbox(opts.db, { clock: this.clock });
    this.pictures = opts.storePicture ? new PictureFetcher({ store: opts.storePicture, logger: this.logger }) : undefined;
  }

  get boot(): number {
    return this.outbox.boot;
  }

  /** The installation id of the machine's database (random, drawn once when the bridge tables were created). */
  get install(): number {
    return this.outbox.install;
  }

  get connected(): boolean {
    return this.conn?.connected ?? false;
  }

  /**
   * Whether events are kept until the fleet acknowledges them (the last `fleet/state` seen, now or in an earlier
   * run, said `acks: true`), rather than deleted on the broker's PUBACK.
   */
  get waitsForFleetAcks(): boolean {
    return this.publisher?.waitsForFleetAcks ?? readMeta(this.opts.db, "fleet_acks") === 1;
  }

  /** Opens the outbox (incrementing the boot counter) and connects; resolves without waiting for the broker. */
  async start(): Promise<void> {
    if (this.conn) return;
    this.outbox.open();
    this.startedAt = this.clock.now();
    this.abort = new AbortController();
    const id = this.opts.machineId;
    this.conn = new Connection({
      broker: this.opts.mqtt,
      // A stable client id, so the broker keeps the session (and with use_username_as_clientid, the ACL's identity).
      clientId: `zapvend-${id}`,
      clean: false,
      clock: this.clock,
      logger: this.logger,
      keepaliveSec: this.opts.keepaliveSec ?? 30,
      ...(this.opts.random ? { random: this.opts.random } : {}),
      ...this.opts.reconnect,
      will: { topic: topics.status(id), payload: Buffer.from(JSON.stringify(this.envelope({ install: this.outbox.install, state: "lost" }))), qos: 1, retain: true },
    });
    const client = this.conn.client;
    this.publisher = new OutboxPublisher(this.outbox, client, id, this.clock, this.logger, (row) => {
      this.counters.eventsPublished++;
      this.safeEmit("event-acked", row);
    }, this.opts.outbox);
    // What the last fleet/state said, kept across restarts: after a broker restart (an in-memory broker loses its
    // retained messages) the machine must still wait for the fleet's acks rather than trust a PUBACK.
    this.publisher.onResend = () => this.counters.eventResends++;
    this.publisher.setFleetAcks(readMeta(this.opts.db, "fleet_acks") === 1);
    this.removeEnqueueListener = this.outbox.onEnqueue(this.publisher.pump);
    client.on("connect", this.onConnect);
    client.on("close", this.onClose);
    client.on("message", this.onMessage);
  }

  /** Publishes `offline` (clean stop, no will), writes pending acknowledgements and disconnects. */
  async stop(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    this.abort.abort();
    this.stopTelemetry();
    if (conn.connected) {
      await withTimeout(this.publishStatus("offline"), 2_000, this.clock).catch((err: unknown) =>
        this.logger.warn("offline status not acknowledged", { error: (err as Error).message }),
      );
    }
    this.publisher?.stop();
    this.pictures?.detach();
    this.removeEnqueueListener?.();
    conn.client.removeListener("connect", this.onConnect);
    conn.client.removeListener("close", this.onClose);
    conn.client.removeListener("message", this.onMessage);
    await conn.close();
    // A handler still running (it got the abort signal) is given a bounded time; one that calls stop() itself
    // must not wait for its own end.
    await withTimeout(this.inbox, 5_000, this.clock).catch(() => this.logger.warn("a command handler was still running at stop"));
    this.conn = undefined;
    this.publisher = undefined;
  }

  /** The technician opened the door / the service menu: status `service` until set back. */
  setServiceMode(on: boolean): void {
    if (this.serviceMode === on) return;
    this.serviceMode = on;
    if (this.connected) void this.publishStatus(on ? "service" : "online").catch(() => {});
  }

  /** Publishes the birth again (after a catalog or config change). */
  async rebirth(): Promise<void> {
    await this.publishBirth();
  }

  private envelope<T extends object>(body: T): Envelope & T {
    return { v: PAYLOAD_VERSION, id: randomUUID(), ts: this.clock.now(), boot: this.outbox.boot, seq: this.seq++, ...body };
  }

  private publish(topic: string, payload: object, qos: 0 | 1, retain: boolean): Promise<void> {
    if (!this.conn) return Promise.reject(new BridgeError(BridgeErrorCode.NOT_RUNNING, "the bridge is not running"));
    return this.conn.publish(topic, JSON.stringify(payload), { qos, retain });
  }

  private publishStatus(state: MachineOnlineState): Promise<void> {
    // `install` with `boot`: the fleet orders statuses by boot within one installation of the machine's database.
    return this.publish(topics.status(this.opts.machineId), this.envelope({ install: this.outbox.install, state }), 1, true);
  }

  private async publishBirth(): Promise<void> {
    const payload = this.envelope({ ...this.opts.birth(), install: this.outbox.install });
    const checked = parseValue(BirthPayload, payload);
    if (!checked.ok) {
      this.logger.error("birth refused by the protocol schema; not published", { ...checked.error });
      return;
    }
    await this.publish(topics.birth(this.opts.machineId), payload, 1, true);
  }

  private readonly onConnect = () => {
    this.logger.info("connected", { machineId: this.opts.machineId, boot: this.outbox.boot });
    const id = this.opts.machineId;
    // Status before birth, so a fleet that sees the birth already knows the machine is online.
    void this.publishStatus(this.serviceMode ? "service" : "online").catch(() => {});
    void this.publishBirth().catch(() => {});
    this.conn?.client.subscribe(topics.machineInboxFilters(id), { qos: 1 }, (err) => {
      if (err) this.logger.error("subscribe failed", { error: err.message });
    });
    if (this.conn) this.pictures?.connected(this.conn.client);
    this.publisher?.resume();
    this.sendTelemetry();
    this.safeEmit("connected");
  };

  private readonly onClose = () => {
    this.publisher?.pause();
    this.stopTelemetry();
    this.safeEmit("disconnected");
  };

  private stopTelemetry(): void {
    if (this.telemetryTimer !== undefined) this.clock.clearTimeout(this.telemetryTimer);
    this.telemetryTimer = undefined;
  }

  private sendTelemetry = (): void => {
    this.stopTelemetry();
    if (!this.connected) return;
    try {
      const payload = this.envelope({
        ...this.opts.telemetry(),
        uptimeMs: Math.max(0, this.clock.now() - this.startedAt),
        rssMb: Math.round((process.memoryUsage.rss() / 2 ** 20) * 10) / 10,
      });
      const checked = parseValue(TelemetryPayload, payload);
      if (checked.ok) void this.publish(topics.telemetry(this.opts.machineId), payload, 0, false).catch(() => {});
      else this.logger.error("telemetry refused by the protocol schema; not published", { ...checked.error });
    } catch (err) {
      this.logger.error("telemetry provider failed", { error: (err as Error).message });
    }
    this.telemetryTimer = this.clock.setTimeout(this.sendTelemetry, this.opts.mqtt.telemetryIntervalMs ?? 30_000);
  };

  private readonly onMessage = (topic: string, payload: Buffer) => {
    // A catalog picture: raw bytes, not a JSON message; checked and stored beside the inbox, never behind a command.
    if (PictureFetcher.isPictureTopic(topic)) {
      if (this.pictures) void this.pictures.handle(topic, payload);
      return;
    }
    // The fleet's state and its acks are handled at once, not behind a running command: a PUBACK that follows the
    // retained fleet/state on the wire must find the ack mode it announced already in force.
    if (topic === FLEET_STATE_TOPIC || topic.endsWith("/event-ack")) {
      try {
        this.handleFleetMessage(topic, payload);
      } catch (err) {
        this.logger.error("fleet message handler failed", { topic, error: (err as Error).message });
      }
      return;
    }
    // One message at a time, in arrival order: a command's counter check and its persistence must not interleave.
    this.inbox = this.inbox.then(() => this.handle(topic, payload)).catch((err: unknown) => {
      this.logger.error("inbound message handler failed", { topic, error: (err as Error).message });
    });
  };

  private invalid(topic: string, code: string, message: string): void {
    this.counters.invalidMessages++;
    this.logger.warn("invalid message dropped", { topic: topic.slice(0, 200), code, message });
    this.safeEmit("invalid-message", { topic, code, message });
  }

  private async handle(topic: string, payload: Buffer): Promise<void> {
    const parsed = parseMqttMessage(topic, payload);
    if (!parsed.ok) {
      // An empty retained desired state (cleared by the fleet) is not an error worth a counter.
      if (payload.length === 0) return;
      this.invalid(topic, parsed.error.code, parsed.error.message);
      return;
    }
    const msg = parsed.value;
    // parseMqttMessage checked that the payload matches the topic's kind; TS cannot narrow through `topic.kind`.
    if (msg.topic.kind === "desired") return this.handleDesired(msg.topic.machineId, msg.payload as DesiredStatePayload, payload);
    if (msg.topic.kind === "command") return this.handleCommand(msg.topic.machineId, msg.payload as CommandPayload, payload);
    this.invalid(topic, "bad_value", `a machine does not take ${msg.topic.kind} messages`);
  }

  private handleFleetMessage(topic: string, payload: Buffer): void {
    if (payload.length === 0) return; // a cleared retained fleet/state
    const parsed = parseMqttMessage(topic, payload);
    if (!parsed.ok) return this.invalid(topic, parsed.error.code, parsed.error.message);
    const msg = parsed.value;
    const publisher = this.publisher;
    if (!publisher) return;
    if (msg.topic.kind === "fleet-state") {
      const p = msg.payload as FleetStatePayload;
      const acks = p.acks === true;
      if (acks !== publisher.waitsForFleetAcks) {
        writeMeta(this.opts.db, "fleet_acks", acks ? 1 : 0);
        this.logger.info(acks ? "the fleet acknowledges events: each is kept until the fleet stored it" : "the fleet does not acknowledge events: deleted after PUBACK", { fleetBoot: p.boot });
      }
      publisher.setFleetAcks(acks);
      publisher.fleetState(p.state === "online");
      return;
    }
    if (msg.topic.kind === "event-ack") {
      if (msg.topic.machineId !== this.opts.machineId) return this.invalid(topic, BridgeErrorCode.WRONG_AUDIENCE, `event-ack for ${msg.topic.machineId}`);
      const p = msg.payload as EventAckPayload;
      // An ack counted over another installation's seqs (the fleet had not seen this database's birth yet, or a late
      // ack for the machine's previous database) would delete new events that reuse those seqs. Without `install`
      // (an older fleet) the ack is taken as before.
      if (p.install !== undefined && p.install !== this.outbox.install) {
        this.logger.info("event ack for another installation ignored", { install: p.install, ours: this.outbox.install, from: p.from, upTo: p.upTo });
        return;
      }
      const count = publisher.fleetAck(p.from, p.upTo, p.seqs ?? []);
      if (count > 0) {
        this.counters.eventsConfirmed += count;
        this.safeEmit("events-confirmed", { count, from: p.from, upTo: p.upTo });
      }
      return;
    }
    this.invalid(topic, "bad_value", `unexpected ${msg.topic.kind} message`);
  }

  private async handleDesired(topicMachine: string, desired: DesiredStatePayload, raw: Buffer): Promise<void> {
    const id = this.opts.machineId;
    const lastApplied = readMeta(this.opts.db, "desired_version") ?? 0;
    const refuse = async (code: string, message: string) => {
      this.counters.desiredRefused++;
      this.logger.warn("desired state refused", { version: desired.version, code, message });
      this.safeEmit("desired-refused", { version: desired.version, code, message });
      await this.publishReported({ version: lastApplied, status: "refused", error: { code, message }, ...this.opts.appliedState() });
    };
    if (topicMachine !== id) return refuse(BridgeErrorCode.WRONG_AUDIENCE, `desired state for ${topicMachine}, not ${id}`);
    const v = verifySignedPayload(JSON.parse(raw.toString("utf8")), this.trusted);
    if (!v.ok) return refuse(v.code, v.message);
    // `aud` and `install` are inside the signature: a desired state signed for another machine, or for this machine's
    // previous installation (the retained state a reflashed SD card finds on the broker), is not applied here.
    if (desired.aud !== id) return refuse(BridgeErrorCode.WRONG_AUDIENCE, desired.aud === undefined ? "the desired state names no machine (aud)" : `desired state signed for ${desired.aud}, not ${id}`);
    if (desired.install === undefined) {
      return refuse(BridgeErrorCode.MISSING_INSTALL, `the desired state names no installation; this is installation ${this.outbox.install} (the fleet sends it again once it saw this birth)`);
    }
    if (desired.install !== this.outbox.install) {
      return refuse(BridgeErrorCode.WRONG_INSTALL, `desired state signed for installation ${desired.install}, this is installation ${this.outbox.install}`);
    }
    if (desired.version < lastApplied || (desired.version === lastApplied && this.appliedThisRun)) {
      // A retained desired state is delivered again on every subscribe: applying it again is not needed.
      if (desired.version < lastApplied) this.logger.info("stale desired state ignored", { version: desired.version, lastApplied });
      return;
    }
    let outcome: DesiredOutcome;
    try {
      outcome = await this.opts.onDesiredState(desired);
    } catch (err) {
      const code = codeOf(err, BridgeErrorCode.DESIRED_REFUSED);
      return refuse(code, (err as Error).message ?? String(err));
    }
    if (outcome.status === "refused") {
      this.counters.desiredRefused++;
      this.safeEmit("desired-refused", { version: desired.version, code: outcome.error.code, message: outcome.error.message });
      await this.publishReported({ version: lastApplied, status: "refused", error: outcome.error, slots: outcome.slots, mode: outcome.mode });
      return;
    }
    writeMeta(this.opts.db, "desired_version", desired.version);
    this.appliedThisRun = true;
    this.counters.desiredApplied++;
    this.safeEmit("desired-applied", { version: desired.version });
    await this.publishReported({ version: desired.version, status: "applied", error: null, slots: outcome.slots, mode: outcome.mode });
  }

  private async publishReported(body: Omit<ReportedStatePayload, EnvelopeKeys>): Promise<void> {
    const payload = this.envelope({ ...body, mode: this.serviceMode ? ("service" as const) : body.mode });
    const checked = parseValue(ReportedStatePayload, payload);
    if (!checked.ok) {
      this.logger.error("reported state refused by the protocol schema; not published", { ...checked.error });
      return;
    }
    await this.publish(topics.reported(this.opts.machineId), payload, 1, true).catch((err: unknown) =>
      this.logger.warn("reported state not published", { error: (err as Error).message }),
    );
  }

  private async handleCommand(topicMachine: string, cmd: CommandPayload, raw: Buffer): Promise<void> {
    const id = this.opts.machineId;
    const refuse = async (code: string, message: string) => {
      this.counters.commandsRefused++;
      this.logger.warn("command refused", { name: cmd.name, rid: cmd.rid, code, message });
      this.safeEmit("command-refused", { name: cmd.name, rid: cmd.rid, code, message });
      await this.answer(cmd, { status: "error", error: { code, message } });
    };
    // The signature first: nothing of an unsigned message is trusted, not even its audience.
    const v = verifySignedPayload(JSON.parse(raw.toString("utf8")), this.trusted);
    if (!v.ok) return refuse(v.code, v.message);
    if (cmd.aud !== id || topicMachine !== id) return refuse(BridgeErrorCode.WRONG_AUDIENCE, `addressed to ${cmd.aud}, this is ${id}`);
    // The fleet's clock and this one may differ by up to COMMAND_CLOCK_SKEW_MS (a Pi without an RTC before NTP sync);
    // beyond that a command is refused, and none may live longer than MAX_COMMAND_LIFETIME_MS (so a captured one
    // cannot be held back and played later, even within the tolerance).
    const now = this.clock.now();
    if (cmd.exp - cmd.ts > MAX_COMMAND_LIFETIME_MS) {
      return refuse(BridgeErrorCode.LIFETIME_TOO_LONG, `valid for ${cmd.exp - cmd.ts} ms, at most ${MAX_COMMAND_LIFETIME_MS} ms is accepted`);
    }
    if (cmd.ts > now + COMMAND_CLOCK_SKEW_MS) {
      return refuse(BridgeErrorCode.NOT_YET_VALID, `signed at ${new Date(cmd.ts).toISOString()}, ahead of this machine's clock by more than ${COMMAND_CLOCK_SKEW_MS} ms`);
    }
    if (cmd.exp + COMMAND_CLOCK_SKEW_MS <= now) return refuse(BridgeErrorCode.EXPIRED, `expired at ${new Date(cmd.exp).toISOString()}`);
    // Check and persist the counter in one transaction, before anything runs: a crash mid-command cannot reopen it.
    const fresh = this.opts.db.transaction(() => {
      const row = this.opts.db.prepare("SELECT ctr FROM bridge_command_counters WHERE key_id = ?").get(cmd.keyId) as { ctr: number } | undefined;
      if (row && cmd.ctr <= row.ctr) return row.ctr;
      this.opts.db
        .prepare("INSERT INTO bridge_command_counters (key_id, ctr, updated_at) VALUES (?, ?, ?) ON CONFLICT(key_id) DO UPDATE SET ctr = excluded.ctr, updated_at = excluded.updated_at")
        .run(cmd.keyId, cmd.ctr, this.clock.now());
      return null;
    })();
    if (fresh !== null) return refuse(BridgeErrorCode.REPLAYED, `counter ${cmd.ctr} is not above ${fresh}`);
    const args = parseValue(CommandArgs[cmd.name], cmd.args);
    if (!args.ok) return refuse(BridgeErrorCode.BAD_ARGS, `args.${args.error.path}: ${args.error.message}`);
    const handler = this.opts.commandHandlers[cmd.name] as CommandHandler | undefined;
    if (!handler && cmd.name !== "rebirth") return refuse(BridgeErrorCode.UNSUPPORTED_COMMAND, `this machine does not run ${cmd.name}`);
    this.logger.info("command accepted", { name: cmd.name, rid: cmd.rid, keyId: v.keyId, ctr: cmd.ctr });
    try {
      const data = handler
        ? await handler(args.value as never, { rid: cmd.rid, keyId: v.keyId, signal: this.abort.signal })
        : await this.rebirth().then(() => ({ boot: this.outbox.boot }));
      this.counters.commandsExecuted++;
      this.safeEmit("command-executed", { name: cmd.name, rid: cmd.rid });
      await this.answer(cmd, { status: "ok", data: data ?? {} });
    } catch (err) {
      this.counters.commandsExecuted++;
      await this.answer(cmd, { status: "error", error: { code: codeOf(err, BridgeErrorCode.COMMAND_FAILED), message: String((err as Error).message ?? err).slice(0, 500) } });
    }
  }

  private async answer(cmd: CommandPayload, body: { status: "ok"; data: Record<string, unknown> } | { status: "error"; error: CodedError }): Promise<void> {
    await this.publish(topics.commandResult(this.opts.machineId, cmd.name), this.envelope({ rid: cmd.rid, ...body }), 1, false).catch((err: unknown) =>
      this.logger.warn("command result not published", { rid: cmd.rid, error: (err as Error).message }),
    );
  }

  private safeEmit<K extends keyof MachineBridgeEvents>(event: K, ...args: MachineBridgeEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: MachineBridgeEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error("event listener threw", { event, error: (err as Error).message });
    }
  }
}

const FLEET_STATE_TOPIC = topics.fleetState();

function codeOf(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : fallback;
}

function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimeout(() => reject(new BridgeError(BridgeErrorCode.BROKER_TIMEOUT, `no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clock.clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}
