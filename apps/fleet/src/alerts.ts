// Alerts: each is a condition over what the store knows of a machine and the clock. Evaluating is idempotent:
// a condition that holds raises one open alert per (machine, kind, subject); a condition that stops holding
// clears it. Time-based ones (offline for N minutes, no sale for N hours) are re-evaluated on a timer.
import { randomUUID } from "node:crypto";
import type { Alert, AlertKind, FleetConfig, OpeningHours } from "@zapvend/protocol";
import { localDate, openMsBetween } from "./opening-hours.js";
import { wallTime } from "./periods.js";
import type { FleetStore, MachineHealth, NewAlert } from "./store/fleet-store.js";

export type AlertSettings = FleetConfig["alerts"];

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  offlineAfterMs: 300_000,
  noSalesAfterMs: 6 * 3_600_000,
  lowStockBelow: 2,
  temperatureRangeC: [2, 12],
  vendFailuresInARow: 3,
};

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m >= 120 ? `${Math.round(m / 60)} h` : `${m} min`;
}

/** The opening hours that apply to a machine (its own, else the fleet's), or null when every hour counts. */
export function openingHoursFor(s: AlertSettings, machineId: string): OpeningHours | null {
  const own = s.machineOpeningHours?.[machineId];
  if (own === "always") return null;
  return own ?? s.openingHours ?? null;
}

/** The last sale on the clock of the opening hours' zone, which the alert counts in (`2026-11-20 19:30 Europe/Paris`). */
function lastSaleText(at: number | null, tz: string): string {
  if (at === null) return "none since the machine first reported";
  const d = localDate(tz, at);
  return `${d.y}-${String(d.m).padStart(2, "0")}-${String(d.d).padStart(2, "0")} ${wallTime(tz, at)} ${tz}`;
}

/** The alerts that should be open for this machine now. Pure: the whole policy is here. */
export function conditionsFor(h: MachineHealth, s: AlertSettings, nowMs: number): NewAlert[] {
  const out: NewAlert[] = [];
  const add = (kind: AlertKind, severity: NewAlert["severity"], message: string, subject = "") => out.push({ machineId: h.id, kind, subject, severity, message });
  const since = h.statusChangedAt ?? h.lastSeen;
  if (h.status === "lost" && nowMs - since >= s.offlineAfterMs) {
    add("machine-lost", "critical", `${h.id} lost its connection without saying goodbye ${minutes(nowMs - since)} ago`);
  } else if (h.status === "offline" && nowMs - since >= s.offlineAfterMs) {
    add("machine-offline", "warning", `${h.id} has been offline for ${minutes(nowMs - since)}`);
  } else if (h.status !== "lost" && h.status !== "offline" && nowMs - h.lastSeen >= s.offlineAfterMs) {
    add("machine-offline", "warning", `${h.id} has sent nothing for ${minutes(nowMs - h.lastSeen)}`);
  }
  const selling = h.status === "online" && h.mode !== "maintenance" && h.mode !== "service";
  const lastSale = h.lastSaleAt ?? h.firstSeen;
  if (selling && nowMs - lastSale >= s.noSalesAfterMs) {
    // Only time inside the machine's opening hours counts: a night or a closed Sunday is not a quiet machine.
    const hours = openingHoursFor(s, h.id);
    if (hours === null) add("no-sales", "info", `no sale on ${h.id} for ${minutes(nowMs - lastSale)}`);
    else if (openMsBetween(hours, lastSale, nowMs, s.noSalesAfterMs) >= s.noSalesAfterMs) {
      add("no-sales", "info", `no sale on ${h.id} for ${minutes(s.noSalesAfterMs)} of opening hours (last ${lastSaleText(h.lastSaleAt, hours.tz)})`);
    }
  }
  for (const slot of h.slots) {
    if (slot.enabled && slot.stock < s.lowStockBelow) add("low-stock", "warning", `${slot.slot} (${slot.name}) has ${slot.stock} left`, slot.slot);
  }
  if (h.door === "open" && h.status !== "service" && h.mode !== "service") add("door-open", "critical", `the door of ${h.id} is open outside service`);
  const [minC, maxC] = s.temperatureRangeC;
  if (h.temperatureC !== null && (h.temperatureC < minC || h.temperatureC > maxC)) {
    add("temperature", "warning", `${h.id} is at ${h.temperatureC.toFixed(1)} °C, outside ${minC}..${maxC} °C`);
  }
  if (h.vendFailuresInARow >= s.vendFailuresInARow) add("vend-failures", "critical", `${h.vendFailuresInARow} vends in a row failed on ${h.id}`);
  if (h.payments === "down") add("payments-down", "critical", `the payment backend of ${h.id} is down: it cannot sell`);
  if (h.missingEvents > 0) add("events-missing", "warning", `${h.missingEvents} event(s) of ${h.id} never arrived (sequence gaps)`);
  return out;
}

export class AlertEngine {
  constructor(
    private readonly store: FleetStore,
    private readonly settings: AlertSettings,
    private readonly newId: () => string = randomUUID,
  ) {}

  /** Raises and clears alerts for the given machines (all when omitted). Returns every alert that changed. */
  async evaluate(nowMs: number, machineIds?: ReadonlySet<string>): Promise<Alert[]> {
    if (machineIds && machineIds.size === 0) return [];
    // Open alerts first, then the machines: with several fleet servers on one store, the health read is then never
    // older than the alerts read, so a server never clears an alert another just raised on fresher data.
    const open = await this.store.openAlerts();
    const machines = await this.store.machineHealth(machineIds ? [...machineIds] : undefined);
    const changed: Alert[] = [];
    const openBy = new Map<string, (typeof open)[number]>();
    for (const a of open) openBy.set(`${a.machineId}\u0000${a.kind}\u0000${a.subject}`, a);
    for (const h of machines) {
      const want = conditionsFor(h, this.settings, nowMs);
      const wanted = new Set<string>();
      for (const w of want) {
        const key = `${w.machineId}\u0000${w.kind}\u0000${w.subject}`;
        wanted.add(key);
        if (openBy.has(key)) continue;
        const raised = await this.store.raiseAlert({ ...w, id: this.newId() }, nowMs);
        if (raised) changed.push(raised);
      }
      for (const [key, a] of openBy) {
        if (a.machineId !== h.id || wanted.has(key)) continue;
        const cleared = await this.store.clearAlert(a.id, nowMs);
        if (cleared) changed.push(cleared);
      }
    }
    return changed;
  }
}
