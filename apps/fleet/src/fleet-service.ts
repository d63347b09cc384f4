// The fleet's core, without HTTP or MQTT: ingest (batched, idempotent), live change notifications, alerts,
// signed commands and desired state. The HTTP layer and the MQTT link are thin adapters around it.
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  CommandArgs,
  CommandName,
  parseValue,
  type CommandArgsOf,
  type Alert,
  type CommandAccepted,
  type CommandRecord,
  type CommandRequest,
  type DesiredView,
  type MachineSummary,
  type MqttMessage,
  type Sale,
  type TelemetrySample,
} from "@zapvend/protocol";
import { AlertEngine, DEFAULT_ALERT_SETTINGS, type AlertSettings } from "./alerts.js";
import { silentLogger, systemClock, type Clock, type Logger } from "./clock.js";
import { FleetError, FleetErrorCode } from "./errors.js";
import type { FleetLink } from "./link.js";
import type { ApplyOutcome, DesiredEdit, EventRun, FleetStore } from "./store/fleet-store.js";

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
  /** Publishes and signs (the bridge's `FleetLink`). Absent: commands and desired state answer `link_down`. */
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
  /** Telemetry retention (chart samples; sales and events are never pruned). Defaults: 7 days, every hour, 2 000 rows a batch. */
  retention?: Partial<RetentionSettings>;
  /**
   * End-to-end event acknowledgements (when the link announces them): at most one `event-ack` per machine per this
   * many ms, sent right after the commit that stored its events when the last one is older. Default 250.
   */
  eventAckIntervalMs?: number;
}

export interface EventAckStats {
  /** `event-ack` messages handed to the link. */
  published: number;
  /** ... of which the broker refused or the connection lost (the machine resends, the fleet acks again). */
  failed: number;
}

export interface RetentionSettings {
  /** Chart samples older than this are deleted, in ms. Default 7 days. */
  telemetryMs: number;
  /** How often the pruning runs, in ms. Default 1 h (and once right after start). */
  pruneIntervalMs: number;
  /** Rows per delete transaction, so ingest runs between the batches. Default 2 000. */
  batchSize: number;
}

export const DEFAULT_RETENTION: RetentionSettings = { telemetryMs: 7 * 86_400_000, pruneIntervalMs: 3_600_000, batchSize: 2_000 };

export interface RetentionStats {
  runs: number;
  deleted: number;
  lastRunAt: number | null;
  lastDeleted: number;
  lastError: string | null;
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
  private pruneTimer: unknown;
  private pruning: Promise<number> | null = null;
  private pruneAbort: AbortController | undefined;
  readonly retention: RetentionSettings;
  readonly retentionStats: RetentionStats = { runs: 0, deleted: 0, lastRunAt: null, lastDeleted: 0, lastError: null };
  private fleetBoot = 0;
  readonly stats: IngestStats = { received: 0, applied: 0, duplicates: 0, ignored: 0, failed: 0, batches: 0 };
  readonly ackStats: EventAckStats = { published: 0, failed: 0 };
  private readonly eventAckIntervalMs: number;
  /**
   * Per machine, the seqs committed since its last ack, by the installation id the events carried (0: none). An ack
   * counts the seqs of one installation, the machine's current one: another's seqs are another sequence.
   */
  private readonly ackDue = new Map<string, Map<number, Set<number>>>();
  private readonly lastAckAt = new Map<string, number>();
  private ackTimer: unknown;
  private acking: Promise<void> | null = null;
  private ackAgain = false;
  private stopped = false;

  /** No I/O: `start()` migrates the store and starts the timers. */
  constructor(options: FleetServiceOptions) {
    super();
    this.store = options.store;
    this.link = options.link;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.alerts = new AlertEngine(this.store, { ...DEFAULT_ALERT_SETTINGS, ...options.alerts });
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.opts = {
      liveIntervalMs: options.liveIntervalMs ?? 250,
      alertIntervalMs: options.alertIntervalMs ?? 10_000,
      maxBatch: options.maxBatch ?? 1_000,
      defaultCommandTtlMs: options.defaultCommandTtlMs ?? 30_000,
    };
    this.eventAckIntervalMs = options.eventAckIntervalMs ?? 250;
  }

  get boot(): number {
    return this.fleetBoot;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.store.start(this.clock.now());
    this.fleetBoot = await this.store.nextCounter("fleet-boot");
    this.liveTimer = this.clock.setInterval(() => void this.tick(false), this.opts.liveIntervalMs);
    this.alertTimer = this.clock.setInterval(() => void this.tick(true), this.opts.alertIntervalMs);
    this.pruneAbort = new AbortController();
    this.pruneTimer = this.clock.setInterval(() => void this.prune(), this.retention.pruneIntervalMs);
    // Once at start too: a server restarted every night would otherwise never prune.
    void this.prune();
  }

  /** Resolves when no pruning runs (the one begun by `start()` or the timer has finished). */
  async pruned(): Promise<void> {
    while (this.pruning) await this.pruning;
  }

  /**
   * Deletes telemetry older than the retention, in batches that let ingest in between (see
   * `FleetStore.pruneTelemetry`). One run at a time: a call while one runs joins it. Never throws: a failed run is
   * logged and retried at the next interval.
   */
  prune(): Promise<number> {
    if (this.pruning) return this.pruning;
    const startedAt = this.clock.now();
    const cutoff = startedAt - this.retention.telemetryMs;
    this.pruning = (async () => {
      try {
        const n = await this.store.pruneTelemetry(cutoff, { batchSize: this.retention.batchSize, ...(this.pruneAbort ? { signal: this.pruneAbort.signal } : {}) });
        Object.assign(this.retentionStats, { runs: this.retentionStats.runs + 1, deleted: this.retentionStats.deleted + n, lastRunAt: startedAt, lastDeleted: n, lastError: null });
        if (n > 0) this.log("fleet:retention", `deleted ${n} telemetry sample(s) older than ${new Date(cutoff).toISOString()}`, { deleted: n, cutoff });
        return n;
      } catch (err) {
        this.retentionStats.lastError = (err as Error).message;
        this.log("fleet:retention", `pruning failed: ${(err as Error).message}`, { code: FleetErrorCode.STORE_FAILED });
        return 0;
      } finally {
        this.pruning = null;
      }
    })();
    return this.pruning;
  }

  /** Sets the transport once it exists (the link needs the service's `ingest` as its message handler). */
  setLink(link: FleetLink): void {
    this.link = link;
  }

  async stop(): Promise<void> {
    this.clock.clearInterval(this.liveTimer);
    this.clock.clearInterval(this.alertTimer);
    this.clock.clearInterval(this.pruneTimer);
    // A pruning stops between two batches; the rest is deleted at the next start.
    this.pruneAbort?.abort();
    await this.pruning;
    await this.drained();
    await this.ticking;
    this.stopped = true;
    this.clearAckTimer();
    await this.acking;
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
    const acks = this.link?.eventAcks === true;
    for (const o of outcomes) {
      if (acks && o.eventSeq !== undefined && o.machineId) {
        // Committed (new or a redelivery of a stored one): acknowledged to the machine, which then deletes it.
        let byInstall = this.ackDue.get(o.machineId);
        if (!byInstall) this.ackDue.set(o.machineId, (byInstall = new Map()));
        const install = o.eventInstall ?? 0;
        let due = byInstall.get(install);
        if (!due) byInstall.set(install, (due = new Set()));
        due.add(o.eventSeq);
      }
      if (o.reinstalled && o.machineId) {
        // Its database was replaced: boot and seqs restart at 1 under the new installation id (the store switched).
        // No previous id: a new machine, or one whose software sent none before (its boots were compared as before).
        const what = o.reinstalled.previous === null ? "machine installation id recorded" : "machine reinstalled";
        this.log("fleet:ingest", `${what}: ${o.machineId}`, {
          level: "info",
          machineId: o.machineId,
          install: o.reinstalled.install,
          previousInstall: o.reinstalled.previous,
          boot: o.reinstalled.boot,
        });
        // The desired state on the broker is signed for the installation the fleet knew before (or for none): the
        // machine refuses it (WRONG_INSTALL / MISSING_INSTALL). Signed again for the installation it now has.
        this.republishDesired(o.machineId);
      }
      if (o.duplicate) this.stats.duplicates++;
      else if (!o.changed) this.stats.ignored++;
      else this.stats.applied++;
      if (o.changed && o.machineId) this.dirty.add(o.machineId);
      if (o.sale) this.safeEmit("sale", o.sale);
      if (o.command) this.safeEmit("command", o.command);
      if (o.desired && o.machineId) this.safeEmit("desired", o.machineId, o.desired);
      if (o.sample && o.machineId) this.safeEmit("telemetry", o.machineId, o.sample);
    }
    if (this.ackDue.size > 0) this.sendAcks();
    return outcomes;
  }

  // ---------------------------------------------------------------- event acknowledgements

  /**
   * Sends the event acks that are due: to every machine with committed events whose last ack is at least
   * `eventAckIntervalMs` old (`all`: to every machine with committed events), and arms a timer for the others. One
   * run at a time; a call during a run makes it go round again. Never throws.
   */
  sendAcks(all = false): Promise<void> {
    if (this.acking) {
      this.ackAgain = true;
      return this.acking;
    }
    this.acking = (async () => {
      try {
        do {
          this.ackAgain = false;
          await this.sendAcksOnce(all);
        } while (this.ackAgain && !this.stopped);
      } finally {
        this.acking = null;
      }
    })();
    return this.acking;
  }

  private async sendAcksOnce(all: boolean): Promise<void> {
    const link = this.link;
    if (!link?.eventAcks || this.ackDue.size === 0) return;
    const now = this.clock.now();
    const interval = this.eventAckIntervalMs;
    const ready: string[] = [];
    let nextAt = Infinity;
    for (const id of this.ackDue.keys()) {
      const at = (this.lastAckAt.get(id) ?? -Infinity) + interval;
      if (all || at <= now) ready.push(id);
      else nextAt = Math.min(nextAt, at);
    }
    if (ready.length > 0 && !link.connected) {
      // Nothing can be sent now; the link's reconnection (`onConnect`) or the timer tries again.
      nextAt = Math.min(nextAt, now + interval);
    } else if (ready.length > 0) {
      let runs: Map<string, EventRun>;
      try {
        runs = await this.store.contiguousEvents(ready);
      } catch (err) {
        this.log("fleet:ack", `event acks not computed: ${(err as Error).message}`, { code: FleetErrorCode.STORE_FAILED });
        this.armAckTimer(now + interval);
        return;
      }
      for (const id of ready) {
        const run = runs.get(id);
        // Only the current installation's events are acknowledged, in an ack that names it. Events of another (the
        // machine's previous database, or a new one whose birth has not arrived yet) are stored but not acknowledged:
        // an ack of their seqs could reach a machine whose events reuse them. A machine still waiting for one resends
        // it, and the redelivery is acknowledged once its installation is the current one.
        const due = run ? this.ackDue.get(id)?.get(run.install ?? 0) : undefined;
        this.ackDue.delete(id);
        this.lastAckAt.set(id, now);
        if (!run || !due) continue;
        // The contiguous run covers most; what was stored beyond a gap is listed (bounded: the rest is acknowledged
        // again when the machine resends it).
        const beyond = [...due].filter((seq) => seq < run.from || seq > run.upTo).sort((a, b) => a - b).slice(0, 1_000);
        if (run.from > run.upTo && beyond.length === 0) continue;
        this.ackStats.published++;
        const install = run.install !== undefined ? { install: run.install } : {};
        link.publishEventAck(id, { from: run.from, upTo: run.upTo, seqs: beyond, ...install }).catch((err: unknown) => {
          this.ackStats.failed++;
          this.log("fleet:ack", `event ack to ${id} not delivered: ${(err as Error).message}`, { machineId: id, upTo: run.upTo });
        });
      }
    }
    if (nextAt !== Infinity) this.armAckTimer(nextAt);
  }

  private armAckTimer(at: number): void {
    if (this.ackTimer !== undefined || this.stopped) return;
    const delay = Math.max(0, at - this.clock.now());
    const fire = () => {
      this.ackTimer = undefined;
      void this.sendAcks();
    };
    this.ackTimer = this.clock.setTimeout ? this.clock.setTimeout(fire, delay) : setTimeout(fire, delay);
  }

  private clearAckTimer(): void {
    if (this.ackTimer === undefined) return;
    if (this.clock.clearTimeout) this.clock.clearTimeout(this.ackTimer);
    else clearTimeout(this.ackTimer as ReturnType<typeof setTimeout>);
    this.ackTimer = undefined;
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

  /** True while the link to the broker is up (what is published now reaches it). */
  get linkConnected(): boolean {
    return this.link?.connected ?? false;
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
    const expiresAt = now + (req.ttlMs ?? this.opts.defaultCommandTtlMs);
    const record: CommandRecord = { rid, machineId, name: command, args: args.value as Record<string, unknown>, sentAt: now, expiresAt, status: "sent", data: null, error: null, completedAt: null };
    await this.store.insertCommand(record, ctr);
    try {
      // The link signs it (Ed25519 over audience, expiry, counter and args) with the operator key.
      await link.sendCommand(machineId, command, args.value as CommandArgsOf<typeof command>, { ctr, rid, expiresAt });
    } catch (err) {
      await this.store.deleteCommand(rid);
      throw new FleetError(FleetErrorCode.PUBLISH_FAILED, `the command could not be published: ${(err as Error).message}`, 503);
    }
    this.log("fleet:cmd", `sent ${command} to ${machineId}`, { rid, ctr });
    this.safeEmit("command", record);
    return { rid, status: "sent" };
  }

  /** Merges the edit into the machine's desired state, signs it and publishes it retained with the next version. */
  async editDesired(machineId: string, edit: DesiredEdit): Promise<DesiredView> {
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

  /** Publishes a catalog picture, retained, by its hash (issue #18; apps/fleet/src/catalog). */
  async publishPicture(sha256: string, bytes: Uint8Array): Promise<void> {
    const link = this.requireLink();
    await link.publishPicture(sha256, bytes);
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

  /** Signs and publishes the machine's desired state again (if it has one) for its current installation. */
  private republishDesired(machineId: string): void {
    const link = this.link;
    if (!link?.connected) return; // republishPending() runs on the next connection
    void (async () => {
      const d = await this.store.getDesired(machineId);
      if (d) await this.publishDesired(link, machineId, d);
    })().catch((err: unknown) => this.log("fleet:desired", `republish to ${machineId} for its installation failed: ${(err as Error).message}`));
  }

  private async publishDesired(link: FleetLink, machineId: string, d: DesiredView): Promise<void> {
    // Signed for the machine (`aud`) and its installation as last seen: a reflashed machine refuses the state its
    // previous installation was sent. None seen yet: sent without, and again once its birth or status names one.
    const install = await this.store.installOf(machineId);
    try {
      // Retained and signed by the link; a machine that connects later still gets it.
      await link.publishDesired(machineId, {
        version: d.version,
        slots: d.slots,
        ...(d.mode ? { mode: d.mode } : {}),
        ...(d.products ? { products: d.products } : {}),
        ...(install !== null ? { install } : {}),
      });
    } catch (err) {
      throw new FleetError(FleetErrorCode.PUBLISH_FAILED, `desired state v${d.version} is saved but could not be published: ${(err as Error).message}`, 503);
    }
  }
}
