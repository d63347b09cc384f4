// Live console updates across several fleet servers (issue #18). With a shared subscription (`$share/<group>/...`)
// the broker hands each machine message to one server only, so a console connected to another server would never
// see that sale, that telemetry, that alert. Every server therefore republishes what its own service emitted
// (machine, sale, alert, command, desired, telemetry) on `zapvend/v1/fleet/live`, and hands what the others
// published to its WebSocket clients.
//
// Why the broker and not PostgreSQL LISTEN/NOTIFY: every fleet server already holds a broker connection and
// mqtt.js reconnects and resubscribes by itself; a NOTIFY payload is limited to 8000 bytes (a machine summary of a
// 60-slot machine is larger, so it would need a second round trip to the store), LISTEN needs a dedicated session
// that PgBouncer's transaction pooling does not provide, and NOTIFY turns every telemetry sample into a database
// round trip on the store the ingest already loads. The broker's ACL gives the topic to the fleet user only
// (hardware/broker/zapvend.acl), so a machine can neither write nor read it.
//
// QoS 0, not retained: a live update lost while the broker is away is not worth replaying (a console that
// reconnects gets the whole picture in its `hello` from the store). Messages are validated with protocol before a
// console sees them, exactly like the ones from the local service.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import { FleetWsMessage, parseValue, type MqttConfig } from "@zapvend/protocol";
import { silentLogger, type Logger } from "../clock.js";
import type { FleetService } from "../fleet-service.js";

export const LIVE_TOPIC = "zapvend/v1/fleet/live";

/** What goes on the wire: who sent it (a server ignores its own) and the console message. */
interface LiveEnvelope {
  v: 1;
  origin: string;
  msg: FleetWsMessage;
}

export interface LiveRelayOptions {
  mqtt: Pick<MqttConfig, "url" | "username" | "password" | "caPath">;
  log?: Logger;
  /** This server's id on the relay; default a random one per process. */
  serverId?: string;
  /** Whether anyone would see a remote message (the HTTP server's WebSocket clients): when not, it is not parsed. */
  wanted?: () => boolean;
}

export interface LiveRelayStats {
  published: number;
  received: number;
  /** Remote messages that failed protocol's validation (logged). */
  refused: number;
}

type LiveEvent = "machine" | "sale" | "alert" | "command" | "desired" | "telemetry";

export class LiveRelay {
  readonly serverId: string;
  readonly stats: LiveRelayStats = { published: 0, received: 0, refused: 0 };
  private client: MqttClient | undefined;
  private readonly log: Logger;
  private readonly detach: Array<() => void> = [];
  private onRemote: ((msg: FleetWsMessage) => void) | undefined;

  /** No I/O: `start()` connects. */
  constructor(private readonly o: LiveRelayOptions) {
    this.serverId = o.serverId ?? randomUUID();
    this.log = o.log ?? silentLogger;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /**
   * Subscribes to the service's live events (republished) and connects; resolves once subscribed, or at once when the
   * broker is unreachable (mqtt.js keeps retrying and subscribes again on every connection).
   */
  async start(service: FleetService, onRemote: (msg: FleetWsMessage) => void): Promise<void> {
    this.onRemote = onRemote;
    const on = (event: LiveEvent, fn: (...a: never[]) => void) => {
      service.on(event, fn as never);
      this.detach.push(() => service.off(event, fn as never));
    };
    on("machine", (machine: never) => this.publish({ type: "machine", machine }));
    on("sale", (sale: never) => this.publish({ type: "sale", sale }));
    on("alert", (alert: never) => this.publish({ type: "alert", alert }));
    on("command", (command: never) => this.publish({ type: "command", command }));
    on("desired", (machineId: never, desired: never) => this.publish({ type: "desired", machineId, desired }));
    on("telemetry", (machineId: never, sample: never) => this.publish({ type: "telemetry", machineId, sample }));

    const b = this.o.mqtt;
    const client = mqtt.connect(b.url, {
      clientId: `zapvend-fleet-live-${this.serverId.slice(0, 12)}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      queueQoSZero: false,
      resubscribe: true,
      ...(b.username !== undefined ? { username: b.username } : {}),
      ...(b.password !== undefined ? { password: b.password } : {}),
      ...(b.caPath ? { ca: readFileSync(b.caPath) } : {}),
    });
    this.client = client;
    client.on("error", (err) => this.log("fleet:live", `relay connection error: ${err.message}`, { level: "warn" }));
    client.on("message", (topic, payload) => this.receive(topic, payload));
    await new Promise<void>((resolve) => {
      const done = () => {
        client.off("connect", onConnect);
        client.off("close", done);
        resolve();
      };
      const onConnect = () => {
        // Small QoS 0 packets must not wait for Nagle's algorithm (tens to hundreds of ms per update).
        (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
        client.subscribe(LIVE_TOPIC, { qos: 0 }, (err, granted) => {
          if (err || granted?.some((g) => g.qos === 128)) this.log("fleet:live", `the broker refused ${LIVE_TOPIC} (check the fleet user's ACL)`, { level: "error", code: "subscribe_refused" });
          done();
        });
      };
      client.on("connect", onConnect);
      // First attempt failed: do not hold up the server's start (the HTTP API works without the broker).
      client.once("close", done);
    });
  }

  async stop(): Promise<void> {
    for (const d of this.detach.splice(0)) d();
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true).catch(() => {});
  }

  private publish(msg: FleetWsMessage): void {
    const c = this.client;
    if (!c?.connected) return;
    const env: LiveEnvelope = { v: 1, origin: this.serverId, msg };
    this.stats.published++;
    c.publish(LIVE_TOPIC, JSON.stringify(env), { qos: 0, retain: false }, (err) => {
      if (err) this.log("fleet:live", `live update not published: ${err.message}`, { level: "warn", type: msg.type });
    });
  }

  private receive(topic: string, payload: Buffer): void {
    if (topic !== LIVE_TOPIC) return;
    // Cheap check first: our own messages come back too (MQTT 3.1.1 has no "no local").
    const text = payload.toString("utf8");
    if (text.includes(`"origin":${JSON.stringify(this.serverId)}`)) return;
    if (this.o.wanted && !this.o.wanted()) return;
    let env: Partial<LiveEnvelope>;
    try {
      env = JSON.parse(text) as Partial<LiveEnvelope>;
    } catch {
      env = {};
    }
    if (env.origin === this.serverId) return;
    const parsed = env.v === 1 && env.msg !== undefined ? parseValue(FleetWsMessage, env.msg) : null;
    if (!parsed?.ok || parsed.value.type === "hello") {
      this.stats.refused++;
      this.log("fleet:live", "refused a live update that is not a console message", { level: "warn", code: parsed && !parsed.ok ? parsed.error.code : "bad_envelope" });
      return;
    }
    this.stats.received++;
    try {
      this.onRemote?.(parsed.value);
    } catch (err) {
      this.log("fleet:live", `a live update listener threw: ${(err as Error).message}`, { level: "error" });
    }
  }
}
