// A machine's events as the operator reads them ("A1 Crisps sold, 1,500 sat, drop seen") rather than JSON: one
// line per event type of protocol's EventBody (sale, refund, vend-failed, credit, fault, door, restock; an MDB
// sale names the VMC's selection). The body is read defensively (a newer machine may send more): a field that is
// missing or of another type is left out, never shown as "undefined".
import type { StoredEvent } from "@zapvend/protocol";
import { fiat, sats } from "./format.js";

type Body = Record<string, unknown>;

const s = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const rec = (v: unknown): Body | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Body) : undefined);
const amount = (v: unknown): string | undefined => (typeof v === "string" && /^[0-9]{1,25}$/.test(v) ? sats(v) : undefined);

/** `SPIRAL_JAM (the spiral jammed)` of a coded error. */
function reason(v: unknown): string {
  const r = rec(v);
  if (!r) return "no reason given";
  return [s(r.code), s(r.message) ? `(${s(r.message)})` : undefined].filter(Boolean).join(" ");
}

/** What the vend's sensors or the VMC reported. */
export function evidenceText(v: unknown): string | undefined {
  const e = rec(v);
  switch (e?.kind) {
    case "spiral":
      return `drop ${e.dropSeen === true ? "seen" : "not seen"}${e.homed === false ? ", spiral not homed" : ""}`;
    case "pour": {
      const poured = n(e.pouredMl);
      const target = n(e.targetMl);
      return poured !== undefined ? `poured ${poured.toFixed(0)}${target !== undefined ? `/${target}` : ""} ml` : "poured";
    }
    case "mdb":
      return `VMC reported VEND ${s(e.result)?.toUpperCase() ?? "?"}`;
    default:
      return undefined;
  }
}

/** The slot (and for an MDB sale the selection) with the product's name when known. */
function what(b: Body, names: ReadonlyMap<string, string>): string {
  const slot = s(b.slot) ?? "?";
  const sel = n(b.selection);
  const name = s(b.productName) ?? names.get(slot);
  const where = sel !== undefined ? `Selection ${sel}` : slot;
  return name ? `${where} ${name}` : where;
}

/** One readable line for an event; `names` maps slot ids to product names (for events that carry none). */
export function eventLine(e: Pick<StoredEvent, "type" | "body">, names: ReadonlyMap<string, string> = new Map()): string {
  const b = e.body;
  switch (e.type) {
    case "sale": {
      const f = rec(b.fiat);
      const money = [amount(b.amountMsat), f && s(f.currency) && n(f.amountMinor) !== undefined ? `(${fiat({ currency: s(f.currency)!, amountMinor: n(f.amountMinor)! })})` : undefined].filter(Boolean).join(" ");
      const credit = amount(b.paidByCreditMsat);
      return [`${what(b, names)} sold`, money || undefined, credit ? `${credit} from a credit` : undefined, evidenceText(b.evidence), b.hold === false ? "paid (no hold invoice)" : undefined]
        .filter(Boolean)
        .join(", ");
    }
    case "refund":
      return `${what(b, names)} refunded${amount(b.amountMsat) ? ` ${amount(b.amountMsat)}` : ""}: ${reason(b.reason)}${b.possiblyVended === true ? ", the product may have come out" : ""}`;
    case "vend-failed": {
      const ev = evidenceText(b.evidence);
      return `${what(b, names)} vend failed: ${reason(b.reason)}${ev ? `, ${ev}` : ""}`;
    }
    case "credit":
      return `${what(b, names)} credit of ${amount(b.amountMsat) ?? "?"} given to the buyer: ${reason(b.reason)}`;
    case "fault": {
      const f = rec(b.fault);
      const code = s(f?.code) ?? "?";
      return b.active === false ? `Fault ${code} cleared` : `Fault ${code} raised${s(b.severity) ? ` (${s(b.severity)})` : ""}${s(f?.message) ? `: ${s(f?.message)}` : ""}`;
    }
    case "door":
      return b.open === true ? "Door opened" : "Door closed";
    case "restock": {
      const prev = n(b.previous);
      const now = n(b.stock);
      return `${what(b, names)} restocked${prev !== undefined && now !== undefined ? ` ${prev} → ${now}` : now !== undefined ? ` to ${now}` : ""}`;
    }
    default:
      return `${String(e.type)} event`;
  }
}
