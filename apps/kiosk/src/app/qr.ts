import { encode } from "uqr";

/**
 * What the payment QR encodes: the invoice in upper case behind an upper-case `LIGHTNING:` scheme (URI schemes and
 * bech32 are case-insensitive). Upper case fits QR's alphanumeric mode, 5.5 bits a character instead of 8, so the
 * code is less dense and scans from further away.
 */
export function paymentUri(bolt11: string): string {
  return `LIGHTNING:${bolt11.toUpperCase()}`;
}

/** The wallet link (`lightning:` + invoice) a phone opens when the buyer taps instead of scanning. */
export function walletLink(bolt11: string): string {
  return `lightning:${bolt11.toLowerCase()}`;
}

/** A QR code as an SVG path over a `size` x `size` grid (quiet zone included), one unit per module. */
export function qrPath(text: string): { size: number; d: string } {
  // ECC M: still scans with a smudge or glare on the glass of a machine's screen.
  const qr = encode(text, { ecc: "M", border: 4 });
  let d = "";
  qr.data.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) d += `M${x} ${y}h1v1h-1z`;
    });
  });
  return { size: qr.size, d };
}
