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
  type EventAckPayload,
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
  /** False keeps the broker session (and the QoS 1 events queued while the fleet is down). Default false. */
  clean?: boolean;
  /**
   * The fleet server's boot counter (envelope `boot` of what it publishes). A function when it is only known after
   * the link is built (the fleet reads it from its database at start). Default 0.
   */
  boot?: number | (() => number);
  /**
   * Subscribe as `$share/<group>/...` so several fleet servers split the machines' messages (a clustered broker, or
   * Mosquitto >= 2). A shared subscription never delivers retained messages, so `status`, `birth` and
   * `state/reported` are also subscribed plainly: every fleet server knows every machine's state.
   */
  sharedSubscriptionGroup?: string;
  /** Signs commands and desired states. Without it, `sendCommand` / `publishDesired` throw BAD_KEY. */
  operatorKey?: { keyId: string; privateKey: KeyObject };
  /**
   * Announce `acks: true` in `fleet/state` (online and the will): this fleet acknowledges the events it committed on
   * `m/<id>/event-ack` (`publishEventAck`), so machines keep each event until then. False behaves as a fleet from
   * before acknowledgements (machines delete an event on the broker's PUBACK). Default true.
   */
  eventAcks?: boolean;
  clock?: Clock;
  logger?: Logger;
  reconnect?: ReconnectOptions;
}

/** The retained machine topics, subscribed plainly beside a shared subscription (which gets no retained messages). */
export const RETAINED_MACHINE_FILTERS = ["zapvend/v1/m/+/status", "zapvend/v1/m/+/birth", "zapvend/v1/m/+/state/reported"] as const;

/** The subscriptions of a fleet server: the whole machine tree (shared when a group is set) and `fleet/state`. */
export function fleetSubscriptions(sharedSubscriptionGroup?: string): string[] {
  const all = topics.allMachinesFilter();
  return sharedSubscriptionGroup ? [topics.shared(sharedSubscriptionGroup, all), ...RETAINED_MACHINE_FILTERS, topics.fleetState()] : [all, topics.fleetState()];
}

export interface FleetLinkEvents {
  connected: [];
  disconnected: [];
  "invalid-message": [{ topic: string; code: string; message: string }];
}

export class FleetLink extends EventEmitter<FleetLinkEvents> {
  private conn: Connection | undefined;
  private onMessageCb: ((msg: MqttMessage) => void) | undefined;
  private onConnectCb: (() => void) | undefined;
  private seq = 0;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Messages dropped because they failed validation. */
  invalidMessages = 0;
  /** The same, by protocol error code. */
  readonly refused = new Map<string, number>();

  /** No I/O: `start()` connects. */
  constructor(private readonly opts: FleetLinkOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  get connected(): boolean {
    return this.conn?.connected ?? false;
  }

  /** Whether this fleet announces and publishes end-to-end event acknowledgements. */
  get eventAcks(): boolean {
    return this.opts.eventAcks ?? true;
  }

  /**
   * Connects (without waiting for the broker: it retries with backoff), subscribes, and once the broker granted the
   * subscriptions announces `fleet/state` online (its will says offline), so a machine that resends its
   * unacknowledged events on that announcement finds the fleet subscribed. Hands every valid message to
   * `onMessage`. `onConnect` runs on every (re)connection, after the subscriptions were granted and the online
   * state sent: the place to republish what may not have reached the broker.
   */
  async start(onMessage: (msg: MqttMessage) => void, onConnect?: () => void): Promise<void> {
    if (this.conn) return;
    this.onMessageCb = onMessage;
    this.onConnectCb = onConnect;
    this.conn = new Connection({
      broker: this.opts.mqtt,
      clientId: this.opts.clientId ?? "zapvend-fleet",
      clean: this.opts.clean ?? false,
      clock: this.clock,
      logger: this.logger,
      ...this.opts.reconnect,
      will: { topic: topics.fleetState(), payload: Buffer.from(JSON.stringify(this.fleetState("offline"))), qos: 1, retain: true },
    });
    this.conn.client.on("connect", this.onConnect);
    this.conn.client.on("close", this.onClose);
    this.conn.client.on("message", this.onMqttMessage);
  }

  async stop(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    if (conn.connected) await this.publish(topics.fleetState(), this.fleetState("offline"), { qos: 1, retain: true }).catch(() => {});
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

  /**
   * Signs and publishes a command; returns what was sent (with its `rid`). `ctr` must grow for every command (the
   * machine refuses a counter it has seen). `expiresAt` (epoch ms) wins over `ttlMs` (default 30 000) so a caller
   * that recorded the expiry first sends exactly that.
   */
  async sendCommand<N extends CommandName>(
    machineId: string,
    name: N,
    args: CommandArgsOf<N>,
    o: { ctr: number; ttlMs?: number; expiresAt?: number; rid?: string },
  ): Promise<Record<string, unknown>> {
    const checked = parseValue(CommandArgs[name], args);
    if (!checked.ok) throw new BridgeError(BridgeErrorCode.BAD_ARGS, `args.${checked.error.path}: ${checked.error.message}`);
    const key = this.key();
    const now = this.clock.now();
    const signed = signPayload(
      { ...this.envelope({}), name, rid: o.rid ?? randomUUID(), aud: machineId, exp: o.expiresAt ?? now + (o.ttlMs ?? 30_000), ctr: o.ctr, keyId: key.keyId, args: checked.value as Record<string, unknown> },
      key.privateKey,
    );
    await this.publish(topics.command(machineId, name), signed, { qos: 1, retain: false });
    return signed;
  }

  /**
   * Tells a machine which of its events this fleet has committed (QoS 1, not retained): every seq in `from..upTo`
   * and each of `seqs`. Call it only after the store committed them.
   */
  async publishEventAck(machineId: string, ack: Pick<EventAckPayload, "from" | "upTo" | "seqs" | "install">): Promise<void> {
    const install = ack.install !== undefined ? { install: ack.install } : {};
    await this.publish(
      topics.eventAck(machineId),
      this.envelope({ ...install, from: ack.from, upTo: ack.upTo, ...(ack.seqs && ack.seqs.length > 0 ? { seqs: ack.seqs } : {}) }),
      { qos: 1, retain: false },
    );
  }

  /**
   * Signs and publishes (retained) a desired state for `machineId` (signed as `aud`). `install` is the machine's
   * installation id as the fleet last saw it (birth or status); without it (none seen yet) a current machine refuses
   * the state with MISSING_INSTALL, and the fleet publishes it again once it learns the id.
   */
  async publishDesired(machineId: string, desired: Pick<DesiredStatePayload, "version" | "slots" | "mode" | "install" | "products">): Promise<void> {
    const key = this.key();
    const { install, ...body } = desired;
    const signed = signPayload({ ...this.envelope({}), ...body, aud: machineId, ...(install !== undefined ? { install } : {}), keyId: key.keyId }, key.privateKey);
    await this.publish(topics.desired(machineId), signed, { qos: 1, retain: true });
  }

  /**
   * Publishes a catalog picture (issue #18) retained at QoS 1 on `zapvend/v1/pictures/<sha256>`, the payload its raw
   * bytes. Machines check the hash, size and type before storing it, so the payload is not signed.
   */
  publishPicture(sha256: string, bytes: Uint8Array): Promise<void> {
    if (!this.conn) return Promise.reject(new BridgeError(BridgeErrorCode.NOT_RUNNING, "the fleet link is not started"));
    return this.conn.publish(topics.picture(sha256), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { qos: 1, retain: true });
  }

  private key(): { keyId: string; privateKey: KeyObject } {
    if (!this.opts.operatorKey) throw new BridgeError(BridgeErrorCode.BAD_KEY, "no operator key configured: commands and desired states cannot be signed");
    return this.opts.operatorKey;
  }

  private envelope<T extends object>(body: T) {
    const boot = typeof this.opts.boot === "function" ? this.opts.boot() : (this.opts.boot ?? 0);
    return { v: PAYLOAD_VERSION, id: randomUUID(), ts: this.clock.now(), boot, seq: this.seq++, ...body };
  }

  private fleetState(state: "online" | "offline") {
    return this.envelope(this.eventAcks ? { state, acks: true } : { state });
  }

  private readonly onConnect = () => {
    const client = this.conn?.client;
    if (!client) return;
    // Subscribe first, announce online after the SUBACK: machines resend their unacknowledged events when the fleet
    // says online, and those must not reach a broker where this fleet's subscription does not exist yet (an
    // in-memory broker restarted, a clean session).
    client.subscribe(fleetSubscriptions(this.opts.sharedSubscriptionGroup), { qos: 1 }, (err, granted) => {
      if (err) {
        this.logger.error("fleet subscribe failed", { error: err.message });
        return; // the connection is going down: the next connect subscribes again
      }
      // A broker without shared subscriptions refuses the filter (SUBACK 0x80) instead of failing the connection.
      for (const g of granted ?? []) if ((g.qos as number) === 128) this.logger.error("the broker refused a subscription", { filter: g.topic, code: "subscribe_refused" });
      void this.publish(topics.fleetState(), this.fleetState("online"), { qos: 1, retain: true }).catch(() => {});
      this.emit("connected");
      try {
        this.onConnectCb?.();
      } catch (e) {
        this.logger.error("fleet onConnect handler threw", { error: (e as Error).message });
      }
    });
  };

  private readonly onClose = () => {
    this.emit("disconnected");
  };

  private readonly onMqttMessage = (topic: string, payload: Buffer) => {
    // A cleared retained message (empty payload) is not a message; nor is this fleet's own event-ack (or another fleet
    // server's), echoed because the fleet subscribes to the whole machine tree: dropped before any parsing.
    if (payload.length === 0 || topic.endsWith("/event-ack")) return;
    const parsed = parseMqttMessage(topic, payload);
    if (!parsed.ok) {
      this.invalidMessages++;
      this.refused.set(parsed.error.code, (this.refused.get(parsed.error.code) ?? 0) + 1);
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
