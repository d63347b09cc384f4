// The query of the sales routes (`/api/sales`, `/api/sales.csv`, `/api/reports/sales`, `/api/reports/reconciliation`):
// `machine`, `from`, `to`, `limit` through protocol's `parseSalesQuery` (which refuses unknown keys), and `tz`, the
// zone in which a date without a zone is read. The range is `[from, to)`. A bound given as epoch ms or as an ISO 8601
// instant with a zone (`Z`, `+02:00`) is that instant. A date alone (`2026-03-29`) is a local day of the request's
// zone (issue #18: the Sales page and `group=day` count the operator's days, so `from=`/`to=` must name the same
// days): `from=` its local midnight, `to=` the next local midnight, so `from=D&to=D` is the whole day D, 23 or 25
// hours long on a daylight saving day. A date and wall time without a zone (`2026-03-29T08:00`) is that wall time in
// the zone too (before, it was read on the server process's clock).
import { parseSalesQuery, TimeZoneName } from "@zapvend/protocol";
import { FleetError } from "./errors.js";
import { addDays, instantOf, type LocalDate } from "./opening-hours.js";
import { localDay, wallTime } from "./periods.js";
import type { SalesFilter } from "./store/fleet-store.js";

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const WALL = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?$/;

/** The zone of `tz=` (an IANA name), else `fallback` (the operator's zone). 400 `bad_value` for an unknown one. */
export function requestZone(url: URL, fallback: string): string {
  const tz = url.searchParams.get("tz") ?? fallback;
  const zone = TimeZoneName.safeParse(tz);
  if (!zone.success) throw new FleetError("bad_value", `tz: unknown time zone "${tz.slice(0, 64)}" (an IANA name such as Europe/Paris)`, 400);
  return zone.data;
}

/** A `from=` or `to=` bound in epoch ms (see the top of this file); 400 `bad_value` for anything else. */
export function boundOf(text: string, edge: "from" | "to", tz: string): number {
  const bad = () => new FleetError("bad_value", `${edge} must be epoch ms, an ISO 8601 date-time or a date (YYYY-MM-DD, a day of ${tz})`, 400);
  if (/^[0-9]{1,16}$/.test(text)) return Number(text);
  const day = DATE.exec(text);
  if (day) {
    const date = calendarDate(day[1]!, day[2]!, day[3]!);
    if (!date) throw bad();
    const span = localDay(tz, date);
    return edge === "from" ? span.from : span.to;
  }
  const wall = WALL.exec(text);
  if (wall) {
    const date = calendarDate(wall[1]!, wall[2]!, wall[3]!);
    const h = Number(wall[4]);
    const m = Number(wall[5]);
    const s = Number(wall[6] ?? 0);
    if (!date || h > 23 || m > 59 || s > 59) throw bad();
    const at = instantOf(tz, date, h * 60 + m);
    // A wall time the clocks skipped (02:30 on a spring-forward night) is the instant they jumped past it.
    return wallTime(tz, at) === `${wall[4]}:${wall[5]}` ? at + s * 1000 : at;
  }
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw bad();
  return ms;
}

/** The filter of a sales route's query; `extraKeys`: the route's own keys besides `tz`. */
export function salesFilter(url: URL, opts: { withLimit: boolean; timeZone: string; extraKeys?: string[] }): SalesFilter {
  const q: Record<string, string> = {};
  const skip = new Set(["tz", ...(opts.extraKeys ?? [])]);
  for (const [k, v] of url.searchParams) if (!skip.has(k)) q[k] = v;
  const parsed = parseSalesQuery(q);
  if (!parsed.ok) throw new FleetError(parsed.error.code, `${parsed.error.path}: ${parsed.error.message}`, 400);
  const p = parsed.value;
  const f: SalesFilter = {};
  if (p.machine) f.machineId = p.machine;
  const tz = requestZone(url, opts.timeZone);
  if (p.from) f.fromMs = boundOf(p.from, "from", tz);
  if (p.to) f.toMs = boundOf(p.to, "to", tz);
  if (opts.withLimit) f.limit = Math.min(10_000, p.limit ? Number(p.limit) : 1000);
  return f;
}

/** `limit=` capped at `max` (the CSV export's own cap). */
export function limitOf(url: URL, max: number): number {
  const l = url.searchParams.get("limit");
  return l === null ? max : Math.min(max, Number(l));
}

function calendarDate(y: string, m: string, d: string): LocalDate | null {
  const date = { y: Number(y), m: Number(m), d: Number(d) };
  if (date.m < 1 || date.m > 12 || date.d < 1) return null;
  // 2026-02-30 is not a date (Date.parse would make it 2 March).
  const next = addDays(date, 0);
  return next.y === date.y && next.m === date.m && next.d === date.d ? date : null;
}
