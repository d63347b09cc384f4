// Who hears about an alert and when, as pure functions of the alert, the config and the clock: routing by kind,
// severity and the machine's opening hours; quiet hours (the opening-hours format and zones, reused); and which
// alerts wait for the digest.
import type { Alert, FleetNotifications } from "@zapvend/protocol";
import { openingHoursFor, type AlertSettings } from "../alerts.js";
import { isOpenAt } from "../opening-hours.js";

/** The groups every route that matches this alert names, in config order, each once. */
export function groupsFor(alert: Alert, cfg: FleetNotifications, alertSettings: AlertSettings): string[] {
  const out: string[] = [];
  for (const r of cfg.routes) {
    if (r.kinds && !r.kinds.includes(alert.kind)) continue;
    if (r.severities && !r.severities.includes(alert.severity)) continue;
    if (r.when !== "any") {
      // A machine without opening hours is always open: "after hours" never happens to it.
      const hours = openingHoursFor(alertSettings, alert.machineId);
      const open = hours === null ? true : isOpenAt(hours, alert.raisedAt);
      if ((r.when === "open") !== open) continue;
    }
    for (const g of r.to) if (!out.includes(g)) out.push(g);
  }
  return out;
}

/** The channels of these groups, each once. */
export function channelsOf(groups: readonly string[], cfg: FleetNotifications): string[] {
  const out: string[] = [];
  for (const g of groups) for (const c of cfg.groups[g] ?? []) if (!out.includes(c)) out.push(c);
  return out;
}

/** Inside the quiet hours (in their own zone)? */
export function isQuiet(cfg: FleetNotifications, nowMs: number): boolean {
  return cfg.quietHours !== undefined && isOpenAt(cfg.quietHours, nowMs);
}

/** Minor alerts always wait for the digest; during quiet hours everything but a critical alert does. */
export function waitsForDigest(alert: Alert, cfg: FleetNotifications, nowMs: number): boolean {
  if (cfg.digestSeverities.includes(alert.severity)) return true;
  return alert.severity !== "critical" && isQuiet(cfg, nowMs);
}
