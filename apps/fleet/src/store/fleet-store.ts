// The fleet's repository: every read and write of the fleet's data, written once over `SqlDb` so SQLite and
// PostgreSQL behave the same (one contract suite runs over both). Ingest is idempotent by construction: an event
// is keyed by (machine, event id) and every derived row (ledger, counters, stock) is written only when that key
// was new; status, birth and reported state are ordered by the machine's (boot, seq), not by arrival, within one
// installation of the machine's database (protocol's `install`): a new installation id on a birth or status is a
// reinstalled machine, whose boots and seqs restart at 1.
import type {
  Alert,
  AlertKind,
  BirthPayload,
  CodedError,
  CommandRecord,
  CommandResultPayload,
  DesiredStateEdit,
  DesiredView,
  EventPayload,
  MachineSummary,
  MqttMessage,
  ReconciliationEntry,
  ReportedStatePayload,
  Sale,
  SalesReportRow,
  SeqGap,
  SlotView,
  StatusPayload,
  StoredEvent,
  TelemetryPayload,
  TelemetrySample,
} from "@zapvend/protocol";
import { big, num, numOrNull, str, strOrNull, type Row, type SqlDb, type SqlExecutor } from "./db.js";
import { migrate } from "./migrations.js";
import { localDayDate, offsetSpans, type OffsetSpan } from "../periods.js";

export interface FleetStoreOptions {
  /** Keep at most one telemetry sample per machine per this many ms for the charts. Default 60 000. */
  telemetrySampleMs?: number;
}

/** What applying one message changed, so the server can push exactly that to the console. */
export interface ApplyOutcome {
  machineId: string | null;
  /** False when the message changed nothing: a redelivered event, a stale status, the fleet's own echo. */
  changed: boolean;
  /** Set for a redelivered event (same machine and id as one already stored). */
  duplicate?: boolean;
  /** The seq of an event that is now stored (new or a redelivery): what the fleet acknowledges to the machine. */
  eventSeq?: number;
  /** With `eventSeq`: the installation id the event carried (null: none). An ack counts one installation's seqs. */
  eventInstall?: number | null;
  /** Set when a birth or status carried a new installation id: the machine's database was replaced. */
  reinstalled?: { previous: number | null; install: number; boot: number };
  /** Why a message was ignored (stale `lost`, older boot, ...). */
  ignored?: string;
  sale?: Sale;
  command?: CommandRecord;
  desired?: DesiredView;
  sample?: TelemetrySample;
}

export interface SalesFilter {
  machineId?: string;
  /** Inclusive, epoch ms. */
  fromMs?: number;
  /** Exclusive, epoch ms. */
  toMs?: number;
  limit?: number;
}

export interface NewAlert {
  machineId: string;
  kind: AlertKind;
  /** What the alert is about within the machine (a slot for low stock), "" otherwise. */
  subject: string;
  severity: Alert["severity"];
  message: string;
}

export interface OpenAlert extends Alert {
  subject: string;
}

/** Machine columns the alert engine needs. */
export interface MachineHealth {
  id: string;
  status: MachineSummary["status"];
  statusChangedAt: number | null;
  lastSeen: number;
  firstSeen: number;
  temperatureC: number | null;
  door: "open" | "closed" | null;
  payments: string | null;
  vendFailuresInARow: number;
  lastSaleAt: number | null;
  missingEvents: number;
  mode: string | null;
  slots: Array<{ slot: string; name: string; stock: number; enabled: boolean }>;
}

/**
 * The contiguous run of committed event seqs of a machine's current installation (`from > upTo`: none stored yet),
 * and that installation's id when the machine sends one.
 */
export interface EventRun {
  from: number;
  upTo: number;
  install?: number;
}

export interface DexSlotCounter {
  slot: string;
  /** The VMC's selection id of an MDB machine's slot ("S12" → 12): the product identifier a VMC's DEX uses. */
  selection?: number;
  name: string;
  price: SlotView["price"] | null;
  vends: number;
  valueMsat: bigint;
}

const DAY_MS = 86_400_000;

function json<T>(v: unknown): T {
  return JSON.parse(str(v)) as T;
}
function jsonOrNull<T>(v: unknown): T | null {
  return v === null || v === undefined ? null : json<T>(v);
}

/** A slot of a desired-state edit: the console's fields, and the catalog's product (null clears it). */
export type DesiredEditSlot = NonNullable<DesiredStateEdit["slots"]>[string] & { product?: string | null };
/**
 * What `updateDesired` merges: the console's edit (`DesiredStateEdit`), plus from the catalog (issue #18) a slot's
 * product and the whole `products` map (replacing the previous one when given).
 */
export type DesiredEdit = Omit<DesiredStateEdit, "slots"> & { slots?: Record<string, DesiredEditSlot>; products?: DesiredView["products"] };

export class FleetStore {
  private readonly sampleMs: number;
  private readonly greatest: string;
  /**
   * Machines whose row is committed: the hot paths (telemetry, events) then fold `last_seen` into their one
   * UPDATE instead of an upsert first. Rows are never deleted, so the cache cannot go stale; rows created in a
   * batch join it only once that batch committed.
   */
  private readonly known = new Set<string>();
  private createdInBatch = new Set<string>();
  /**
   * The last contiguous run of event seqs computed per machine (`contiguousEvents`), where its next walk starts; only
   * valid for the same installation (another fleet server sharing the database may switch it).
   */
  private readonly contiguous = new Map<string, { from: number; upTo: number; install: number | null }>();
  /** Last chart sample per machine (loaded from the table on first use). */
  private readonly lastSample = new Map<string, number>();

  /** No I/O here: `start()` migrates. */
  constructor(
    readonly db: SqlDb,
    options: FleetStoreOptions = {},
  ) {
    this.sampleMs = options.telemetrySampleMs ?? 60_000;
    this.greatest = db.dialect === "postgres" ? "GREATEST" : "MAX";
  }

  async start(nowMs: number): Promise<void> {
    await migrate(this.db, nowMs);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** A counter that only goes up and survives restarts (the command counter `ctr`, the fleet's boot). */
  async nextCounter(key: string): Promise<number> {
    const rows = await this.db.transaction((tx) =>
      tx.all("INSERT INTO meta (key, value) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET value = meta.value + 1 RETURNING value", [key]),
    );
    return num(rows[0]!.value);
  }

  // ---------------------------------------------------------------- ingest

  /** Applies already-validated messages in one transaction, in order. */
  async applyBatch(items: ReadonlyArray<{ msg: MqttMessage; receivedAt: number }>): Promise<ApplyOutcome[]> {
    const created = new Set<string>();
    const out = await this.db.transaction(async (tx) => {
      this.createdInBatch = created;
      const results: ApplyOutcome[] = [];
      for (const { msg, receivedAt } of items) results.push(await this.applyOne(tx, msg, receivedAt));
      return results;
    });
    for (const id of created) this.known.add(id);
    return out;
  }

  private isKnown(machineId: string): boolean {
    return this.known.has(machineId) || this.createdInBatch.has(machineId);
  }

  private async applyOne(tx: SqlExecutor, msg: MqttMessage, receivedAt: number): Promise<ApplyOutcome> {
    switch (msg.topic.kind) {
      case "fleet-state":
      case "desired":
      case "command":
      case "event-ack":
        // The fleet's own publications, echoed by the broker because the fleet subscribes to the whole tree.
        return { machineId: "machineId" in msg.topic ? msg.topic.machineId : null, changed: false, ignored: "fleet's own message" };
      case "status":
        return this.applyStatus(tx, msg.topic.machineId, msg.payload as StatusPayload, receivedAt);
      case "birth":
        return this.applyBirth(tx, msg.topic.machineId, msg.payload as BirthPayload, receivedAt);
      case "telemetry":
        return this.applyTelemetry(tx, msg.topic.machineId, msg.payload as TelemetryPayload, receivedAt);
      case "event":
        return this.applyEvent(tx, msg.topic.machineId, msg.payload as EventPayload, receivedAt);
      case "reported":
        return this.applyReported(tx, msg.topic.machineId, msg.payload as ReportedStatePayload, receivedAt);
      case "command-result": {
        const p = msg.payload as CommandResultPayload;
        await this.touch(tx, msg.topic.machineId, receivedAt);
        const rows = await tx.all(
          "UPDATE commands SET status = ?, data = ?, error = ?, completed_at = ? WHERE rid = ? AND machine_id = ? AND status = 'sent' RETURNING *",
          [p.status, p.data ? JSON.stringify(p.data) : null, p.error ? JSON.stringify(p.error) : null, receivedAt, p.rid, msg.topic.machineId],
        );
        const row = rows[0];
        if (!row) return { machineId: msg.topic.machineId, changed: false, duplicate: true, ignored: "result of an unknown or already answered command" };
        return { machineId: msg.topic.machineId, changed: true, command: commandFromRow(row) };
      }
    }
  }

  /** Creates the machine row on first contact and moves `last_seen` forward (never back). */
  private async touch(tx: SqlExecutor, machineId: string, receivedAt: number): Promise<void> {
    await tx.run(
      `INSERT INTO machines (id, first_seen, last_seen) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET last_seen = ${this.greatest}(machines.last_seen, excluded.last_seen)`,
      [machineId, receivedAt, receivedAt],
    );
    this.createdInBatch.add(machineId);
  }

  private async applyStatus(tx: SqlExecutor, machineId: string, p: StatusPayload, receivedAt: number): Promise<ApplyOutcome> {
    // The broker publishes a "lost" will on the machine's behalf: it says nothing about the machine being seen.
    if (p.state === "lost") {
      await tx.run("INSERT INTO machines (id, first_seen, last_seen) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", [machineId, receivedAt, receivedAt]);
    } else {
      await this.touch(tx, machineId, receivedAt);
    }
    const row = (await tx.all("SELECT status, status_boot, status_seq, birth_boot, install FROM machines WHERE id = ?", [machineId]))[0]!;
    let curBoot = numOrNull(row.status_boot);
    let birthBoot = numOrNull(row.birth_boot);
    let reinstalled: ApplyOutcome["reinstalled"];
    const curInstall = numOrNull(row.install);
    if (p.install !== undefined && p.install !== curInstall) {
      if (p.state === "lost") {
        // The will of the machine's previous installation, delivered after the new one took over: it says nothing
        // about the machine as it is now. (With no installation known yet it is taken by boot, as before.)
        if (curInstall !== null) return { machineId, changed: false, ignored: `lost of installation ${p.install}, not of the current installation ${curInstall}` };
      } else {
        reinstalled = await this.switchInstallation(tx, machineId, curInstall, p.install, p.boot);
        curBoot = null;
        birthBoot = null;
      }
    }
    const newestBoot = Math.max(curBoot ?? -1, birthBoot ?? -1);
    if (p.state === "lost") {
      // DESIGN.md: a "lost" whose boot is older than the current birth is ignored — the will of a previous run
      // that the broker delivered after the machine had already restarted.
      if (p.boot < newestBoot) return { machineId, changed: false, ignored: `lost of boot ${p.boot} is older than boot ${newestBoot}` };
      // The will was registered at connect time, so its seq is older than later statuses of the same boot.
    } else if (curBoot !== null && (p.boot < curBoot || (p.boot === curBoot && p.seq < num(row.status_seq ?? 0)))) {
      return { machineId, changed: false, ignored: `status (boot ${p.boot}, seq ${p.seq}) is older than the current one` };
    }
    const changedState = str(row.status) !== p.state || curBoot !== p.boot || reinstalled !== undefined;
    // Within one boot the highest seq is kept, so a late will (older seq) never lets an older status back in.
    const statusSeq = curBoot === p.boot ? Math.max(num(row.status_seq ?? 0), p.seq) : p.seq;
    await tx.run(
      "UPDATE machines SET status = ?, status_boot = ?, status_seq = ?, status_changed_at = CASE WHEN ? = 1 THEN ? ELSE status_changed_at END WHERE id = ?",
      [p.state, p.boot, statusSeq, changedState ? 1 : 0, receivedAt, machineId],
    );
    return { machineId, changed: changedState, ...(reinstalled ? { reinstalled } : {}) };
  }

  /**
   * The machine's database was replaced (a birth or status with another installation id): its boots and seqs restart
   * at 1. Switches to the new installation and forgets the old one's ordering baseline (status and birth boots,
   * reported version) and event gap counters, which are recomputed over the events of the new installation already
   * stored (one may have arrived before its birth). The old installation's events and sales stay.
   */
  private async switchInstallation(tx: SqlExecutor, machineId: string, previous: number | null, install: number, boot: number): Promise<NonNullable<ApplyOutcome["reinstalled"]>> {
    const r = (await tx.all("SELECT MIN(seq) AS lo, MAX(seq) AS hi, COUNT(*) AS n FROM events WHERE machine_id = ? AND install = ?", [machineId, install]))[0]!;
    await tx.run(
      `UPDATE machines SET install = ?, status_boot = NULL, status_seq = NULL, birth_boot = NULL, reported_version = NULL,
         event_min_seq = ?, event_max_seq = ?, event_count = ? WHERE id = ?`,
      [install, numOrNull(r.lo), numOrNull(r.hi), num(r.n), machineId],
    );
    this.contiguous.delete(machineId);
    return { previous, install, boot };
  }

  private async applyBirth(tx: SqlExecutor, machineId: string, p: BirthPayload, receivedAt: number): Promise<ApplyOutcome> {
    await this.touch(tx, machineId, receivedAt);
    const row = (await tx.all("SELECT birth_boot, install FROM machines WHERE id = ?", [machineId]))[0]!;
    let birthBoot = numOrNull(row.birth_boot);
    let reinstalled: ApplyOutcome["reinstalled"];
    const curInstall = numOrNull(row.install);
    if (p.install !== undefined && p.install !== curInstall) {
      reinstalled = await this.switchInstallation(tx, machineId, curInstall, p.install, p.boot);
      birthBoot = null;
    }
    if (birthBoot !== null && p.boot < birthBoot) return { machineId, changed: false, ignored: `birth of boot ${p.boot} is older than boot ${birthBoot}` };
    await tx.run("UPDATE machines SET birth_boot = ?, model = ?, software_version = ?, capabilities = ? WHERE id = ?", [
      p.boot,
      p.model,
      p.softwareVersion,
      JSON.stringify({ ...p.capabilities, configVersions: p.configVersions }),
      machineId,
    ]);
    await tx.run("DELETE FROM slots WHERE machine_id = ?", [machineId]);
    for (const s of p.slots) {
      await tx.run("INSERT INTO slots (machine_id, slot, name, kind, capacity, stock, price_json, enabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        machineId,
        s.slot,
        s.name,
        s.kind,
        s.capacity,
        s.stock,
        JSON.stringify(s.price),
        s.enabled ? 1 : 0,
      ]);
    }
    return { machineId, changed: true, ...(reinstalled ? { reinstalled } : {}) };
  }

  private async applyTelemetry(tx: SqlExecutor, machineId: string, p: TelemetryPayload, receivedAt: number): Promise<ApplyOutcome> {
    if (!this.isKnown(machineId)) await this.touch(tx, machineId, receivedAt);
    // QoS 0 can arrive out of order after a reconnect: an older reading never overwrites a newer one.
    const upd = await tx.run(
      `UPDATE machines SET temperature_c = ?, door = ?, payments = ?, hardware = ?, uptime_ms = ?, rss_mb = ?, telemetry_at = ?,
         last_seen = ${this.greatest}(last_seen, ?) WHERE id = ? AND (telemetry_at IS NULL OR telemetry_at <= ?)`,
      [p.temperatureC, p.door, p.payments, p.hardware, p.uptimeMs, p.rssMb, p.ts, receivedAt, machineId, p.ts],
    );
    if (upd.changes === 0) {
      await this.touch(tx, machineId, receivedAt);
      return { machineId, changed: false, ignored: "telemetry older than the last one" };
    }
    for (const s of p.stock) {
      await tx.run("UPDATE slots SET stock = ? WHERE machine_id = ? AND slot = ? AND stock <> ?", [s.stock, machineId, s.slot, s.stock]);
    }
    const sample: TelemetrySample = { ts: p.ts, temperatureC: p.temperatureC, door: p.door, payments: p.payments, hardware: p.hardware, rssMb: p.rssMb };
    let lastSample = this.lastSample.get(machineId);
    if (lastSample === undefined) {
      const r = (await tx.all("SELECT MAX(ts) AS ts FROM telemetry WHERE machine_id = ?", [machineId]))[0];
      lastSample = numOrNull(r?.ts) ?? Number.NEGATIVE_INFINITY;
    }
    if (p.ts - lastSample >= this.sampleMs) {
      await tx.run("INSERT INTO telemetry (machine_id, ts, temperature_c, door, payments, hardware, rss_mb) VALUES (?, ?, ?, ?, ?, ?, ?)", [
        machineId,
        p.ts,
        p.temperatureC,
        p.door,
        p.payments,
        p.hardware,
        p.rssMb,
      ]);
      lastSample = p.ts;
    }
    this.lastSample.set(machineId, lastSample);
    return { machineId, changed: true, sample };
  }

  private async applyEvent(tx: SqlExecutor, machineId: string, p: EventPayload, receivedAt: number): Promise<ApplyOutcome> {
    if (!this.isKnown(machineId)) await this.touch(tx, machineId, receivedAt);
    const { v: _v, id, ts, boot, seq, install: _install, ...body } = p;
    const install = p.install ?? null;
    // Always stored (deduped by id only): a sale of any installation is a sale.
    const ins = await tx.run(
      "INSERT INTO events (machine_id, event_id, seq, boot, type, ts, received_at, body, install) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine_id, event_id) DO NOTHING",
      [machineId, id, seq, boot, p.type, ts, receivedAt, JSON.stringify(body), install],
    );
    if (ins.changes === 0) return { machineId, changed: false, duplicate: true, eventSeq: seq, eventInstall: install };
    // Gap detection: with the lowest and highest seq seen and how many arrived, the missing count is exact
    // without reading the events back; the ranges themselves are computed on demand (`gaps()`). Only events of the
    // machine's current installation count (another installation's seqs are another sequence; 0 stands for none).
    // One UPDATE also carries `last_seen` and what the event type changes on the machine.
    const extra =
      p.type === "sale"
        ? `, vend_failures_in_a_row = 0, last_sale_at = ${this.greatest}(COALESCE(last_sale_at, 0), ?)`
        : p.type === "vend-failed"
          ? ", vend_failures_in_a_row = vend_failures_in_a_row + 1"
          : "";
    const inst = install ?? 0;
    await tx.run(
      `UPDATE machines SET last_seen = ${this.greatest}(last_seen, ?),
        event_count = CASE WHEN COALESCE(install, 0) = ? THEN event_count + 1 ELSE event_count END,
        event_min_seq = CASE WHEN COALESCE(install, 0) <> ? THEN event_min_seq WHEN event_min_seq IS NULL OR ? < event_min_seq THEN ? ELSE event_min_seq END,
        event_max_seq = CASE WHEN COALESCE(install, 0) <> ? THEN event_max_seq WHEN event_max_seq IS NULL OR ? > event_max_seq THEN ? ELSE event_max_seq END${extra}
       WHERE id = ?`,
      p.type === "sale" ? [receivedAt, inst, inst, seq, seq, inst, seq, seq, p.settledAt, machineId] : [receivedAt, inst, inst, seq, seq, inst, seq, seq, machineId],
    );
    const out: ApplyOutcome = { machineId, changed: true, eventSeq: seq, eventInstall: install };
    switch (p.type) {
      case "sale": {
        await tx.run(
          `INSERT INTO ledger (machine_id, event_id, seq, kind, order_id, slot, product_name, amount_msat, fiat_currency, fiat_minor, payment_hash, hold, evidence, state, at)
           VALUES (?, ?, ?, 'sale', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine_id, event_id) DO NOTHING`,
          [machineId, id, seq, p.orderId, p.slot, p.productName, BigInt(p.amountMsat), p.fiat?.currency ?? null, p.fiat?.amountMinor ?? null, p.paymentHash, p.hold ? 1 : 0, JSON.stringify(p.evidence), p.hold ? "settled" : "paid", p.settledAt],
        );
        await this.decrementIfNewer(tx, machineId, p.slot, ts);
        out.sale = {
          machineId,
          eventId: id,
          seq,
          orderId: p.orderId,
          slot: p.slot,
          productName: p.productName,
          amountMsat: p.amountMsat,
          fiat: p.fiat,
          paymentHash: p.paymentHash,
          hold: p.hold,
          evidence: p.evidence,
          settledAt: p.settledAt,
        };
        break;
      }
      case "refund":
      case "credit":
        await tx.run(
          `INSERT INTO ledger (machine_id, event_id, seq, kind, order_id, slot, amount_msat, payment_hash, state, at, reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine_id, event_id) DO NOTHING`,
          [machineId, id, seq, p.type, p.orderId, p.slot, BigInt(p.amountMsat), p.paymentHash, p.type === "refund" ? "refunded" : "credited", ts, JSON.stringify(p.reason)],
        );
        break;
      case "vend-failed":
        break;
      case "fault":
        if (p.active) {
          await tx.run(
            "INSERT INTO faults (machine_id, code, message, severity, since) VALUES (?, ?, ?, ?, ?) ON CONFLICT (machine_id, code) DO UPDATE SET message = excluded.message, severity = excluded.severity",
            [machineId, p.fault.code, p.fault.message, p.severity, ts],
          );
        } else {
          await tx.run("DELETE FROM faults WHERE machine_id = ? AND code = ? AND since <= ?", [machineId, p.fault.code, ts]);
        }
        break;
      case "door":
        await tx.run("UPDATE machines SET door = ? WHERE id = ? AND (telemetry_at IS NULL OR telemetry_at <= ?)", [p.open ? "open" : "closed", machineId, ts]);
        break;
      case "restock":
        await tx.run("UPDATE slots SET stock = ? WHERE machine_id = ? AND slot = ?", [p.stock, machineId, p.slot]);
        break;
    }
    return out;
  }

  /** A sale takes one unit, unless a telemetry reading newer than the sale already counted it. */
  private async decrementIfNewer(tx: SqlExecutor, machineId: string, slot: string, eventTs: number): Promise<void> {
    await tx.run(
      `UPDATE slots SET stock = stock - 1 WHERE machine_id = ? AND slot = ? AND stock > 0
         AND COALESCE((SELECT telemetry_at FROM machines WHERE id = ?), -1) < ?`,
      [machineId, slot, machineId, eventTs],
    );
  }

  private async applyReported(tx: SqlExecutor, machineId: string, p: ReportedStatePayload, receivedAt: number): Promise<ApplyOutcome> {
    await this.touch(tx, machineId, receivedAt);
    const row = (await tx.all("SELECT reported_version FROM machines WHERE id = ?", [machineId]))[0]!;
    const prev = numOrNull(row.reported_version);
    if (prev !== null && p.version < prev) return { machineId, changed: false, ignored: `reported version ${p.version} is older than ${prev}` };
    await tx.run("UPDATE machines SET reported_version = ?, reported_status = ?, reported_error = ?, reported_json = ?, mode = ? WHERE id = ?", [
      p.version,
      p.status,
      p.error ? JSON.stringify(p.error) : null,
      JSON.stringify(p.slots),
      p.mode,
      machineId,
    ]);
    if (p.status === "applied") {
      for (const [slot, s] of Object.entries(p.slots)) {
        await tx.run("UPDATE slots SET price_json = ?, enabled = ? WHERE machine_id = ? AND slot = ?", [JSON.stringify(s.price), s.enabled ? 1 : 0, machineId, slot]);
      }
    }
    const desired = await this.desiredWith(tx, machineId);
    return { machineId, changed: true, ...(desired ? { desired } : {}) };
  }

  // ---------------------------------------------------------------- machines

  async listMachines(): Promise<MachineSummary[]> {
    return this.summaries(await this.db.all("SELECT * FROM machines ORDER BY id"), undefined);
  }

  async getMachine(machineId: string): Promise<MachineSummary | null> {
    const rows = await this.db.all("SELECT * FROM machines WHERE id = ?", [machineId]);
    return (await this.summaries(rows, machineId))[0] ?? null;
  }

  async getMachines(ids: readonly string[]): Promise<MachineSummary[]> {
    const out: MachineSummary[] = [];
    for (const chunk of chunks(ids)) {
      const list = chunk ?? [];
      const rows = await this.db.all(`SELECT * FROM machines WHERE id IN (${list.map(() => "?").join(", ")}) ORDER BY id`, list);
      out.push(...(await this.summaries(rows, list)));
    }
    return out;
  }

  private async summaries(rows: Row[], machineIds: string | readonly string[] | undefined): Promise<MachineSummary[]> {
    const ids = typeof machineIds === "string" ? [machineIds] : machineIds;
    const where = ids === undefined ? "" : ` WHERE machine_id IN (${ids.map(() => "?").join(", ")})`;
    const params = ids ?? [];
    const slots = await this.db.all(`SELECT machine_id, slot, name, stock, capacity FROM slots${where} ORDER BY machine_id, slot`, params);
    const faults = await this.db.all(`SELECT machine_id, code, message FROM faults${where} ORDER BY machine_id, since`, params);
    const slotsBy = groupBy(slots), faultsBy = groupBy(faults);
    return rows.map((r) => {
      const id = str(r.id);
      return {
        id,
        status: str(r.status) as MachineSummary["status"],
        boot: numOrNull(r.status_boot) ?? numOrNull(r.birth_boot),
        lastSeen: num(r.last_seen),
        model: strOrNull(r.model),
        softwareVersion: strOrNull(r.software_version),
        stock: (slotsBy.get(id) ?? []).map((s) => ({ slot: str(s.slot), name: str(s.name), stock: num(s.stock), capacity: num(s.capacity) })),
        faults: (faultsBy.get(id) ?? []).map((f) => ({ code: str(f.code), message: str(f.message) })),
        missingEvents: missingOf(r),
        ...machineKindOf(r),
      };
    });
  }

  /** What the alert engine needs, for the given machines (all when omitted). */
  async machineHealth(ids?: readonly string[]): Promise<MachineHealth[]> {
    const rows: Row[] = [];
    const slots: Row[] = [];
    for (const chunk of chunks(ids)) {
      const inM = chunk ? ` WHERE id IN (${chunk.map(() => "?").join(", ")})` : "";
      const inS = chunk ? ` WHERE machine_id IN (${chunk.map(() => "?").join(", ")})` : "";
      rows.push(...(await this.db.all(`SELECT * FROM machines${inM} ORDER BY id`, chunk ?? [])));
      slots.push(...(await this.db.all(`SELECT machine_id, slot, name, stock, enabled FROM slots${inS} ORDER BY machine_id, slot`, chunk ?? [])));
    }
    const slotsBy = groupBy(slots);
    return rows.map((r) => ({
      id: str(r.id),
      status: str(r.status) as MachineSummary["status"],
      statusChangedAt: numOrNull(r.status_changed_at),
      lastSeen: num(r.last_seen),
      firstSeen: num(r.first_seen),
      temperatureC: numOrNull(r.temperature_c),
      door: strOrNull(r.door) as MachineHealth["door"],
      payments: strOrNull(r.payments),
      vendFailuresInARow: num(r.vend_failures_in_a_row),
      lastSaleAt: numOrNull(r.last_sale_at),
      missingEvents: missingOf(r),
      mode: strOrNull(r.mode),
      slots: (slotsBy.get(str(r.id)) ?? []).map((s) => ({ slot: str(s.slot), name: str(s.name), stock: num(s.stock), enabled: num(s.enabled) === 1 })),
    }));
  }

  async slots(machineId: string): Promise<SlotView[]> {
    const rows = await this.db.all("SELECT * FROM slots WHERE machine_id = ? ORDER BY slot", [machineId]);
    return rows.map((s) => ({
      slot: str(s.slot),
      name: str(s.name),
      kind: str(s.kind) as SlotView["kind"],
      capacity: num(s.capacity),
      stock: num(s.stock),
      price: json<SlotView["price"]>(s.price_json),
      enabled: num(s.enabled) === 1,
    }));
  }

  async latestTelemetry(machineId: string): Promise<TelemetrySample | null> {
    const r = (await this.db.all("SELECT telemetry_at, temperature_c, door, payments, hardware, rss_mb FROM machines WHERE id = ?", [machineId]))[0];
    if (!r || r.telemetry_at === null) return null;
    return {
      ts: num(r.telemetry_at),
      temperatureC: numOrNull(r.temperature_c),
      door: str(r.door) as TelemetrySample["door"],
      payments: str(r.payments) as TelemetrySample["payments"],
      hardware: str(r.hardware) as TelemetrySample["hardware"],
      rssMb: num(r.rss_mb),
    };
  }

  async telemetryHistory(machineId: string, limit = 200): Promise<TelemetrySample[]> {
    const rows = await this.db.all("SELECT * FROM telemetry WHERE machine_id = ? ORDER BY ts DESC LIMIT ?", [machineId, limit]);
    return rows.reverse().map((r) => ({
      ts: num(r.ts),
      temperatureC: numOrNull(r.temperature_c),
      door: str(r.door) as TelemetrySample["door"],
      payments: str(r.payments) as TelemetrySample["payments"],
      hardware: str(r.hardware) as TelemetrySample["hardware"],
      rssMb: num(r.rss_mb),
    }));
  }

  /**
   * Deletes chart samples older than `beforeMs` in batches of `batchSize` rows, one short transaction each, and
   * yields to the event loop between them: the writer lock is FIFO, so an ingest batch that arrives meanwhile waits
   * for one delete batch at most, never for the whole pruning. Sales, events and everything else stay.
   * Returns how many rows were deleted (so far, when `signal` aborts it between two batches).
   */
  async pruneTelemetry(beforeMs: number, options: { batchSize?: number; signal?: AbortSignal } = {}): Promise<number> {
    const batchSize = options.batchSize ?? 2_000;
    // A row id both engines have: SQLite's rowid, PostgreSQL's ctid (stable within the statement that reads it).
    const rowId = this.db.dialect === "postgres" ? "ctid" : "rowid";
    const sql = `DELETE FROM telemetry WHERE ${rowId} IN (SELECT ${rowId} FROM telemetry WHERE ts < ? LIMIT ?)`;
    let total = 0;
    for (;;) {
      if (options.signal?.aborted) return total;
      const { changes } = await this.db.transaction((tx) => tx.run(sql, [beforeMs, batchSize]));
      total += changes;
      if (changes < batchSize) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** How many chart samples are stored, and the oldest one's time (null when there are none). */
  async telemetryStats(): Promise<{ rows: number; oldestMs: number | null }> {
    const r = (await this.db.all("SELECT COUNT(*) AS n, MIN(ts) AS oldest FROM telemetry"))[0]!;
    return { rows: num(r.n), oldestMs: numOrNull(r.oldest) };
  }

  /**
   * The machine's latest events, newest first by seq: those of its current installation before those of earlier
   * ones (a reinstalled machine counts its seqs from 1 again, so seq alone would mix the two).
   */
  async recentEvents(machineId: string, limit = 50): Promise<StoredEvent[]> {
    const rows = await this.db.all(
      `SELECT e.* FROM events e LEFT JOIN machines m ON m.id = e.machine_id WHERE e.machine_id = ?
       ORDER BY CASE WHEN e.install = m.install OR (e.install IS NULL AND m.install IS NULL) THEN 0 ELSE 1 END, e.seq DESC LIMIT ?`,
      [machineId, limit],
    );
    return rows.map((r) => ({
      machineId: str(r.machine_id),
      eventId: str(r.event_id),
      seq: num(r.seq),
      type: str(r.type) as StoredEvent["type"],
      ts: num(r.ts),
      receivedAt: num(r.received_at),
      body: json<Record<string, unknown>>(r.body),
    }));
  }

  /**
   * Per machine, the contiguous run of committed event seqs of its current installation that starts at the lowest
   * one stored: `{from, upTo, install?}`, what the fleet acknowledges to the machine (`install`: the installation the
   * run counts, absent for a machine that sends none). A machine with an installation id but no event of it stored
   * yet gets an empty run (`from > upTo`); one with neither, no entry. Cheap when nothing is missing (the machine
   * row's min, max and count say so); otherwise walks the events above the last known end of the run (cached) up to
   * the first gap.
   */
  async contiguousEvents(machineIds: readonly string[]): Promise<Map<string, EventRun>> {
    const out = new Map<string, EventRun>();
    const installs = new Map<string, number | null>();
    for (let i = 0; i < machineIds.length; i += 500) {
      const list = machineIds.slice(i, i + 500);
      const rows = await this.db.all(`SELECT id, event_min_seq, event_max_seq, event_count, install FROM machines WHERE id IN (${list.map(() => "?").join(", ")})`, list);
      for (const r of rows) {
        const id = str(r.id);
        const install = numOrNull(r.install);
        const tag = install === null ? {} : { install };
        installs.set(id, install);
        if (r.event_min_seq === null || r.event_max_seq === null) {
          if (install !== null) out.set(id, { from: 1, upTo: 0, install });
          continue;
        }
        const min = num(r.event_min_seq);
        const max = num(r.event_max_seq);
        if (max - min + 1 === num(r.event_count)) {
          out.set(id, { from: min, upTo: max, ...tag });
          continue;
        }
        const cached = this.contiguous.get(id);
        let upTo = cached && cached.from === min && cached.install === install ? cached.upTo : min;
        for (;;) {
          const next = await this.db.all("SELECT seq FROM events WHERE machine_id = ? AND seq > ? AND COALESCE(install, 0) = ? ORDER BY seq LIMIT 1000", [
            id,
            upTo,
            install ?? 0,
          ]);
          let i2 = 0;
          // `<=`: a seq stored twice (two ids, e.g. a machine whose database was replaced) is not a gap.
          while (i2 < next.length && num(next[i2]!.seq) <= upTo + 1) upTo = Math.max(upTo, num(next[i2++]!.seq));
          if (i2 < next.length || next.length < 1000) break;
        }
        out.set(id, { from: min, upTo, ...tag });
      }
    }
    for (const [id, run] of out) if (run.from <= run.upTo) this.contiguous.set(id, { from: run.from, upTo: run.upTo, install: installs.get(id) ?? null });
    return out;
  }

  /** The sequence numbers between the lowest and the highest received that never arrived (current installation). */
  async gaps(machineId: string, limit = 100): Promise<SeqGap[]> {
    const rows = await this.db.all(
      `SELECT prev_seq + 1 AS from_seq, seq - 1 AS to_seq FROM
         (SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev_seq FROM events WHERE machine_id = ?
            AND COALESCE(install, 0) = (SELECT COALESCE(install, 0) FROM machines WHERE id = ?)) t
       WHERE prev_seq IS NOT NULL AND seq - prev_seq > 1 ORDER BY seq LIMIT ?`,
      [machineId, machineId, limit],
    );
    return rows.map((r) => ({ fromSeq: num(r.from_seq), toSeq: num(r.to_seq) }));
  }

  // ---------------------------------------------------------------- sales and reports

  async listSales(f: SalesFilter = {}): Promise<Sale[]> {
    const { where, params } = ledgerWhere("sale", f);
    const rows = await this.db.all(`SELECT * FROM ledger ${where} ORDER BY at DESC, event_id LIMIT ?`, [...params, f.limit ?? 1000]);
    return rows.map(saleFromRow);
  }

  /**
   * Sales per machine, per slot or per day. A day is a local day of `timeZone` (default UTC): from one local midnight
   * to the next, 23 or 25 hours at a daylight saving change. The grouping stays in SQL: the zone's offsets over the
   * sales' range (a handful of spans, `offsetSpans`) become a CASE on `at`, and rows are grouped by
   * `(at + offset) / 86 400 000`, the local day number; day rows carry the zone they were counted in.
   */
  async salesReport(group: "machine" | "slot" | "day", f: SalesFilter = {}, opts: { timeZone?: string } = {}): Promise<SalesReportRow[]> {
    const { where, params } = ledgerWhere("sale", f);
    const timeZone = opts.timeZone ?? "UTC";
    let cols: string;
    if (group === "day") {
      const [range] = await this.db.all(`SELECT MIN(at) AS lo, MAX(at) AS hi FROM ledger ${where}`, params);
      if (!range || range.lo === null || range.lo === undefined) return [];
      cols = `(${localDaySql("at", offsetSpans(timeZone, num(range.lo), num(range.hi) + 1))})`;
    } else cols = group === "machine" ? "machine_id" : "machine_id, slot";
    const keyCols = group === "day" ? `${cols} AS day_n` : cols;
    const groupCols = group === "day" ? "day_n" : cols;
    const totals = await this.db.all(`SELECT ${keyCols}, COUNT(*) AS n, SUM(amount_msat) AS msat FROM ledger ${where} GROUP BY ${groupCols} ORDER BY ${groupCols}`, params);
    const fiat = await this.db.all(
      `SELECT ${keyCols}, fiat_currency, SUM(fiat_minor) AS minor FROM ledger ${where} AND fiat_currency IS NOT NULL GROUP BY ${groupCols}, fiat_currency ORDER BY fiat_currency`,
      params,
    );
    const keyOf = (r: Row) => (group === "machine" ? str(r.machine_id) : group === "slot" ? `${str(r.machine_id)}/${str(r.slot)}` : localDayDate(num(r.day_n)));
    const fiatBy = new Map<string, Array<{ currency: string; amountMinor: number }>>();
    for (const r of fiat) {
      const k = keyOf(r);
      const list = fiatBy.get(k) ?? [];
      list.push({ currency: str(r.fiat_currency), amountMinor: num(r.minor) });
      fiatBy.set(k, list);
    }
    return totals.map((r) => {
      const key = keyOf(r);
      return {
        key,
        machineId: group === "day" ? (f.machineId ?? null) : str(r.machine_id),
        slot: group === "slot" ? str(r.slot) : null,
        day: group === "day" ? key : null,
        ...(group === "day" ? { timeZone } : {}),
        count: num(r.n),
        amountMsat: big(r.msat).toString(),
        fiat: fiatBy.get(key) ?? [],
      };
    });
  }

  async reconciliation(f: SalesFilter = {}): Promise<ReconciliationEntry[]> {
    const { where, params } = ledgerWhere(null, f);
    const rows = await this.db.all(`SELECT * FROM ledger ${where} ORDER BY at, machine_id, event_id LIMIT ?`, [...params, f.limit ?? 100_000]);
    return rows.map((r) => ({
      machineId: str(r.machine_id),
      eventId: str(r.event_id),
      kind: str(r.kind) as ReconciliationEntry["kind"],
      orderId: str(r.order_id),
      slot: str(r.slot),
      paymentHash: str(r.payment_hash),
      amountMsat: big(r.amount_msat).toString(),
      state: str(r.state) as ReconciliationEntry["state"],
      at: num(r.at),
    }));
  }

  /** Per-selection vend counters since the fleet first heard of the machine (for the DEX export). */
  async dexCounters(machineId: string): Promise<DexSlotCounter[]> {
    const slots = await this.slots(machineId);
    const rows = await this.db.all("SELECT slot, COUNT(*) AS n, SUM(amount_msat) AS msat FROM ledger WHERE machine_id = ? AND kind = 'sale' GROUP BY slot", [machineId]);
    const by = new Map(rows.map((r) => [str(r.slot), r]));
    const names = new Map(slots.map((s) => [s.slot, s]));
    const all = [...new Set([...slots.map((s) => s.slot), ...by.keys()])].sort();
    const [machine] = await this.db.all("SELECT capabilities FROM machines WHERE id = ?", [machineId]);
    const mdb = machine !== undefined && machineKindOf(machine).kind === "mdb";
    const counters = all.map((slot) => {
      const r = by.get(slot);
      const s = names.get(slot);
      const selection = mdb ? /^S([0-9]+)$/.exec(slot)?.[1] : undefined;
      return {
        slot,
        ...(selection !== undefined ? { selection: Number(selection) } : {}),
        name: s?.name ?? (selection !== undefined ? `Selection ${selection}` : ""),
        price: s?.price ?? null,
        vends: r ? num(r.n) : 0,
        valueMsat: r ? big(r.msat) : 0n,
      };
    });
    // A VMC's DEX lists selections in their numeric order (10 before 9 would read wrong).
    return mdb ? counters.sort((a, b) => (a.selection ?? 0) - (b.selection ?? 0)) : counters;
  }

  // ---------------------------------------------------------------- alerts

  /** Raises an alert unless one of the same machine, kind and subject is open. Returns it when new. */
  async raiseAlert(a: NewAlert & { id: string }, nowMs: number): Promise<Alert | null> {
    const rows = await this.db.transaction((tx) =>
      tx.all(
        `INSERT INTO alerts (id, machine_id, kind, subject, severity, message, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (machine_id, kind, subject) WHERE cleared_at IS NULL DO NOTHING RETURNING *`,
        [a.id, a.machineId, a.kind, a.subject, a.severity, a.message, nowMs],
      ),
    );
    return rows[0] ? alertFromRow(rows[0]) : null;
  }

  async clearAlert(id: string, nowMs: number): Promise<Alert | null> {
    const rows = await this.db.transaction((tx) => tx.all("UPDATE alerts SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL RETURNING *", [nowMs, id]));
    return rows[0] ? alertFromRow(rows[0]) : null;
  }

  /** Returns the alert (acknowledged now, or already before), or null when there is no such alert. */
  async acknowledgeAlert(id: string, nowMs: number): Promise<Alert | null> {
    await this.db.transaction((tx) => tx.run("UPDATE alerts SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL", [nowMs, id]));
    const rows = await this.db.all("SELECT * FROM alerts WHERE id = ?", [id]);
    return rows[0] ? alertFromRow(rows[0]) : null;
  }

  async openAlerts(): Promise<OpenAlert[]> {
    const rows = await this.db.all("SELECT * FROM alerts WHERE cleared_at IS NULL ORDER BY raised_at, id");
    return rows.map((r) => ({ ...alertFromRow(r), subject: str(r.subject) }));
  }

  /** Open alerts first (newest first), then the recently cleared ones. */
  async listAlerts(opts: { includeCleared?: boolean; machineId?: string; limit?: number } = {}): Promise<Alert[]> {
    const cond: string[] = [];
    const params: Array<string | number> = [];
    if (!opts.includeCleared) cond.push("cleared_at IS NULL");
    if (opts.machineId) {
      cond.push("machine_id = ?");
      params.push(opts.machineId);
    }
    const where = cond.length ? `WHERE ${cond.join(" AND ")}` : "";
    const rows = await this.db.all(
      `SELECT * FROM alerts ${where} ORDER BY CASE WHEN cleared_at IS NULL THEN 0 ELSE 1 END, raised_at DESC, id LIMIT ?`,
      [...params, opts.limit ?? 500],
    );
    return rows.map(alertFromRow);
  }

  // ---------------------------------------------------------------- commands and desired state

  async insertCommand(c: CommandRecord, ctr: number): Promise<void> {
    await this.db.transaction((tx) =>
      tx.run("INSERT INTO commands (rid, machine_id, name, args, ctr, sent_at, expires_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        c.rid,
        c.machineId,
        c.name,
        JSON.stringify(c.args),
        ctr,
        c.sentAt,
        c.expiresAt,
        c.status,
      ]),
    );
  }

  async deleteCommand(rid: string): Promise<void> {
    await this.db.transaction((tx) => tx.run("DELETE FROM commands WHERE rid = ? AND status = 'sent'", [rid]));
  }

  async listCommands(machineId: string, limit = 50): Promise<CommandRecord[]> {
    const rows = await this.db.all("SELECT * FROM commands WHERE machine_id = ? ORDER BY sent_at DESC, rid LIMIT ?", [machineId, limit]);
    return rows.map(commandFromRow);
  }

  async machinesWithPendingDesired(): Promise<string[]> {
    const rows = await this.db.all("SELECT id FROM machines WHERE desired_json IS NOT NULL AND desired_version > COALESCE(reported_version, 0) ORDER BY id");
    return rows.map((r) => str(r.id));
  }

  /** The machine's current installation id (from its birth or status), null while it has sent none. */
  async installOf(machineId: string): Promise<number | null> {
    const r = (await this.db.all("SELECT install FROM machines WHERE id = ?", [machineId]))[0];
    return r ? numOrNull(r.install) : null;
  }

  async getDesired(machineId: string): Promise<DesiredView | null> {
    return this.desiredWith(this.db, machineId);
  }

  private async desiredWith(ex: SqlExecutor, machineId: string): Promise<DesiredView | null> {
    const r = (await ex.all("SELECT desired_version, desired_json, desired_at, reported_version, reported_status, reported_error FROM machines WHERE id = ?", [machineId]))[0];
    if (!r || r.desired_json === null) return null;
    const d = json<{ slots: DesiredView["slots"]; mode: DesiredView["mode"]; products?: DesiredView["products"] }>(r.desired_json);
    const version = num(r.desired_version);
    const reportedVersion = numOrNull(r.reported_version);
    return {
      version,
      slots: d.slots,
      mode: d.mode,
      ...(d.products ? { products: d.products } : {}),
      requestedAt: num(r.desired_at),
      reportedVersion,
      reportedStatus: strOrNull(r.reported_status) as DesiredView["reportedStatus"],
      reportedError: jsonOrNull<CodedError>(r.reported_error),
      pending: reportedVersion === null || reportedVersion < version,
    };
  }

  /**
   * Merges an edit over the current desired state and gives it the next version: higher than any the fleet wrote
   * and any the machine reported, so a machine never mistakes it for one it already applied.
   */
  async updateDesired(machineId: string, edit: DesiredEdit, nowMs: number): Promise<DesiredView> {
    return this.db.transaction(async (tx) => {
      const r = (await tx.all("SELECT desired_version, desired_json, reported_version FROM machines WHERE id = ?", [machineId]))[0];
      if (!r) throw new RangeError(`unknown machine ${machineId}`);
      const cur = jsonOrNull<{ slots: DesiredView["slots"]; mode: DesiredView["mode"]; products?: DesiredView["products"] }>(r.desired_json) ?? { slots: {}, mode: null };
      const slots: DesiredView["slots"] = { ...cur.slots };
      for (const [slot, s] of Object.entries(edit.slots ?? {})) {
        const { product, ...rest } = s as DesiredEditSlot;
        const merged = { ...(slots[slot] ?? {}), ...rest };
        // The catalog (issue #18) sets a slot's product, or clears it with null.
        if (product === null) delete merged.product;
        else if (product !== undefined) merged.product = product;
        slots[slot] = merged;
      }
      const products = edit.products !== undefined ? edit.products : cur.products;
      const next = { slots, mode: edit.mode ?? cur.mode, ...(products && Object.keys(products).length > 0 ? { products } : {}) };
      const version = Math.max(num(r.desired_version), numOrNull(r.reported_version) ?? 0) + 1;
      await tx.run("UPDATE machines SET desired_version = ?, desired_json = ?, desired_at = ? WHERE id = ?", [version, JSON.stringify(next), nowMs, machineId]);
      return (await this.desiredWith(tx, machineId))!;
    });
  }
}

/** Splits ids into chunks small enough for one statement's parameters; `[undefined]` means all. */
function chunks(ids: readonly string[] | undefined, size = 500): Array<string[] | undefined> {
  if (ids === undefined) return [undefined];
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

function missingOf(r: Row): number {
  if (r.event_min_seq === null || r.event_max_seq === null) return 0;
  return Math.max(0, num(r.event_max_seq) - num(r.event_min_seq) + 1 - num(r.event_count));
}

function groupBy(rows: Row[]): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) {
    const k = str(r.machine_id);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

function ledgerWhere(kind: "sale" | null, f: SalesFilter): { where: string; params: Array<string | number> } {
  const cond: string[] = [kind ? "kind = 'sale'" : "1 = 1"];
  const params: Array<string | number> = [];
  if (f.machineId !== undefined) {
    cond.push("machine_id = ?");
    params.push(f.machineId);
  }
  if (f.fromMs !== undefined) {
    cond.push("at >= ?");
    params.push(f.fromMs);
  }
  if (f.toMs !== undefined) {
    cond.push("at < ?");
    params.push(f.toMs);
  }
  return { where: `WHERE ${cond.join(" AND ")}`, params };
}

/**
 * The local day number of `column` (epoch ms) as SQL: `(column + offset) / 86400000` with the offset of the span the
 * instant falls in (integer division in SQLite and PostgreSQL; instants are after 1970, so it is a floor). The
 * numbers are the fleet's own (from `offsetSpans`), checked to be integers before they are written into the SQL.
 */
function localDaySql(column: string, spans: readonly OffsetSpan[]): string {
  const int = (n: number): string => {
    if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
    return String(n);
  };
  const last = spans.at(-1);
  if (!last) throw new Error("localDaySql needs at least one span");
  const offset = spans.length === 1 ? int(last.offsetMs) : `CASE ${spans.slice(0, -1).map((s) => `WHEN ${column} < ${int(s.to)} THEN ${int(s.offsetMs)}`).join(" ")} ELSE ${int(last.offsetMs)} END`;
  return `(${column} + ${offset}) / ${DAY_MS}`;
}

/** The machine's kind from its birth's capabilities (`board: "mdb"`: the cashless reader of a VMC). */
function machineKindOf(r: Row): { kind?: "direct" | "mdb" } {
  if (r.capabilities === null || r.capabilities === undefined) return {};
  try {
    return { kind: (JSON.parse(str(r.capabilities)) as { board?: string }).board === "mdb" ? "mdb" : "direct" };
  } catch {
    return {};
  }
}

function saleFromRow(r: Row): Sale {
  const evidence = json<Sale["evidence"]>(r.evidence);
  return {
    machineId: str(r.machine_id),
    eventId: str(r.event_id),
    seq: num(r.seq),
    orderId: str(r.order_id),
    slot: str(r.slot),
    productName: str(r.product_name ?? ""),
    amountMsat: big(r.amount_msat).toString(),
    fiat: r.fiat_currency === null ? null : { currency: str(r.fiat_currency), amountMinor: num(r.fiat_minor) },
    paymentHash: str(r.payment_hash),
    hold: num(r.hold) === 1,
    evidence,
    settledAt: num(r.at),
    ...(evidence.kind === "mdb" ? { selection: evidence.selection } : {}),
  };
}

function alertFromRow(r: Row): Alert {
  return {
    id: str(r.id),
    machineId: str(r.machine_id),
    kind: str(r.kind) as Alert["kind"],
    severity: str(r.severity) as Alert["severity"],
    message: str(r.message),
    raisedAt: num(r.raised_at),
    clearedAt: numOrNull(r.cleared_at),
    acknowledgedAt: numOrNull(r.acknowledged_at),
  };
}

function commandFromRow(r: Row): CommandRecord {
  return {
    rid: str(r.rid),
    machineId: str(r.machine_id),
    name: str(r.name) as CommandRecord["name"],
    args: json<Record<string, unknown>>(r.args),
    sentAt: num(r.sent_at),
    expiresAt: num(r.expires_at),
    status: str(r.status) as CommandRecord["status"],
    data: jsonOrNull<Record<string, unknown>>(r.data),
    error: jsonOrNull<CodedError>(r.error),
    completedAt: numOrNull(r.completed_at),
  };
}
