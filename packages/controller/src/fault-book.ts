// The faults the controller holds, and which of them stop what: a slot taken out of sale, a shared part that stops
// the machine, a fault the hardware raised on its own while idle (told to the fleet, its end too), and notices that
// stop nothing. They are latched in the journal, so a power cut does not repair a jammed spiral.
import { FaultCode, type CodedError, type EventBody, type Product } from "@zapvend/protocol";
import type { Journal } from "./journal.js";
import type { Clock, Logger } from "./ports.js";
import type Database from "better-sqlite3";

/** Codes after which a slot is taken out of sale until a technician restocks or clears it. */
export const SLOT_STOPPING_FAULTS = new Set<string>([
  FaultCode.PUMP_DRY_RUN,
  FaultCode.FLOW_SENSOR_DEAD,
  FaultCode.TANK_EMPTY,
  FaultCode.SPIRAL_JAM,
  FaultCode.SPIRAL_HOME_TIMEOUT,
  FaultCode.DROP_NOT_SEEN,
  FaultCode.DROP_SENSOR_STUCK,
  FaultCode.SLOT_EMPTY,
]);

/**
 * Codes of a part that every slot of its kind shares: the drop beam under all spirals. A vend that fails on one of
 * these takes the whole machine out of sale (`hardware_unavailable`), not only the slot that was vending: the next
 * buyer of another slot would pay for a vend that cannot work. Cleared by the technician (`clearFaults`, a test vend
 * of that kind that works); it survives a restart.
 */
export const SHARED_PART_FAULTS = new Set<string>([FaultCode.DROP_SENSOR_STUCK]);
/**
 * Codes of a pour station's own parts (its flow meter, its pump and the tank it draws from): shared parts when the
 * failing slot's station serves other pour slots too (`pourStation`), so they stop the machine like the drop beam.
 */
export const STATION_FAULTS = new Set<string>([FaultCode.FLOW_SENSOR_DEAD, FaultCode.PUMP_DRY_RUN]);
/** After a restart, how long the hardware has to raise again a fault the fleet was told about before it is told it ended. */
export const HARDWARE_RECHECK_MS = 10_000;

/** The kind of vend that proves a shared part works again (a test vend of that kind clears its fault). */
const SHARED_PART_KIND: Record<string, "spiral" | "pour"> = {
  [FaultCode.DROP_SENSOR_STUCK]: "spiral",
  [FaultCode.FLOW_SENSOR_DEAD]: "pour",
  [FaultCode.PUMP_DRY_RUN]: "pour",
};

export interface FaultBookDeps {
  db: Database.Database;
  journal: () => Journal;
  clock: Clock;
  log: Logger;
  /** Writes a fleet event (inside the caller's transaction). */
  enqueueEvent: (body: EventBody) => void;
  /** Tells the `fault` listeners. */
  emitFault: (fault: CodedError & { slot?: string }) => void;
  /** The hardware's standing faults now. */
  hardwareFaults: () => Array<{ code: string; message: string; slot?: string }>;
}

export class FaultBook {
  private readonly faultedSlots = new Map<string, CodedError>();
  /** Faults of shared parts (by code): the machine sells nothing until a technician clears them. */
  private readonly machineFaults = new Map<string, CodedError>();
  /**
   * Faults the hardware found on its own while nothing vended (the drop beam broken while idle, a board gone), told
   * to the fleet, by `code:slot`; kept in the journal so their end is told too, also across a restart.
   */
  private readonly hardwareAnnounced = new Map<string, CodedError>();
  private hardwareRecheck: unknown;
  /** Faults that stop nothing but the operator must see (a refused fleet event), by code; cleared with the others. */
  private readonly notices = new Map<string, CodedError>();
  /** Notices raised to the fleet by a `fault` event (an MDB price above the ceiling): their end is told at `clear()`. */
  private readonly toldNotices = new Set<string>();
  /** Hardware faults raised while a vend ran (keyed as `hardwareAnnounced`), told once the vend queue is empty. */
  private readonly hardwareDeferred = new Map<string, { code: string; message: string; slot?: string }>();
  /** Pour slots that share their station with another pour slot: a station fault of one stops the machine. */
  private readonly sharedStationSlots = new Set<string>();

  constructor(
    private readonly deps: FaultBookDeps,
    catalog: readonly Product[],
    pourStation: ((slot: string) => string | undefined) | undefined,
  ) {
    const byStation = new Map<string, string[]>();
    for (const p of catalog) {
      if (p.kind !== "pour") continue;
      const station = pourStation?.(p.slot) ?? "";
      byStation.set(station, [...(byStation.get(station) ?? []), p.slot]);
    }
    for (const slots of byStation.values()) if (slots.length > 1) for (const slot of slots) this.sharedStationSlots.add(slot);
  }

  /**
   * Puts back the faults that kept a slot or the machine out of sale before the restart. A latched fault that no
   * longer applies (its slot left the catalog, or its part is no longer shared by every slot) is dropped with a log
   * line. Hardware faults told to the fleet get `HARDWARE_RECHECK_MS` to be raised again before their end is told.
   */
  restore(hasSlot: (slot: string) => boolean): void {
    const journal = this.deps.journal();
    for (const { scope, key, fault } of journal.latchedFaults()) {
      if (scope === "slot" && hasSlot(key)) this.faultedSlots.set(key, fault);
      else if (scope === "machine" && (SHARED_PART_FAULTS.has(key) || (STATION_FAULTS.has(key) && this.sharedStationSlots.size > 0))) this.machineFaults.set(key, fault);
      else if (scope === "hardware") {
        this.hardwareAnnounced.set(key, fault);
        continue;
      } else {
        journal.unlatchFault(scope, key);
        this.deps.log.info("latched fault dropped: it no longer applies to this catalog", { scope, key, code: fault.code });
        continue;
      }
      this.deps.log.warn("fault still latched from before the restart", { scope, key, code: fault.code, message: fault.message });
    }
    if (this.hardwareAnnounced.size > 0) {
      // The hardware re-raises what still stands within its own debounce; what it did not is over.
      this.hardwareRecheck = this.deps.clock.setTimeout(() => {
        this.hardwareRecheck = undefined;
        const standing = new Set(this.deps.hardwareFaults().map((f) => `${f.code}:${f.slot ?? ""}`));
        for (const key of [...this.hardwareAnnounced.keys()]) if (!standing.has(key)) this.endHardwareFault(key);
      }, HARDWARE_RECHECK_MS);
    }
  }

  stop(): void {
    if (this.hardwareRecheck !== undefined) this.deps.clock.clearTimeout(this.hardwareRecheck);
    this.hardwareRecheck = undefined;
  }

  /** See `VendController.hardwareFault`. `vendRunning`: a vend or test vend is queued or running. */
  hardwareFault(fault: { code: string; message: string; slot?: string }, active: boolean, vendRunning: boolean): void {
    const key = `${fault.code}:${fault.slot ?? ""}`;
    if (!active) {
      this.hardwareDeferred.delete(key);
      this.endHardwareFault(key);
      return;
    }
    if (this.hardwareAnnounced.has(key)) return;
    if (vendRunning) {
      // Raised while a vend runs: the vend may fail on it and tell it itself; told once the queue is empty if not.
      this.hardwareDeferred.set(key, fault);
      return;
    }
    const f: CodedError = { code: fault.code, message: fault.message };
    this.hardwareAnnounced.set(key, f);
    this.deps.db.transaction(() => {
      this.deps.journal().latchFault("hardware", key, f, this.deps.clock.now());
      this.deps.enqueueEvent({ type: "fault", fault: f, active: true, severity: "critical" });
    })();
    this.deps.log.warn("hardware fault while idle", { code: fault.code, slot: fault.slot, message: fault.message });
  }

  /** The vend queue emptied: tells the hardware faults raised meanwhile that no vend told. */
  tellDeferred(): void {
    if (this.hardwareDeferred.size === 0) return;
    const deferred = [...this.hardwareDeferred.values()];
    this.hardwareDeferred.clear();
    for (const f of deferred) this.hardwareFault(f, true, false);
  }

  private endHardwareFault(key: string): void {
    const f = this.hardwareAnnounced.get(key);
    if (!f) return;
    this.hardwareAnnounced.delete(key);
    this.deps.db.transaction(() => {
      this.deps.journal().unlatchFault("hardware", key);
      this.deps.enqueueEvent({ type: "fault", fault: f, active: false, severity: "warning" });
    })();
    this.deps.log.info("hardware fault over", { key });
  }

  /** The first shared-part fault standing (the machine sells nothing while there is one). */
  machineBlocker(): CodedError | undefined {
    return this.machineFaults.values().next().value;
  }

  slotFault(slot: string): CodedError | undefined {
    return this.faultedSlots.get(slot);
  }

  /** Shared-part faults and notices (slot faults show in the catalog). */
  list(): CodedError[] {
    return [...this.machineFaults.values(), ...this.notices.values()].map((f) => ({ ...f }));
  }

  /** A fault that stops nothing but the operator must see. `told`: a fleet event raised it, so its end is told too. */
  addNotice(fault: CodedError, told = false): void {
    this.notices.set(fault.code, fault);
    if (told) this.toldNotices.add(fault.code);
  }

  /** Ends one notice raised to the fleet (`addNotice(fault, true)`); the fault it was, or undefined when none stood. */
  endNotice(code: string): CodedError | undefined {
    const fault = this.notices.get(code);
    if (!fault || !this.toldNotices.has(code)) return undefined;
    this.notices.delete(code);
    this.toldNotices.delete(code);
    return fault;
  }

  /** The technician cleared the machine's faults: shared-part faults and notices end, and the fleet is told. */
  clear(): void {
    const cleared = [...this.machineFaults.values(), ...[...this.notices.values()].filter((n) => this.toldNotices.has(n.code))];
    if (cleared.length === 0 && this.notices.size === 0) return;
    const machineCodes = new Set(this.machineFaults.keys());
    this.machineFaults.clear();
    this.notices.clear();
    this.toldNotices.clear();
    this.deps.db.transaction(() => {
      for (const fault of cleared) {
        if (machineCodes.has(fault.code)) this.deps.journal().unlatchFault("machine", fault.code);
        this.deps.enqueueEvent({ type: "fault", fault, active: false, severity: "warning" });
      }
    })();
    this.deps.log.info("machine faults cleared", { codes: cleared.map((f) => f.code) });
  }

  /** Restock (inside its transaction): the slot's latched fault ends; the fleet is told when there was one. */
  clearSlotInTx(slot: string): void {
    const fault = this.faultedSlots.get(slot);
    this.deps.journal().unlatchFault("slot", slot);
    if (fault) this.deps.enqueueEvent({ type: "fault", fault, active: false, severity: "warning" });
  }

  forgetSlot(slot: string): void {
    this.faultedSlots.delete(slot);
  }

  /** What a vend failure of this code on this slot stops: the machine (a shared part), the slot, or nothing. */
  classify(code: string, slot: string): { stopsMachine: boolean; stopsSlot: boolean } {
    const stopsMachine = SHARED_PART_FAULTS.has(code) || (STATION_FAULTS.has(code) && this.sharedStationSlots.has(slot));
    return { stopsMachine, stopsSlot: !stopsMachine && SLOT_STOPPING_FAULTS.has(code) };
  }

  /** Inside the failed vend's transaction: the fault event and the latch. */
  latchVendFailureInTx(slot: string, failure: CodedError, at: number): void {
    const { stopsMachine, stopsSlot } = this.classify(failure.code, slot);
    if (stopsSlot || stopsMachine) this.deps.enqueueEvent({ type: "fault", fault: failure, active: true, severity: "critical" });
    if (stopsMachine) this.deps.journal().latchFault("machine", failure.code, failure, at);
    if (stopsSlot) this.deps.journal().latchFault("slot", slot, failure, at);
  }

  /** After the failed vend's transaction: the fault stands in memory and the listeners are told. */
  applyVendFailure(orderId: string, slot: string, failure: CodedError): void {
    const { stopsMachine, stopsSlot } = this.classify(failure.code, slot);
    // The hal reports a vend's own failure as a fault too (before the vend rejects): that one is told with the vend
    // (vend-failed, and a fault event when it stops a slot or the machine), not again once the queue is empty.
    for (const [k, f] of this.hardwareDeferred) if (f.code === failure.code) this.hardwareDeferred.delete(k);
    if (stopsMachine) {
      // A part every slot needs: no other slot can vend either, so nothing is sold until a technician clears it.
      this.deps.log.error("shared part failed: the machine stops selling", { orderId, slot, code: failure.code });
      this.machineFaults.set(failure.code, failure);
      this.deps.emitFault(failure);
    }
    if (stopsSlot) {
      this.faultedSlots.set(slot, failure);
      this.deps.emitFault({ ...failure, slot });
    }
  }

  /** A test vend of `kind` on `slot` worked: its slot fault ends, and so do the shared parts that vend proved work. */
  testVendWorked(slot: string, kind: "spiral" | "pour"): void {
    this.faultedSlots.delete(slot);
    for (const [code, fault] of this.machineFaults) {
      if (SHARED_PART_KIND[code] !== kind) continue;
      // A station's fault is proved gone by a pour of a slot on a shared station, not by one of its own.
      if (STATION_FAULTS.has(code) && !this.sharedStationSlots.has(slot)) continue;
      this.machineFaults.delete(code);
      this.deps.db.transaction(() => {
        this.deps.journal().unlatchFault("machine", code);
        this.deps.enqueueEvent({ type: "fault", fault, active: false, severity: "warning" });
      })();
      this.deps.log.info("machine fault cleared by a test vend", { slot, code });
    }
  }
}
