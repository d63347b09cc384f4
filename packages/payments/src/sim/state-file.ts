// The sim node's state file (`--state-file`): what a real LND keeps in its database across a restart (invoices with
// their HTLCs, preimages and settled state, the wallet's balance and payments, the block height), so that the node can
// be killed and started again and the machines find every invoice where they left it.
//
// Format: JSON lines, append-only. Line 1 is a header naming the node (`{"kind":"zapvend-sim-node-state","version":1,
// "pubkey","network"}`); every further line is one change, written (and fsynced) as a whole before the node answers
// the request that caused it: the full new state of each invoice and wallet payment it touched, the balance and the
// block height when they changed. Loading replays the lines in order (last write wins); a torn last line (a SIGKILL
// in the middle of a write, whose request was therefore never answered) is skipped. At every start the file is
// compacted: header + one line with everything, written to a temp file, fsynced and renamed over the old one.
//
// One node per file: `lock()` creates `<file>.lock` holding the process id (exclusive create), and refuses while a
// live process holds it; a lock left by a killed node (its process gone) is taken over. `close()` removes it.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { SimInvoice, SimWalletPayment } from "./node.js";

export const SIM_STATE_KIND = "zapvend-sim-node-state";
export const SIM_STATE_VERSION = 1;

/** Everything the node keeps, as loaded from the file. */
export interface SimNodeState {
  invoices: SimInvoice[];
  /** The wallet's payments by their position in the wallet's list. */
  payments: Map<number, SimWalletPayment>;
  balanceMsat: bigint | undefined;
  blockHeight: number | undefined;
}

/** One change: the state after it of whatever it touched. */
export interface SimStateChange {
  invoices?: SimInvoice[];
  payments?: Array<{ index: number; payment: SimWalletPayment }>;
  balanceMsat?: bigint;
  blockHeight?: number;
}

export interface SimStateHeader {
  pubkey: string;
  network: string;
}

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const Msat = z.string().regex(/^-?(0|[1-9][0-9]*)$/);
const Ms = z.number().int().min(0);

const HtlcRecord = z.strictObject({
  htlcIndex: z.number().int().min(0),
  amtMsat: Msat,
  acceptHeight: z.number().int(),
  acceptTimeMs: Ms,
  resolveTimeMs: Ms,
  expiryHeight: z.number().int(),
  state: z.enum(["ACCEPTED", "SETTLED", "CANCELED"]),
});

const InvoiceRecord = z.strictObject({
  paymentHash: Hex32,
  preimage: Hex32.nullable(),
  hold: z.boolean(),
  memo: z.string(),
  valueMsat: Msat,
  expirySec: z.number().int().min(0),
  cltvExpiry: z.number().int().min(0),
  createdAtMs: Ms,
  bolt11: z.string(),
  paymentAddr: z.string(),
  state: z.enum(["OPEN", "ACCEPTED", "SETTLED", "CANCELED"]),
  htlcs: z.array(HtlcRecord),
  addIndex: z.number().int().min(0),
  settleIndex: z.number().int().min(0),
  settledAtMs: Ms,
  amtPaidMsat: Msat,
});

const PaymentRecord = z.strictObject({
  index: z.number().int().min(0),
  paymentHash: z.string(),
  amountMsat: Msat,
  status: z.enum(["in_flight", "succeeded", "failed"]),
  startedAtMs: Ms,
  error: z.string().optional(),
});

const HeaderRecord = z.strictObject({ kind: z.literal(SIM_STATE_KIND), version: z.literal(SIM_STATE_VERSION), pubkey: z.string(), network: z.string() });

const ChangeRecord = z.strictObject({
  at: Ms,
  invoices: z.array(InvoiceRecord).optional(),
  payments: z.array(PaymentRecord).optional(),
  balanceMsat: Msat.optional(),
  blockHeight: z.number().int().min(0).optional(),
});

type InvoiceRecord = z.infer<typeof InvoiceRecord>;
type PaymentRecord = z.infer<typeof PaymentRecord>;

function invoiceToRecord(inv: SimInvoice): InvoiceRecord {
  return {
    ...inv,
    preimage: inv.preimage ?? null,
    valueMsat: inv.valueMsat.toString(),
    amtPaidMsat: inv.amtPaidMsat.toString(),
    htlcs: inv.htlcs.map((h) => ({ ...h, amtMsat: h.amtMsat.toString() })),
  };
}

function invoiceFromRecord(r: InvoiceRecord): SimInvoice {
  return {
    ...r,
    preimage: r.preimage ?? undefined,
    valueMsat: BigInt(r.valueMsat),
    amtPaidMsat: BigInt(r.amtPaidMsat),
    htlcs: r.htlcs.map((h) => ({ ...h, amtMsat: BigInt(h.amtMsat) })),
  };
}

function paymentToRecord(index: number, p: SimWalletPayment): PaymentRecord {
  return { index, paymentHash: p.paymentHash, amountMsat: p.amountMsat.toString(), status: p.status, startedAtMs: p.startedAtMs, ...(p.error !== undefined ? { error: p.error } : {}) };
}

function paymentFromRecord(r: PaymentRecord): SimWalletPayment {
  const { index: _index, amountMsat, ...rest } = r;
  return { ...rest, amountMsat: BigInt(amountMsat) };
}

/** Why a state file cannot be used (not a torn last line: that one is skipped). */
export class SimStateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimStateFileError";
  }
}

export class SimStateFile {
  private fd: number | undefined;
  private locked = false;

  constructor(readonly file: string) {}

  get lockFile(): string {
    return `${this.file}.lock`;
  }

  /**
   * Takes the file for this process: two nodes appending to one file would each compact away the other's changes.
   * Throws a `SimStateFileError` naming the process that holds it; a lock whose process is gone (a SIGKILLed node)
   * is taken over.
   */
  lock(): void {
    if (this.locked) return;
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(this.lockFile, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
        this.locked = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
      }
      let pid = Number.NaN;
      try {
        pid = Number.parseInt(readFileSync(this.lockFile, "utf8"), 10);
      } catch {
        // Removed in between by the node that held it: try again.
      }
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new SimStateFileError(
          `${this.file} is in use by the sim node of process ${pid} (one node per state file; if that process is not a sim node, remove ${this.lockFile})`,
        );
      }
      try {
        unlinkSync(this.lockFile);
      } catch {
        // Already gone.
      }
    }
  }

  /**
   * Reads the file: `undefined` when there is none (or it is empty), else its header and the state its lines add up
   * to, with `tornLine` set when a damaged last line was skipped. A damaged line before the last one, a missing header
   * or a record of the wrong shape is a `SimStateFileError`: the file is not silently half-read.
   */
  read(): { header: SimStateHeader; state: SimNodeState; records: number; tornLine: boolean } | undefined {
    if (!existsSync(this.file)) return undefined;
    const text = readFileSync(this.file, "utf8");
    if (text.length === 0) return undefined;
    const lines = text.split("\n");
    // The index of the last line with content: only that one may be torn.
    let last = lines.length - 1;
    while (last >= 0 && (lines[last] ?? "").trim() === "") last--;
    const state: SimNodeState = { invoices: [], payments: new Map(), balanceMsat: undefined, blockHeight: undefined };
    const invoices = new Map<string, SimInvoice>();
    let header: SimStateHeader | undefined;
    let records = 0;
    let tornLine = false;
    for (let i = 0; i <= last; i++) {
      const line = lines[i] ?? "";
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        if (i === last && header) {
          tornLine = true;
          break;
        }
        throw new SimStateFileError(`${this.file}:${i + 1}: not a JSON line${i === 0 ? " (not a sim node state file)" : " in the middle of the file: the file is damaged"}`);
      }
      if (!header) {
        const h = HeaderRecord.safeParse(value);
        if (!h.success) throw new SimStateFileError(`${this.file}:1: not a sim node state file (want {"kind":"${SIM_STATE_KIND}","version":${SIM_STATE_VERSION},...})`);
        header = { pubkey: h.data.pubkey, network: h.data.network };
        continue;
      }
      const c = ChangeRecord.safeParse(value);
      if (!c.success) {
        // A line that parses as JSON but is cut short cannot happen (a cut line is not JSON); a wrong shape is damage.
        throw new SimStateFileError(`${this.file}:${i + 1}: not a sim node state record: ${c.error.issues[0]?.message ?? "bad shape"}`);
      }
      records++;
      for (const r of c.data.invoices ?? []) invoices.set(r.paymentHash, invoiceFromRecord(r));
      for (const r of c.data.payments ?? []) state.payments.set(r.index, paymentFromRecord(r));
      if (c.data.balanceMsat !== undefined) state.balanceMsat = BigInt(c.data.balanceMsat);
      if (c.data.blockHeight !== undefined) state.blockHeight = c.data.blockHeight;
    }
    if (!header) return undefined;
    state.invoices = [...invoices.values()].sort((a, b) => a.addIndex - b.addIndex);
    return { header, state, records, tornLine };
  }

  /**
   * Replaces the file with `header` and one record of the whole `state` (temp file, fsync, rename, fsync of the
   * folder: a crash leaves the old file or the new one, never a mix), then opens it to append changes.
   */
  rewrite(header: SimStateHeader, state: { invoices: SimInvoice[]; payments: SimWalletPayment[]; balanceMsat: bigint; blockHeight: number }, nowMs: number): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const tmp = `${this.file}.tmp`;
    const lines = [
      JSON.stringify({ kind: SIM_STATE_KIND, version: SIM_STATE_VERSION, pubkey: header.pubkey, network: header.network }),
      JSON.stringify({
        at: nowMs,
        invoices: state.invoices.map(invoiceToRecord),
        payments: state.payments.map((p, i) => paymentToRecord(i, p)),
        balanceMsat: state.balanceMsat.toString(),
        blockHeight: state.blockHeight,
      }),
    ];
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeAll(fd, `${lines.join("\n")}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    fsyncDir(path.dirname(path.resolve(this.file)));
    this.fd = openSync(this.file, "a");
  }

  /** Appends one change and fsyncs it: when this returns, the change survives a SIGKILL or a power loss. */
  append(change: SimStateChange, nowMs: number): void {
    if (this.fd === undefined) throw new Error("SimStateFile: not open (rewrite() first, or closed)");
    const record = {
      at: nowMs,
      ...(change.invoices?.length ? { invoices: change.invoices.map(invoiceToRecord) } : {}),
      ...(change.payments?.length ? { payments: change.payments.map((p) => paymentToRecord(p.index, p.payment)) } : {}),
      ...(change.balanceMsat !== undefined ? { balanceMsat: change.balanceMsat.toString() } : {}),
      ...(change.blockHeight !== undefined ? { blockHeight: change.blockHeight } : {}),
    };
    writeAll(this.fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.fd);
  }

  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  /** Closes the file and gives up the lock. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.locked) {
      this.locked = false;
      try {
        unlinkSync(this.lockFile);
      } catch {
        // Already gone.
      }
    }
  }
}

/** Whether a process with this id exists (EPERM: it does, owned by another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** Makes a rename durable. Not every platform can open a folder (Windows cannot): there the rename is left to the OS. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
