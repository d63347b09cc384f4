// Opening hours for the "no sale in N hours" alert: how much of a time span a machine was open, in its own time
// zone. Wall-clock ranges are turned into instants through `Intl` (no time zone table of our own), so a day of
// 23 or 25 hours at a daylight saving change counts what the clock on the wall showed, and a range that ends
// before it starts ("22:00-02:00") runs past midnight into the next day.
import type { OpeningHours } from "@zapvend/protocol";

const DAY_KEYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const DAY_MS = 86_400_000;

export interface LocalDate {
  y: number;
  m: number; // 1..12
  d: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall clock of `tz` at `ms`, as if it were UTC (so subtracting gives the zone's offset). */
function wallAsUtc(tz: string, ms: number): number {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(ms)) if (part.type !== "literal") p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
}

/** The zone's offset from UTC at `ms`, in ms (Paris in summer: +7 200 000). */
export function offsetMs(tz: string, ms: number): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(tz, whole) - whole;
}

/**
 * The instant at which the wall clock of `tz` shows `minutes` after midnight of `date`. A wall time that does not
 * exist (skipped by a spring-forward change) maps to the instant the clock jumped past it; a wall time that
 * happens twice (fall back) maps to its first occurrence.
 */
export function instantOf(tz: string, date: LocalDate, minutes: number): number {
  const wall = Date.UTC(date.y, date.m - 1, date.d) + minutes * 60_000;
  // The offsets a day before and a day after: zones change at most once within two days.
  const early = wall - offsetMs(tz, wall - DAY_MS);
  const late = wall - offsetMs(tz, wall + DAY_MS);
  const valid = [early, late].filter((t) => wallAsUtc(tz, t) === wall);
  // Fall back: both show this wall time; the first occurrence counts.
  if (valid.length > 0) return Math.min(...valid);
  // Spring forward: nothing shows this wall time; the first instant whose clock is past it is the jump itself.
  let lo = Math.min(early, late);
  let hi = Math.max(early, late);
  while (hi - lo > 1_000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (mid <= lo) break;
    if (wallAsUtc(tz, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

export function localDate(tz: string, ms: number): LocalDate {
  const w = new Date(wallAsUtc(tz, ms));
  return { y: w.getUTCFullYear(), m: w.getUTCMonth() + 1, d: w.getUTCDate() };
}

export function addDays(date: LocalDate, n: number): LocalDate {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d) + n * DAY_MS);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

function dayKey(date: LocalDate): (typeof DAY_KEYS)[number] {
  return DAY_KEYS[new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay()]!;
}

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** The open intervals `[start, end)` (epoch ms) that begin on the local `date`, in order. */
function openIntervals(hours: OpeningHours, date: LocalDate): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const range of hours.days[dayKey(date)] ?? []) {
    const startMin = minutesOf(range.slice(0, 5));
    const endMin = minutesOf(range.slice(6));
    // An end at or before the start is on the next day ("22:00-02:00"); 24:00 is the next midnight.
    const endDate = endMin <= startMin ? addDays(date, 1) : date;
    const start = instantOf(hours.tz, date, startMin);
    const end = endMin === 24 * 60 ? instantOf(hours.tz, addDays(date, 1), 0) : instantOf(hours.tz, endDate, endMin);
    if (end > start) out.push([start, end]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * How many ms of `[fromMs, toMs)` fall inside the opening hours. With `enoughMs` it stops counting once that much
 * is reached and answers `enoughMs` (the alert only asks "at least N hours?", and a machine silent for months must not cost a loop per
 * day of it on every evaluation). Overlapping ranges are counted once.
 */
export function openMsBetween(hours: OpeningHours, fromMs: number, toMs: number, enoughMs = Number.POSITIVE_INFINITY): number {
  if (toMs <= fromMs) return 0;
  // Never open: nothing to walk through, however long the span.
  if (!Object.values(hours.days).some((ranges) => ranges && ranges.length > 0)) return 0;
  let total = 0;
  let coveredUntil = fromMs;
  // The day before: a range of that day may run past midnight into the span.
  let date = addDays(localDate(hours.tz, fromMs), -1);
  const last = localDate(hours.tz, toMs);
  const lastN = Date.UTC(last.y, last.m - 1, last.d);
  while (Date.UTC(date.y, date.m - 1, date.d) <= lastN) {
    for (const [s, e] of openIntervals(hours, date)) {
      const a = Math.max(s, coveredUntil);
      const b = Math.min(e, toMs);
      if (b > a) {
        total += b - a;
        coveredUntil = b;
      }
      if (total >= enoughMs) return enoughMs;
    }
    date = addDays(date, 1);
  }
  return total;
}

/** True when `ms` is inside the opening hours. */
export function isOpenAt(hours: OpeningHours, ms: number): boolean {
  return openMsBetween(hours, ms, ms + 1) > 0;
}
