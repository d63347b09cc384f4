// Builds BOLT 11 strings for the fake servers: the right prefix, amount, timestamp, payment hash and description,
// with a checksum that decodes, but a signature of random bytes (the fakes stand in for services that sign with a
// node key the tests do not need; signature checks belong to the payment core's verifyInvoice tests).
import { randomBytes } from "node:crypto";
import { bech32 } from "@scure/base";

function intToWords(n: number, len: number): number[] {
  const out: number[] = [];
  for (let i = len - 1; i >= 0; i--) out.push(Math.floor(n / 32 ** i) % 32);
  return out;
}

function tag(type: number, data: number[]): number[] {
  return [type, Math.floor(data.length / 32), data.length % 32, ...data];
}

/** An invoice for `amountMsat`, on regtest by default. */
export function fakeBolt11(opts: { paymentHash: string; amountMsat: bigint; description?: string; timestampSec?: number; prefix?: string }): string {
  // 1 msat = 10 pico-BTC; `n` (100 msat) where the amount allows, as real nodes write it.
  const amount = opts.amountMsat % 100n === 0n ? `${opts.amountMsat / 100n}n` : `${opts.amountMsat * 10n}p`;
  const prefix = `${opts.prefix ?? "lnbcrt"}${amount}`;
  const words = [
    ...intToWords(opts.timestampSec ?? 1_763_700_000, 7),
    ...tag(1, bech32.toWords(Buffer.from(opts.paymentHash, "hex"))),
    ...tag(13, bech32.toWords(Buffer.from(opts.description ?? "", "utf8"))),
    ...bech32.toWords(randomBytes(65)),
  ];
  return bech32.encode(prefix, words, 10_000);
}
