// The fleet's MQTT transport over mqtt.js (MQTT 3.1.1, so every broker serves): retained `fleet/state` with a
// will, a persistent session (QoS 1 events queued by the broker while the fleet is down are delivered when it
// returns), every message validated with protocol's `parseMqttMessage` before it goes further.
import { readFileSync } from "node:fs";
import os from "node:os";
import { randomUUID } from "node:crypto";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { PAYLOAD_VERSION, parseMqttMessage, topics, type MqttMessage } from "@zapvend/protocol";
import { silentLogger, systemClock, type Clock, type Logger } from "./clock.js";
import type { FleetLink } from "./link.js";

export interface MqttFleetLinkOptions {
  url: string;
  username?: string;
  password?: string;
  caPath?: string;
  /** Stable across restarts so the broker keeps the session. Default `zapvend-fleet-<hostname>`. */
  clientId?: string;
  /** False keeps the broker session (and the QoS 1 events queued while the fleet is down). Default false. */
  clean?: boolean;
  /** `$share/<group>/...` so several fleet servers split the ingest. */
  sharedGroup?: string;
  /** The fleet's boot counter for the envelope of `fleet/state`. */
  boot?: () => number;
  clock?: Clock;
  log?: Logger;
  /** Reconnect period in ms. Default 2 000. */
  reconnectPeriodMs?: number;
}

export class MqttFleetLink implements FleetLink {
  private client: MqttClient | undefined;
  private seq = 0;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Messages refused at the edge, by protocol error code. */
  readonly refused = new Map<string, number>();

  constructor(private readonly options: MqttFleetLinkOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private statePayload(state: "online" | "offline"): string {
    return JSON.stringify({ v: PAYLOAD_VERSION, id: randomUUID(), ts: this.clock.now(), boot: this.options.boot?.() ?? 0, seq: ++this.seq, state });
  }

  async start(onMessage: (msg: MqttMessage) => void, onConnect?: () => void): Promise<void> {
    const o = this.options;
    const clientOptions: IClientOptions = {
      protocolVersion: 4,
      clientId: o.clientId ?? `zapvend-fleet-${os.hostname().toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 40)}`,
      clean: o.clean ?? false,
      keepalive: 30,
      reconnectPeriod: o.reconnectPeriodMs ?? 2_000,
      connectTimeout: 10_000,
      will: { topic: topics.fleetState(), payload: Buffer.from(this.statePayload("offline")), qos: 1, retain: true },
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.caPath !== undefined ? { ca: readFileSync(o.caPath) } : {}),
    };
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.on("connect", () => {
      this.log("fleet:mqtt", `connected to ${o.url}`);
      // With a shared subscription the broker never delivers retained messages, so the retained topics (status,
      // birth, reported state) are also subscribed plainly: every fleet server knows every machine's state, and
      // applying them twice is harmless (they are ordered by boot and seq).
      const all = topics.allMachinesFilter();
      const subs: Record<string, { qos: 0 | 1 }> = o.sharedGroup
        ? {
            [topics.shared(o.sharedGroup, all)]: { qos: 1 },
            "zapvend/v1/m/+/status": { qos: 1 },
            "zapvend/v1/m/+/birth": { qos: 1 },
            "zapvend/v1/m/+/state/reported": { qos: 1 },
          }
        : { [all]: { qos: 1 } };
      client.subscribe(subs, (err) => {
        if (err) this.log("fleet:mqtt", `subscribe failed: ${err.message}`, { code: "subscribe_failed" });
      });
      client.publish(topics.fleetState(), this.statePayload("online"), { qos: 1, retain: true });
      onConnect?.();
    });
    client.on("reconnect", () => this.log("fleet:mqtt", "reconnecting"));
    client.on("error", (err) => this.log("fleet:mqtt", `error: ${err.message}`));
    client.on("message", (topic, payload) => {
      // A cleared retained message (empty payload) is the broker forgetting, not a machine speaking.
      if (payload.length === 0) return;
      const r = parseMqttMessage(topic, payload);
      if (!r.ok) {
        this.refused.set(r.error.code, (this.refused.get(r.error.code) ?? 0) + 1);
        this.log("fleet:mqtt", `refused a message on ${topic.slice(0, 120)}: ${r.error.code} at ${r.error.path}: ${r.error.message}`, { code: r.error.code });
        return;
      }
      onMessage(r.value);
    });
  }

  publish(topic: string, payload: object, options: { qos: 0 | 1; retain: boolean }): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error("the link is not started"));
    return new Promise((resolve, reject) => {
      client.publish(topic, JSON.stringify(payload), options, (err) => (err ? reject(err) : resolve()));
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    if (client.connected) {
      await new Promise<void>((resolve) => client.publish(topics.fleetState(), this.statePayload("offline"), { qos: 1, retain: true }, () => resolve()));
    }
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }
}
