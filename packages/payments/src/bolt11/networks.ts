import type { Network } from "@zapvend/protocol";
import { bech32, bech32m, createBase58check } from "@scure/base";
import { sha256 } from "./crypto.js";

/** BOLT 11 currency prefixes (after "ln") and the networks they name. */
export const CURRENCY_PREFIX: Readonly<Record<Network, string>> = {
  bitcoin: "bc",
  testnet: "tb",
  signet: "tbs",
  regtest: "bcrt",
  simnet: "sb",
};

export const NETWORK_OF_PREFIX: ReadonlyMap<string, Network> = new Map(
  (Object.entries(CURRENCY_PREFIX) as [Network, string][]).map(([n, p]) => [p, n]),
);

// Address encodings of fallback addresses per network: base58 version bytes for P2PKH / P2SH and the segwit hrp.
// Signet shares testnet's; simnet is btcd's (lnd's `lnsb`).
const ADDRESS_PARAMS: Readonly<Record<Network, { p2pkh: number; p2sh: number; segwitHrp: string }>> = {
  bitcoin: { p2pkh: 0x00, p2sh: 0x05, segwitHrp: "bc" },
  testnet: { p2pkh: 0x6f, p2sh: 0xc4, segwitHrp: "tb" },
  signet: { p2pkh: 0x6f, p2sh: 0xc4, segwitHrp: "tb" },
  regtest: { p2pkh: 0x6f, p2sh: 0xc4, segwitHrp: "bcrt" },
  simnet: { p2pkh: 0x3f, p2sh: 0x7b, segwitHrp: "sb" },
};

const base58check = createBase58check(sha256);

/** The kind of on-chain output a fallback address pays to. */
export type FallbackType = "p2pkh" | "p2sh" | "p2wpkh" | "p2wsh" | "p2tr" | "witness";

/** A fallback on-chain address (`f` field). */
export interface FallbackAddress {
  readonly type: FallbackType;
  /** 17 = P2PKH, 18 = P2SH, 0..16 = witness version. */
  readonly version: number;
  /** The hash or witness program, hex. */
  readonly program: string;
  /** The address as a wallet shows it, for the invoice's network. */
  readonly address: string;
}

/**
 * Whether `program` has a valid length for `version`: 20 bytes for P2PKH/P2SH, 20 or 32 for witness v0 (BIP 141),
 * 2..40 for witness v1..v16 (BIP 141/350). Versions above 18 are unknown (readers skip them).
 */
export function fallbackLengthValid(version: number, length: number): boolean {
  if (version === 17 || version === 18) return length === 20;
  if (version === 0) return length === 20 || length === 32;
  return length >= 2 && length <= 40;
}

export function fallbackAddress(network: Network, version: number, program: Uint8Array): FallbackAddress {
  const params = ADDRESS_PARAMS[network];
  const programHex = Buffer.from(program).toString("hex");
  if (version === 17 || version === 18) {
    const payload = new Uint8Array(21);
    payload[0] = version === 17 ? params.p2pkh : params.p2sh;
    payload.set(program, 1);
    return { type: version === 17 ? "p2pkh" : "p2sh", version, program: programHex, address: base58check.encode(payload) };
  }
  const words = [version, ...bech32.toWords(program)];
  // BIP 350: witness v0 keeps bech32, v1 and later use bech32m.
  const address = version === 0 ? bech32.encode(params.segwitHrp, words, false) : bech32m.encode(params.segwitHrp, words, false);
  const type: FallbackType =
    version === 0 ? (program.length === 20 ? "p2wpkh" : "p2wsh") : version === 1 && program.length === 32 ? "p2tr" : "witness";
  return { type, version, program: programHex, address };
}
