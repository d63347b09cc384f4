// Days and hours in the operator's time zone (issue #18): the overview's today / yesterday / last 7 days, the
// revenue per day and per hour. A day is from one local midnight to the next, so the day of a daylight saving
// change lasts 23 or 25 hours, and an hour is one real hour labelled with what the wall clock showed (on a
// fall-back day "02:00" comes twice, on a spring-forward day there is no "02:00"). The zone arithmetic is
// opening-hours.ts's (through `Intl`, no time zone table of our own).
import type { FleetConfig } from "@zapvend/protocol";
import { addDays, instantOf, localDate, type LocalDate } from "./opening-hours.js";

const HOUR_MS = 3_600_000;

/** Where the operator's zone came from. */
export type TimeZoneSource = "config" | "opening-hours" | "machine-opening-hours" | "default";

/**
 * The operator's zone: `timeZone` of the config; else the zone of the fleet's default opening hours; else the zone
 * most machines' own opening hours use (ties: alphabetical); else UTC.
 */
export function operatorTimeZone(config: Pick<FleetConfig, "timeZone"> & { alerts?: Pick<FleetConfig["alerts"], "openingHours" | "machineOpeningHours"> }): { zone: string; source: TimeZoneSource } {
  if (config.timeZone) return { zone: config.timeZone, source: "config" };
  const hours = config.alerts?.openingHours;
  if (hours) return { zone: hours.tz, source: "opening-hours" };
  const counts = new Map<string, number>();
  for (const h of Object.values(config.alerts?.machineOpeningHours ?? {})) if (h !== "always") counts.set(h.tz, (counts.get(h.tz) ?? 0) + 1);
  const best = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  if (best) return { zone: best[0], source: "machine-opening-hours" };
  return { zone: "UTC", source: "default" };
}

/** `[from, to)` in epoch ms. */
export interface Span {
  from: number;
  to: number;
}

const midnight = (tz: string, d: LocalDate): number => instantOf(tz, d, 0);

/** The local day that contains `ms`: from its midnight to the next (23, 24 or 25 hours). */
export function dayOf(tz: string, ms: number): Span & { date: string } {
  const d = localDate(tz, ms);
  return { from: midnight(tz, d), to: midnight(tz, addDays(d, 1)), date: isoDate(d) };
}

/** The local day `n` days after (negative: before) the one that contains `ms`. */
export function dayAt(tz: string, ms: number, n: number): Span & { date: string } {
  const d = addDays(localDate(tz, ms), n);
  return { from: midnight(tz, d), to: midnight(tz, addDays(d, 1)), date: isoDate(d) };
}

/** Today, yesterday, and the last 7 days (today and the 6 before it) at `now`. */
export function overviewPeriods(tz: string, now: number): { today: Span; yesterday: Span; last7Days: Span } {
  const today = dayOf(tz, now);
  const yesterday = dayAt(tz, now, -1);
  return { today: { from: today.from, to: today.to }, yesterday: { from: yesterday.from, to: yesterday.to }, last7Days: { from: dayAt(tz, now, -6).from, to: today.to } };
}

/** The last `n` local days up to the one of `now` (oldest first), each with its ISO date. */
export function lastDays(tz: string, now: number, n: number): Array<Span & { label: string }> {
  const out: Array<Span & { label: string }> = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = dayAt(tz, now, -i);
    out.push({ from: d.from, to: d.to, label: d.date });
  }
  return out;
}

const hourFormatters = new Map<string, Intl.DateTimeFormat>();
/** `HH:MM` on the wall clock of `tz` at `ms`. */
export function wallTime(tz: string, ms: number): string {
  let f = hourFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hourCycle: "h23", hour: "2-digit", minute: "2-digit" });
    hourFormatters.set(tz, f);
  }
  return f.format(ms);
}

/**
 * The hours of a local day, one real hour each from its midnight, labelled with the wall clock at their start: 24
 * on most days, 23 on a spring-forward day, 25 on a fall-back day (its repeated hour labelled twice).
 */
export function hoursOf(tz: string, day: Span): Array<Span & { label: string }> {
  const out: Array<Span & { label: string }> = [];
  for (let t = day.from; t < day.to; t += HOUR_MS) out.push({ from: t, to: Math.min(t + HOUR_MS, day.to), label: wallTime(tz, t) });
  return out;
}

function isoDate(d: LocalDate): string {
  return `${String(d.y).padStart(4, "0")}-${String(d.m).padStart(2, "0")}-${String(d.d).padStart(2, "0")}`;
}
