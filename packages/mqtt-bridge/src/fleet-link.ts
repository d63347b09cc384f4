// The fleet server's MQTT transport: the retained `fleet/state` with a will, the machines' topics (optionally as a
// shared subscription so several fleet servers split the ingest), every message parsed and validated with protocol's
// `parseMqttMessage` before it is handed on, and commands / desired states signed with the operator key. It fits
// apps/fleet's `FleetLink` interface (start / publish / connected / stop).
import { randomUUID, type KeyObject } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  CommandArgs,
  PAYLOAD_VERSION,
  parseMqttMessage,
  parseValue,
  topics,
  type CommandArgsOf,
  type CommandName,
  type DesiredStatePayload,
  type MqttMessage,
} from "@zapvend/protocol";
import { systemClock, silentLogger, type Clock, type Logger } from "./clock.js";
import { Connection, type BrokerConfig, type ReconnectOptions } from "./connection.js";
import { BridgeError, BridgeErrorCode } from "./errors.js";
import { signPayload } from "./signing.js";

export interface FleetLinkOptions {
  mqtt: BrokerConfig;
  /** Stable per fleet server (persistent session). Default `zapvend-fleet`. */
  clientId?: string;
  /** The fleet server's boot counter (envelope `boot` of what it publishes). Default 0. */
  boot?: number;
  /** Subscribe as `$share/<group>/...` so several fleet servers split the machines' messages. */
  sharedSubscriptionGroup?: string;
  /** Signs commands and desired states. Without it, `sendCommand` / `publishDesired` throw BAD_KEY. */
  operatorKey?: { keyId: string; privateKey: KeyObject };
  clock?: Clock;
  logger?: Logger;
  reconnect?: ReconnectOptions;
}

export interface FleetLinkEvents {
  connected: [];
  disconnected: [];
  "invalid-message": [{ topic: string; code: string; message: string }];
}

export class FleetLink extends EventEmitter<FleetLinkEvents> {
  private conn: Connection | undefined;
  private onMessageCb: ((msg: MqttMessage) => void) | undefined;
  private seq = 0;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Messages dropped because they failed validation. */
  invalidMessages = 0;

  /** No I/O: `start()` connects. */
  constructor(private readonly opts: FleetLinkOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  get connected(): boolean {
    return this.conn?.connected ?? false;
  }

  /** Connects, announces `fleet/state` online (its will says offline) and hands every valid message to `onMessage`. */
  async start(onMessage: (msg: MqttMessage) => void): Promise<void> {
    if (this.conn) return;
    this.onMessageCb = onMessage;
    this.conn = new Connection({
      broker: this.opts.mqtt,
      clientId: this.opts.clientId ?? "zapvend-fleet",
      clean: false,
      clock: this.clock,
      logger: this.logger,
      ...this.opts.reconnect,
      will: { topic: topics.fleetState(), payload: Buffer.from(JSON.stringify(this.envelope({ state: "offline" }))), qos: 1, retain: true },
    });
    this.conn.client.on("connect", this.onConnect);
    this.conn.client.on("close", this.onClose);
    this.conn.client.on("message", this.onMqttMessage);
  }

  async stop(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    if (conn.connected) await this.publish(topics.fleetState(), this.envelope({ state: "offline" }), { qos: 1, retain: true }).catch(() => {});
    conn.client.removeListener("connect", this.onConnect);
    conn.client.removeListener("close", this.onClose);
    conn.client.removeListener("message", this.onMqttMessage);
    await conn.close();
    this.conn = undefined;
  }

  /** Publishes a JSON payload; resolves on PUBACK for QoS 1. */
  publish(topic: string, payload: object, options: { qos: 0 | 1; retain: boolean }): Promise<void> {
    if (!this.conn) return Promise.reject(new BridgeError(BridgeErrorCode.NOT_RUNNING, "the fleet link is not started"));
    return this.conn.publish(topic, JSON.stringify(payload), options);
  }

  /** Signs and publishes a command; returns what was sent (with its `rid`). `ctr` must grow for every command. */
  async sendCommand<N extends CommandName>(machineId: string, name: N, args: CommandArgsOf<N>, o: { ctr: number; ttlMs?: number; rid?: string }): Promise<Record<string, unknown>> {
    const checked = parseValue(CommandArgs[name], args);
    if (!checked.ok) throw new BridgeError(BridgeErrorCode.BAD_ARGS, `args.${checked.error.path}: ${checked.error.message}`);
    const key = this.key();
    const now = this.clock.now();
    const signed = signPayload(
      { ...this.envelope({}), name, rid: o.rid ?? randomUUID(), aud: machineId, exp: now + (o.ttlMs ?? 30_000), ctr: o.ctr, keyId: key.keyId, args: checked.value as Record<string, unknown> },
      key.privateKey,
    );
    await this.publish(topics.command(machineId, name), signed, { qos: 1, retain: false });
    return signed;
  }

  /** Signs and publishes (retained) a desired state. */
  async publishDesired(machineId: string, desired: Pick<DesiredStatePayload, "version" | "slots" | "mode">): Promise<void> {
    const key = this.key();
    const signed = signPayload({ ...this.envelope({}), ...desired, keyId: key.keyId }, key.privateKey);
    await this.publish(topics.desired(machineId), signed, { qos: 1, retain: true });
  }

  private key(): { keyId: string; privateKey: KeyObject } {
    if (!this.opts.operatorKey) throw new BridgeError(BridgeErrorCode.BAD_KEY, "no operator key configured: commands and desired states cannot be signed");
    return this.opts.operatorKey;
  }

  private envelope<T extends object>(body: T) {
    return { v: PAYLOAD_VERSION, id: randomUUID(), ts: this.clock.now(), boot: this.opts.boot ?? 0, seq: this.seq++, ...body };
  }

  private readonly onConnect = () => {
    void this.publish(topics.fleetState(), this.envelope({ state: "online" }), { qos: 1, retain: true }).catch(() => {});
    const filter = topics.allMachinesFilter();
    const group = this.opts.sharedSubscriptionGroup;
    this.conn?.client.subscribe([group ? topics.shared(group, filter) : filter, topics.fleetState()], { qos: 1 }, (err) => {
      if (err) this.logger.error("fleet subscribe failed", { error: err.message });
    });
    this.emit("connected");
  };

  private readonly onClose = () => {
    this.emit("disconnected");
  };

  private readonly onMqttMessage = (topic: string, payload: Buffer) => {
    // A cleared retained message (empty payload) is not a message.
    if (payload.length === 0) return;
    const parsed = parseMqttMessage(topic, payload);
    if (!parsed.ok) {
      this.invalidMessages++;
      this.logger.warn("invalid message dropped", { topic: topic.slice(0, 200), code: parsed.error.code, message: parsed.error.message });
      this.emit("invalid-message", { topic, code: parsed.error.code, message: parsed.error.message });
      return;
    }
    try {
      this.onMessageCb?.(parsed.value);
    } catch (err) {
      this.logger.error("fleet message handler threw", { topic, error: (err as Error).message });
    }
  };
}
