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
