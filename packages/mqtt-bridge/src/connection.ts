// One MQTT connection with the policies both ends share: MQTT 3.1.1, a persistent session, our own reconnect with
// exponential backoff and jitter on the injected clock (mqtt.js's reconnectPeriod is a fixed period, and a fleet of
// machines reconnecting in lock-step after a broker restart is a thundering herd), TCP_NODELAY.
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Clock, Logger } from "./clock.js";

/** Where and how to connect (protocol's `MqttConfig` satisfies it). */
export interface BrokerConfig {
  /** `mqtt://`, `mqtts://`, `ws://`, `wss://`. */
  url: string;
  username?: string;
  password?: string;
  /** CA certificate file for `mqtts://` to a private CA. */
  caPath?: string;
}

export interface ReconnectOptions {
  /** First reconnect delay in ms. Default 500. */
  minDelayMs?: number;
  /** Largest reconnect delay in ms. Default 30 000. */
  maxDelayMs?: number;
}

export interface ConnectionOptions extends ReconnectOptions {
  broker: BrokerConfig;
  clientId: string;
  /** Persistent session (`clean: false`) unless told otherwise. */
  clean?: boolean;
  will?: IClientOptions["will"];
  clock: Clock;
  logger: Logger;
  /** Returns a number in [0, 1) for the jitter. Default Math.random. */
  random?: () => number;
  /** Keepalive in seconds. Default 30. */
  keepaliveSec?: number;
  /** Give up a connection attempt after this many ms. Default 10 000. */
  connectTimeoutMs?: number;
}

/** Backoff before reconnect attempt `attempt` (0-based): exponential, capped, with "equal jitter" (half fixed, half random). */
export function backoffDelayMs(attempt: number, min: number, max: number, random: () => number): number {
  const base = Math.min(max, min * 2 ** Math.min(attempt, 20));
  return Math.round(base / 2 + (random() * base) / 2);
}

export class Connection {
  readonly client: MqttClient;
  private attempt = 0;
  private timer: unknown;
  private closedByUs = false;

  /** Starts connecting at once (this is `start()`-time I/O, called from the owners' `start()`). */
  constructor(private readonly opts: ConnectionOptions) {
    const ca = opts.broker.caPath ? readFileSync(opts.broker.caPath) : undefined;
    this.client = mqtt.connect(opts.broker.url, {
      clientId: opts.clientId,
      protocolVersion: 4,
      clean: opts.clean ?? false,
      keepalive: opts.keepaliveSec ?? 30,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      // We reconnect ourselves (backoff + jitter on the injected clock).
      reconnectPeriod: 0,
      // Telemetry (QoS 0) is never queued while offline: a stale reading is worse than none.
      queueQoSZero: false,
      resubscribe: true,
      // mqtt-packet otherwise pre-builds a 2-byte Buffer for each of the 65,536 possible numbers (message ids, string
      // lengths) on the first packet written: ~7 MB of heap kept for the process's life, about a tenth of a machine
      // daemon's RSS. Without the cache a 2-byte Buffer is cut from Node's pool per number written, which costs
      // nothing measurable at a machine's or a fleet's message rates. (The setting is mqtt-packet's, process-wide.)
      writeCache: false,
      ...(opts.broker.username !== undefined ? { username: opts.broker.username } : {}),
      ...(opts.broker.password !== undefined ? { password: opts.broker.password } : {}),
      ...(ca ? { ca } : {}),
      ...(opts.will ? { will: opts.will } : {}),
    });
    this.client.on("connect", this.onConnect);
    this.client.on("close", this.onClose);
    // mqtt.js emits 'error' for refused connections and protocol errors; without a listener Node would throw.
    this.client.on("error", this.onError);
  }

  private readonly onConnect = () => {
    this.attempt = 0;
    // Small QoS 1 packets must not wait for Nagle's algorithm: PUBACK round trips bound the outbox flush rate.
    const stream = this.client.stream as Partial<Socket> | undefined;
    stream?.setNoDelay?.(true);
  };

  private readonly onError = (err: Error) => {
    // Once close() began, a publish racing end() fails with "write after end": expected on the way down (the outbox
    // keeps its copy), and not a warning a clean stop should print.
    if (this.closedByUs) {
      this.opts.logger.info("mqtt error while closing", { clientId: this.opts.clientId, error: err.message, code: (err as { code?: unknown }).code });
      return;
    }
    this.opts.logger.warn("mqtt error", { clientId: this.opts.clientId, error: err.message, code: (err as { code?: unknown }).code });
  };

  private readonly onClose = () => {
    if (this.closedByUs || this.timer !== undefined) return;
    const delay = backoffDelayMs(this.attempt++, this.opts.minDelayMs ?? 500, this.opts.maxDelayMs ?? 30_000, this.opts.random ?? Math.random);
    this.opts.logger.info("mqtt disconnected, reconnecting", { clientId: this.opts.clientId, delayMs: delay, attempt: this.attempt });
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      // Hand mqtt.js its own stores back: `reconnect()` without them starts with empty ones, and the QoS 1 messages
      // in flight when the connection dropped would never be resent nor their callbacks called.
      if (!this.closedByUs) this.client.reconnect({ incomingStore: this.client.incomingStore, outgoingStore: this.client.outgoingStore });
    }, delay);
  };

  get connected(): boolean {
    return this.client.connected;
  }

  /** Publishes and resolves on PUBACK (QoS 1) or once written (QoS 0). */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(topic, payload, { qos: opts.qos, retain: opts.retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Closes the connection and stops reconnecting. Connected: sends DISCONNECT (so the broker does not publish the
   * will); QoS 1 messages still unacknowledged are dropped from mqtt.js's memory first, because `end()` would
   * otherwise wait for them forever (the outbox keeps its own copy and resends on the next start). Disconnected:
   * just tears the client down.
   */
  async close(): Promise<void> {
    this.closedByUs = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const connected = this.client.connected;
    if (connected) for (const id of Object.keys(this.client.outgoing)) this.client.removeOutgoingMessage(Number(id));
    await new Promise<void>((resolve) => this.client.end(!connected, {}, () => resolve()));
    this.client.removeListener("connect", this.onConnect);
    this.client.removeListener("close", this.onClose);
    this.client.removeListener("error", this.onError);
    // A late socket error after end() must not crash the host process.
    this.client.on("error", () => {});
  }
}
