// Exports for people and for existing vending management tools: CSV of sales and of the reconciliation list, and
// an EVA-DTS/DEX-style audit file of per-selection counters. The DEX subset emitted is documented in README.md.
import type { MachineSummary, ReconciliationEntry, Sale } from "@zapvend/protocol";
import type { DexSlotCounter } from "./store/fleet-store.js";
import { localDate } from "./opening-hours.js";
import { wallTime } from "./periods.js";

/** msat as sats with three decimals, exact (no float): 1500 msat -> "1.500". */
export function msatToSats(amountMsat: bigint | string): string {
  const v = typeof amountMsat === "bigint" ? amountMsat : BigInt(amountMsat);
  const whole = v / 1000n;
  const frac = (v % 1000n).toString().padStart(3, "0");
  return `${whole}.${frac}`;
}

/** RFC 4180 field; a leading = + - @ is prefixed with ' so a spreadsheet never runs a product name as a formula. */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) return "";
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: string[], rows: Array<Array<string | number | boolean | null>>): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/**
 * One row per sale. `selection` is the VMC's selection number of a sale on an MDB machine (the id the VMC's own keypad
 * and DEX use), empty for direct drive; it sits beside `slot` ("S12" for selection 12) so a spreadsheet sorts by it.
 */
export function salesCsv(sales: readonly Sale[]): string {
  return csv(
    ["settled_at", "machine_id", "event_id", "seq", "order_id", "slot", "selection", "product", "amount_msat", "amount_sat", "fiat_currency", "fiat_amount_minor", "payment_hash", "hold_invoice"],
    sales.map((s) => [
      new Date(s.settledAt).toISOString(),
      s.machineId,
      s.eventId,
      s.seq,
      s.orderId,
      s.slot,
      s.selection ?? null,
      s.productName,
      s.amountMsat,
      msatToSats(s.amountMsat),
      s.fiat?.currency ?? null,
      s.fiat?.amountMinor ?? null,
      s.paymentHash,
      s.hold,
    ]),
  );
}

export function reconciliationCsv(entries: readonly ReconciliationEntry[]): string {
  return csv(
    ["at", "machine_id", "event_id", "kind", "order_id", "slot", "payment_hash", "amount_msat", "amount_sat", "state"],
    entries.map((e) => [new Date(e.at).toISOString(), e.machineId, e.eventId, e.kind, e.orderId, e.slot, e.paymentHash, e.amountMsat, msatToSats(e.amountMsat), e.state]),
  );
}

/** CRC-16/ARC (poly 0xA001 reflected, init 0), as EVA-DTS uses for the G85 segment. */
export function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, "latin1")) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc & 0xffff;
}

/** DEX fields may not contain the separators. */
function dexText(s: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return s.replace(/[*\r\n\u0000-\u001f]/g, " ").slice(0, 40);
}

/**
 * `EA302` / `EA303`, the date (`YYMMDD`) and time (`HHMM`) of this read-out, on the wall clock of `timeZone`. EVA-DTS
 * has no zone field: a VMC writes them from its own real-time clock, which shows local time, so a file read from
 * the fleet says what a clock at the machine showed (the machine's zone, else the operator's; see README "DEX").
 */
export function dexReadOut(nowMs: number, timeZone: string): { date: string; time: string } {
  const d = localDate(timeZone, nowMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return { date: `${two(d.y % 100)}${two(d.m)}${two(d.d)}`, time: wallTime(timeZone, nowMs).replace(":", "") };
}

/**
 * An EVA-DTS 6.1-style DEX audit file for one machine. Values are in **sats** (ID4 says 0 decimals and the
 * pseudo-currency "SAT"), since the machine is paid in bitcoin; counters are since the fleet first heard of it
 * (the "since initialisation" fields), so the interim fields equal them. The read-out's date and time (`EA3`) are
 * local to `timeZone` (default UTC).
 */
export function dexReport(machine: MachineSummary, counters: readonly DexSlotCounter[], nowMs: number, timeZone = "UTC"): string {
  const { date, time } = dexReadOut(nowMs, timeZone);
  const sats = (msat: bigint) => (msat / 1000n).toString();
  const lines: string[] = [
    "DXS*ZAPVEND0001*VA*V1/1*1",
    "ST*001*0001",
    `ID1*${dexText(machine.id)}*${dexText(machine.model ?? "")}*${dexText(machine.softwareVersion ?? "")}**${dexText(machine.id)}`,
    "ID4*0**SAT",
  ];
  let totalVends = 0;
  let totalMsat = 0n;
  for (const c of counters) {
    totalVends += c.vends;
    totalMsat += c.valueMsat;
    const priceSats = c.price?.unit === "msat" ? sats(BigInt(c.price.amountMsat)) : "";
    // PA101 is the product identifier: an MDB machine's VMC selection id (as the VMC's own DEX names it), else the slot.
    lines.push(`PA1*${c.selection ?? c.slot}*${priceSats}*${dexText(c.name)}`);
    lines.push(`PA2*${c.vends}*${sats(c.valueMsat)}*${c.vends}*${sats(c.valueMsat)}`);
  }
  lines.push(`VA1*${sats(totalMsat)}*${totalVends}*${sats(totalMsat)}*${totalVends}`);
  lines.push(`EA3**${date}*${time}`);
  const body = lines.join("\r\n") + "\r\n";
  const g85 = `G85*${crc16(body).toString(16).toUpperCase().padStart(4, "0")}`;
  // SE counts the segments from ST to SE inclusive.
  const se = `SE*${lines.length - 1 + 2}*0001`;
  return `${body}${g85}\r\n${se}\r\nDXE*1*1\r\n`;
}
