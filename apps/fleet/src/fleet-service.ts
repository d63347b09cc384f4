// The fleet's core, without HTTP or MQTT: ingest (batched, idempotent), live change notifications, alerts,
// signed commands and desired state. The HTTP layer and the MQTT link are thin adapters around it.
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  CommandArgs,
  CommandName,
  PAYLOAD_VERSION,
  parseValue,
  topics,
  type Alert,
  type CommandAccepted,
  type CommandRecord,
  type CommandRequest,
  type DesiredStateEdit,
  type DesiredView,
  type MachineSummary,
  type MqttMessage,
  type Sale,
  type TelemetrySample,
  type UnsignedCommand,
} from "@zapvend/protocol";
import { AlertEngine, DEFAULT_ALERT_SETTINGS, type AlertSettings } from "./alerts.js";
import { silentLogger, systemClock, type Clock, type Logger } from "./clock.js";
import { FleetError, FleetErrorCode } from "./errors.js";
import type { FleetLink } from "./link.js";
import type { OperatorSigner } from "./signer.js";
import type { ApplyOutcome, FleetStore } from "./store/fleet-store.js";

export interface FleetServiceEvents {
  machine: [machine: MachineSummary];
  sale: [sale: Sale];
  alert: [alert: Alert];
  command: [command: CommandRecord];
  desired: [machineId: string, desired: DesiredView];
  telemetry: [machineId: string, sample: TelemetrySample];
  /** A batch could not be stored (the store is down); the messages are logged with the error. */
  error: [error: FleetError];
}

export interface FleetServiceOptions {
  store: FleetStore;
  signer: OperatorSigner;
  /** Absent: commands and desired state answer `link_down`. */
  link?: FleetLink;
  clock?: Clock;
  log?: Logger;
  alerts?: Partial<AlertSettings>;
  /** How often changed machines are pushed to the console and their alerts re-evaluated, in ms. Default 250. */
  liveIntervalMs?: number;
  /** How often every machine's time-based alerts are re-evaluated, in ms. Default 10 000. */
  alertIntervalMs?: number;
  /** Most messages applied in one transaction. Default 1 000 (bigger batches barely add throughput and delay the console). */
  maxBatch?: number;
  /** How long a signed command stays valid when the request does not say, in ms. Default 30 000. */
  defaultCommandTtlMs?: number;
}

export interface IngestStats {
  received: number;
  applied: number;
  duplicates: number;
  ignored: number;
  failed: number;
  batches: number;
}

export class FleetService extends EventEmitter<FleetServiceEvents> {
  readonly store: FleetStore;
  private readonly signer: OperatorSigner;
  private link: FleetLink | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly alerts: AlertEngine;
  private readonly opts: Required<Pick<FleetServiceOptions, "liveIntervalMs" | "alertIntervalMs" | "maxBatch" | "defaultCommandTtlMs">>;
  private queue: MqttMessage[] = [];
  private draining: Promise<void> | null = null;
  private readonly dirty = new Set<string>();
  private liveTimer: unknown;
  private alertTimer: unknown;
  private ticking: Promise<void> | null = null;
  private fleetBoot = 0;
  readonly stats: IngestStats = { received: 0, applied: 0, duplicates: 0, ignored: 0, failed: 0, batches: 0 };

  /** No I/O: `start()` migrates the store and starts the timers. */
  constructor(options: FleetServiceOptions) {
    super();
    this.store = options.store;
    this.signer = options.signer;
    this.link = options.link;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.alerts = new AlertEngine(this.store, { ...DEFAULT_ALERT_SETTINGS, ...options.alerts });
    this.opts = {
      liveIntervalMs: options.liveIntervalMs ?? 250,
      alertIntervalMs: options.alertIntervalMs ?? 10_000,
      maxBatch: options.maxBatch ?? 1_000,
      defaultCommandTtlMs: options.defaultCommandTtlMs ?? 30_000,
    };
  }

  get boot(): number {
    return this.fleetBoot;
  }

  async start(): Promise<void> {
    await this.store.start(this.clock.now());
    this.fleetBoot = await this.store.nextCounter("fleet-boot");
    this.liveTimer = this.clock.setInterval(() => void this.tick(false), this.opts.liveIntervalMs);
    this.alertTimer = this.clock.setInterval(() => void this.tick(true), this.opts.alertIntervalMs);
  }

  /** Sets the transport once it exists (the link needs the service's `ingest` as its message handler). */
  setLink(link: FleetLink): void {
    this.link = link;
  }

  async stop(): Promise<void> {
    this.clock.clearInterval(this.liveTimer);
    this.clock.clearInterval(this.alertTimer);
    await this.drained();
    await this.ticking;
  }

  // ---------------------------------------------------------------- ingest

  /**
   * Queues one validated message. Messages that arrive while a batch is being written form the next batch, so
   * the ingest keeps up under load without a timer: one transaction per burst.
   */
  push(msg: MqttMessage): void {
    this.stats.received++;
    this.queue.push(msg);
    if (!this.draining) this.draining = this.drain();
  }

  /** Resolves when every queued message is stored. */
  async drained(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Applies messages now (tests, the bench) and returns what each changed. */
  async ingest(msgs: readonly MqttMessage[]): Promise<ApplyOutcome[]> {
    this.stats.received += msgs.length;
    return this.applyBatch([...msgs]);
  }

  private async drain(): Promise<void> {
    // Let the rest of this tick's messages join the batch.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.length <= this.opts.maxBatch ? this.queue : this.queue.slice(0, this.opts.maxBatch);
        this.queue = this.queue.length <= this.opts.maxBatch ? [] : this.queue.slice(this.opts.maxBatch);
        await this.applyBatch(batch);
      }
    } finally {
      this.draining = null;
    }
  }

  private async applyBatch(batch: MqttMessage[]): Promise<ApplyOutcome[]> {
    const receivedAt = this.clock.now();
    let outcomes: ApplyOutcome[];
    try {
      outcomes = await this.store.applyBatch(batch.map((msg) => ({ msg, receivedAt })));
    } catch (err) {
      // One bad message must not lose the rest of the batch: retry them one by one and report those that fail.
      outcomes = [];
      for (const msg of batch) {
        try {
          outcomes.push(...(await this.store.applyBatch([{ msg, receivedAt }])));
        } catch (one) {
          this.stats.failed++;
          const e = new FleetError(FleetErrorCode.STORE_FAILED, `could not store ${msg.topic.kind} of ${"machineId" in msg.topic ? msg.topic.machineId : "fleet"}: ${(one as Error).message}`, 500, {
            id: msg.payload.id,
          });
          this.log("fleet:ingest", e.message, { code: e.code, id: msg.payload.id, cause: (err as Error).message });
          this.safeEmit("error", e);
        }
      }
    }
    this.stats.batches++;
    for (const o of outcomes) {
      if (o.duplicate) this.stats.duplicates++;
      else if (!o.changed) this.stats.ignored++;
      else this.stats.applied++;
      if (o.changed && o.machineId) this.dirty.add(o.machineId);
      if (o.sale) this.safeEmit("sale", o.sale);
      if (o.command) this.safeEmit("command", o.command);
      if (o.desired && o.machineId) this.safeEmit("desired", o.machineId, o.desired);
      if (o.sample && o.machineId) this.safeEmit("telemetry", o.machineId, o.sample);
    }
    return outcomes;
  }

  /**
   * Pushes every machine that changed since the last tick (one update per machine, however many messages) and
   * re-evaluates its alerts; on `all`, re-evaluates every machine's alerts (the time-based ones).
   */
  async tick(all: boolean): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = (async () => {
      try {
        const ids = [...this.dirty];
        this.dirty.clear();
        if (ids.length > 0) for (const m of await this.store.getMachines(ids)) this.safeEmit("machine", m);
        const changed = await this.alerts.evaluate(this.clock.now(), all ? undefined : new Set(ids));
        for (const a of changed) this.safeEmit("alert", a);
      } catch (err) {
        this.log("fleet:alerts", `evaluation failed: ${(err as Error).message}`, { code: FleetErrorCode.STORE_FAILED });
      } finally {
        this.ticking = null;
      }
    })();
    return this.ticking;
  }

  private safeEmit<K extends keyof FleetServiceEvents>(event: K, ...args: FleetServiceEvents[K]): void {
    for (const listener of this.listeners(event) as Array<(...a: FleetServiceEvents[K]) => void>) {
      try {
        listener(...args);
      } catch (err) {
        this.log("fleet:events", `a ${event} listener threw: ${(err as Error).message}`);
      }
    }
  }

  // ---------------------------------------------------------------- operator actions

  async acknowledgeAlert(id: string): Promise<Alert> {
    const a = await this.store.acknowledgeAlert(id, this.clock.now());
    if (!a) throw new FleetError(FleetErrorCode.ALERT_NOT_FOUND, `no alert ${id}`, 404);
    this.safeEmit("alert", a);
    return a;
  }

  private async requireMachine(machineId: string): Promise<MachineSummary> {
    const m = await this.store.getMachine(machineId);
    if (!m) throw new FleetError(FleetErrorCode.MACHINE_NOT_FOUND, `no machine ${machineId} has reported to this fleet`, 404);
    return m;
  }

  private requireLink(): FleetLink {
    if (!this.link || !this.link.connected) throw new FleetError(FleetErrorCode.LINK_DOWN, "the fleet is not connected to the broker; nothing was sent", 503);
    return this.link;
  }

  /** Signs and publishes a command. The record is stored first, so a result can never arrive for an unknown rid. */
  async sendCommand(machineId: string, name: string, req: CommandRequest): Promise<CommandAccepted> {
    if (!(Object.values(CommandName) as string[]).includes(name)) {
      throw new FleetError(FleetErrorCode.UNKNOWN_COMMAND, `unknown command "${name}" (known: ${Object.values(CommandName).join(", ")})`, 404);
    }
    const command = name as CommandName;
    const args = parseValue(CommandArgs[command], req.args);
    if (!args.ok) throw new FleetError(args.error.code, `args.${args.error.path}: ${args.error.message}`, 400);
    await this.requireMachine(machineId);
    const link = this.requireLink();
    const now = this.clock.now();
    const ctr = await this.store.nextCounter("command-ctr");
    const rid = randomUUID();
    const unsigned: UnsignedCommand = {
      v: PAYLOAD_VERSION,
      id: randomUUID(),
      ts: now,
      boot: this.fleetBoot,
      seq: ctr,
      name: command,
      rid,
      aud: machineId,
      exp: now + (req.ttlMs ?? this.opts.defaultCommandTtlMs),
      ctr,
      keyId: this.signer.keyId,
      args: args.value as Record<string, unknown>,
    };
    const record: CommandRecord = { rid, machineId, name: command, args: unsigned.args, sentAt: now, expiresAt: unsigned.exp, status: "sent", data: null, error: null, completedAt: null };
    await this.store.insertCommand(record, ctr);
    try {
      await link.publish(topics.command(machineId, command), this.signer.sign(unsigned), { qos: 1, retain: false });
    } catch (err) {
      await this.store.deleteCommand(rid);
      throw new FleetError(FleetErrorCode.PUBLISH_FAILED, `the command could not be published: ${(err as Error).message}`, 503);
    }
    this.log("fleet:cmd", `sent ${command} to ${machineId}`, { rid, ctr });
    this.safeEmit("command", record);
    return { rid, status: "sent" };
  }

  /** Merges the edit into the machine's desired state, signs it and publishes it retained with the next version. */
  async editDesired(machineId: string, edit: DesiredStateEdit): Promise<DesiredView> {
    const machine = await this.requireMachine(machineId);
    const known = new Set(machine.stock.map((s) => s.slot));
    for (const slot of Object.keys(edit.slots ?? {})) {
      if (!known.has(slot)) throw new FleetError(FleetErrorCode.UNKNOWN_SLOT, `${machineId} has no slot ${slot}`, 400);
    }
    const link = this.requireLink();
    const desired = await this.store.updateDesired(machineId, edit, this.clock.now());
    await this.publishDesired(link, machineId, desired);
    this.safeEmit("desired", machineId, desired);
    return desired;
  }

  /** Publishes again every desired state the machine has not reported yet (after a reconnection). */
  async republishPending(): Promise<number> {
    const link = this.link;
    if (!link?.connected) return 0;
    let n = 0;
    for (const machineId of await this.store.machinesWithPendingDesired()) {
      const d = await this.store.getDesired(machineId);
      if (!d?.pending) continue;
      try {
        await this.publishDesired(link, machineId, d);
        n++;
      } catch (err) {
        this.log("fleet:desired", `republish to ${machineId} failed: ${(err as Error).message}`);
      }
    }
    return n;
  }

  private async publishDesired(link: FleetLink, machineId: string, d: DesiredView): Promise<void> {
    const payload = {
      v: PAYLOAD_VERSION,
      id: randomUUID(),
      ts: this.clock.now(),
      boot: this.fleetBoot,
      seq: d.version,
      version: d.version,
      slots: d.slots,
      ...(d.mode ? { mode: d.mode } : {}),
      keyId: this.signer.keyId,
    };
    try {
      await link.publish(topics.desired(machineId), this.signer.sign(payload), { qos: 1, retain: true });
    } catch (err) {
      throw new FleetError(FleetErrorCode.PUBLISH_FAILED, `desired state v${d.version} is saved but could not be published: ${(err as Error).message}`, 503);
    }
  }
}
