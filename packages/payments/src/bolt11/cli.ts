import type { Network } from "@zapvend/protocol";
import { NetworkSchema } from "@zapvend/protocol";
import { decodeInvoice } from "./decode.js";
import { InvoiceError, InvoiceErrorCode, isInvoiceError } from "./errors.js";
import { invoiceToJson } from "./json.js";

export const USAGE = `usage:
  zapvend-invoice decode <bolt11>
  zapvend-invoice verify <bolt11> --payee <node key hex> [--amount-msat <msat>] [--network <network>]`;

/** Where the CLI writes; the bin passes the process streams, tests pass buffers. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Exit codes: 0 valid, 1 the invoice is invalid (or fails the check), 2 the command line is wrong. */
export const CliExit = { OK: 0, INVALID: 1, USAGE: 2 } as const;
export type CliExit = (typeof CliExit)[keyof typeof CliExit];

class UsageError extends Error {}

function parseFlags(args: readonly string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      const value = eq === -1 ? args[++i] : a.slice(eq + 1);
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (flags.has(name)) throw new UsageError(`--${name} is given twice`);
      flags.set(name, value);
    } else {
      positional.push(a);
    }
  }
  return { positional, flags };
}

/**
 * `zapvend-invoice decode <bolt11>`: the decoded invoice as JSON on stdout (the DESIGN.md contract), the payee key
 * recovered from the signature (or the `n` field). `verify <bolt11> --payee <key> [--amount-msat N] [--network n]`:
 * the same JSON when the invoice is signed by that node (and has that amount and network). Any invalid invoice:
 * exit 1, one line `error: <code>: <message>` on stderr, nothing on stdout.
 */
export function runInvoiceCli(argv: readonly string[], io: CliIo): CliExit {
  try {
    const [command, ...rest] = argv;
    const { positional, flags } = parseFlags(rest);
    if (command !== "decode" && command !== "verify") throw new UsageError(command === undefined ? "no command" : `unknown command "${command}"`);
    if (positional.length !== 1) throw new UsageError(`${command} takes exactly one invoice`);
    const bolt11 = (positional[0] as string).trim();
    if (command === "decode") {
      if (flags.size > 0) throw new UsageError(`decode takes no option (got --${[...flags.keys()][0]})`);
      io.stdout(JSON.stringify(invoiceToJson(decodeInvoice(bolt11)), null, 2) + "\n");
      return CliExit.OK;
    }
    for (const name of flags.keys()) {
      if (!["payee", "amount-msat", "network"].includes(name)) throw new UsageError(`unknown option --${name}`);
    }
    const payee = flags.get("payee");
    if (payee === undefined) throw new UsageError("verify needs --payee <node key hex>");
    const amountArg = flags.get("amount-msat");
    if (amountArg !== undefined && !/^(0|[1-9][0-9]{0,18})$/.test(amountArg)) throw new UsageError("--amount-msat must be a whole number of msat");
    const networkArg = flags.get("network");
    let network: Network | undefined;
    if (networkArg !== undefined) {
      const parsed = NetworkSchema.safeParse(networkArg);
      if (!parsed.success) throw new UsageError(`--network must be one of ${NetworkSchema.options.join(", ")}`);
      network = parsed.data;
    }
    const inv = decodeInvoice(bolt11, { payeeNodeKey: payee });
    if (amountArg !== undefined && inv.amountMsat !== BigInt(amountArg)) {
      throw new InvoiceError(
        InvoiceErrorCode.WRONG_AMOUNT,
        inv.amountMsat === null ? `the invoice has no amount, expected ${amountArg} msat` : `the invoice asks ${inv.amountMsat} msat, expected ${amountArg} msat`,
      );
    }
    if (network !== undefined && inv.network !== network) {
      throw new InvoiceError(InvoiceErrorCode.WRONG_NETWORK, `the invoice is for ${inv.network}, expected ${network}`);
    }
    io.stdout(JSON.stringify(invoiceToJson(inv), null, 2) + "\n");
    return CliExit.OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: usage: ${err.message}\n${USAGE}\n`);
      return CliExit.USAGE;
    }
    if (isInvoiceError(err)) {
      // One line, whatever the message holds: tools read stderr line by line.
      io.stderr(`error: ${err.code}: ${err.message.replace(/[\r\n]+/g, " ")}\n`);
      return CliExit.INVALID;
    }
    throw err;
  }
}
