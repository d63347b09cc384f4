import type { FiatAmount, Price } from "@zapvend/protocol";

/** msat (decimal string) as whole sats with grouping; sub-sat amounts keep their decimals. */
export function sats(amountMsat: string): string {
  const v = BigInt(amountMsat);
  const whole = (v / 1000n).toLocaleString("en-US");
  const frac = v % 1000n;
  return frac === 0n ? `${whole} sat` : `${whole}.${frac.toString().padStart(3, "0").replace(/0+$/, "")} sat`;
}

export function fiatDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export function fiat(f: FiatAmount): string {
  const d = fiatDigits(f.currency);
  return `${(f.amountMinor / 10 ** d).toFixed(d)} ${f.currency}`;
}

export function price(p: Price): string {
  return p.unit === "msat" ? sats(p.amountMsat) : fiat({ currency: p.currency, amountMinor: p.amountMinor });
}

export function ago(ms: number | null, now: number): string {
  if (ms === null) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/**
 * Parses what the operator typed as a new price, in the unit of the current one: whole sats for an msat price,
 * the currency's decimal amount for a fiat price. Returns null for anything that is not a valid amount.
 */
export function parsePriceInput(text: string, current: Price): Price | null {
  const t = text.trim();
  if (current.unit === "msat") {
    if (!/^[0-9]{1,15}$/.test(t)) return null;
    return { unit: "msat", amountMsat: (BigInt(t) * 1000n).toString() };
  }
  const d = fiatDigits(current.currency);
  const m = new RegExp(`^([0-9]{1,9})(?:\\.([0-9]{1,${Math.max(d, 1)}}))?$`).exec(t);
  if (!m || (d === 0 && m[2] !== undefined)) return null;
  const minor = Number(m[1]) * 10 ** d + Number((m[2] ?? "").padEnd(d, "0") || "0");
  return { unit: "fiat", currency: current.currency, amountMinor: minor };
}

/** The editable text of a price. */
export function priceInput(p: Price): string {
  if (p.unit === "msat") return (BigInt(p.amountMsat) / 1000n).toString();
  const d = fiatDigits(p.currency);
  return (p.amountMinor / 10 ** d).toFixed(d);
}
