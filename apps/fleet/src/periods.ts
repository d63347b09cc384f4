// Days and hours in the operator's time zone (issue #18): the overview's today / yesterday / last 7 days, the
// revenue per day and per hour. A day is from one local midnight to the next, so the day of a daylight saving
// change lasts 23 or 25 hours, and an hour is one real hour labelled with what the wall clock showed (on a
// fall-back day "02:00" comes twice, on a spring-forward day there is no "02:00"). The zone arithmetic is
// opening-hours.ts's (through `Intl`, no time zone table of our own).
import type { FleetConfig } from "@zapvend/protocol";
import { addDays, instantOf, localDate, offsetMs, type LocalDate } from "./opening-hours.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

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

/**
 * The zone a machine's wall clock shows: the zone of its own opening hours (`alerts.machineOpeningHours`) when the
 * config gives it some, else the operator's zone (`operatorZone`, from `operatorTimeZone`).
 */
export function machineTimeZone(config: { alerts?: Pick<FleetConfig["alerts"], "machineOpeningHours"> }, machineId: string, operatorZone: string): string {
  const own = config.alerts?.machineOpeningHours?.[machineId];
  return own && own !== "always" ? own.tz : operatorZone;
}

/** `[from, to)` in epoch ms. */
export interface Span {
  from: number;
  to: number;
}

const midnight = (tz: string, d: LocalDate): number => instantOf(tz, d, 0);

/**
 * The local day `date` of `tz` as `[from, to)`: from its midnight to the next (23, 24 or 25 hours). Where a zone's
 * clocks jump over midnight (America/Santiago in September) the day starts at the jump.
 */
export function localDay(tz: string, date: LocalDate): Span {
  return { from: midnight(tz, date), to: midnight(tz, addDays(date, 1)) };
}

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

/** A stretch of time over which the zone's offset from UTC stays the same. */
export interface OffsetSpan extends Span {
  /** Local wall clock minus UTC, in ms (Paris in summer: 7 200 000; Kolkata: 19 800 000). */
  offsetMs: number;
}

/**
 * The zone's offsets over `[from, to)`, oldest first: consecutive spans split at every change (daylight saving, a
 * new standard time), so `floor((ms + offsetMs) / 86 400 000)` is the local day number of an instant `ms` in a span
 * (the SQL of the sales report per local day groups on that). One span for UTC or a zone without changes in the
 * range; two or three a year for a zone with daylight saving time. Each UTC year's changes are found once per zone
 * (`yearSpans`) and kept: asking `Intl` costs ~0.1 ms, a year ~400 asks.
 */
export function offsetSpans(tz: string, from: number, to: number): OffsetSpan[] {
  if (!(to > from)) return [];
  const out: OffsetSpan[] = [];
  for (let y = new Date(from).getUTCFullYear(); Date.UTC(y, 0, 1) < to; y++) {
    for (const s of yearSpans(tz, y)) {
      const a = Math.max(s.from, from);
      const b = Math.min(s.to, to);
      if (a >= b) continue;
      const last = out.at(-1);
      if (last && last.offsetMs === s.offsetMs && last.to === a) last.to = b;
      else out.push({ from: a, to: b, offsetMs: s.offsetMs });
    }
  }
  return out;
}

const yearCache = new Map<string, readonly OffsetSpan[]>();
const YEAR_CACHE_MAX = 512;

/**
 * The offsets over one UTC year. The offset is sampled once a day, and where two samples differ the change is
 * bisected to the second (changes happen on whole seconds): no zone changes twice within a day.
 */
function yearSpans(tz: string, year: number): readonly OffsetSpan[] {
  const key = `${tz}|${year}`;
  const hit = yearCache.get(key);
  if (hit) return hit;
  const from = Date.UTC(year, 0, 1);
  const to = Date.UTC(year + 1, 0, 1);
  const out: OffsetSpan[] = [];
  let start = from;
  let offset = offsetMs(tz, from);
  for (let t = from; t < to; ) {
    const next = Math.min(t + DAY_MS, to - 1000);
    if (next <= t) break;
    const o = offsetMs(tz, next);
    if (o === offset) {
      t = next;
      continue;
    }
    // The change is in (t, next]: find the first whole second with the new offset.
    let lo = Math.floor(t / 1000);
    let hi = Math.floor(next / 1000);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetMs(tz, mid * 1000) === offset) lo = mid;
      else hi = mid;
    }
    const at = hi * 1000;
    out.push({ from: start, to: at, offsetMs: offset });
    start = at;
    offset = offsetMs(tz, at);
    t = at;
  }
  out.push({ from: start, to, offsetMs: offset });
  if (yearCache.size >= YEAR_CACHE_MAX) yearCache.clear();
  yearCache.set(key, out);
  return out;
}

/** The ISO date (`YYYY-MM-DD`) of a local day number `floor((ms + offsetMs) / 86 400 000)` (see `offsetSpans`). */
export function localDayDate(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

function isoDate(d: LocalDate): string {
  return `${String(d.y).padStart(4, "0")}-${String(d.m).padStart(2, "0")}-${String(d.d).padStart(2, "0")}`;
}
