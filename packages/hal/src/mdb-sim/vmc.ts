// The sim VMC: a vending machine controller with a keypad, plus the Qibixx interface in front of it, seen from the
// host's serial port. It answers the cashless-slave ASCII API (../mdb/protocol.ts) the way the docs and real-hardware
// logs show (see /work/shared/notes/qibixx-mdb.md and packages/hal/README.md), and it can be told to misbehave:
// approval timeout, VEND FAILURE, keypad cancel, VMC reset mid-session, out of service, HAT unplugged, garbage bytes.
// It is a product (the demo's third machine runs on it), not a test helper.
import { appendFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { slotOfSelection } from "@zapvend/protocol";
import { systemClock, silentLogger, type Clock, type Logger } from "../clock.js";
import { TypedEmitter } from "../events.js";
import { formatAmountText, parseAmountText } from "../mdb/amount.js";
import { LineSplitter, parseHostCommand, type HostCommand } from "../mdb/protocol.js";
import { SimVmcError, SimVmcErrorCode } from "./errors.js";
import { openPtyPair, type PtyPair } from "./pty.js";

export interface SimVmcSelection {
  /** The keypad number (the VMC's item number on the wire). */
  selection: number;
  /** Price in VMC units (scale factor × 10^-decimal places of the currency; with the defaults, cents). */
  priceUnits: number;
  name?: string;
}

export interface SimVmcOptions {
  /** The VMC's price list. Default: 10 → 150, 11 → 200, 12 → 250, 20 → 100 units. */
  selections?: SimVmcSelection[];
  /** How long the VMC waits for an approval before it gives up. Default 30 000 ms. */
  approvalTimeoutMs?: number;
  /** From the approval to the VMC's result (the spiral turning). Default 1 500 ms. */
  vendDurationMs?: number;
  /** Each step of the VMC setting the reader up after C,1 or a reset (INACTIVE → DISABLED → ENABLED). Default 200 ms. */
  setupStepMs?: number;
  /** `r,ACK` noise while the reader is on, as real interfaces flood it. 0 = none. Default 1 000 ms. */
  ackIntervalMs?: number;
  /** Lines kept in the log. Default 300. */
  logLimit?: number;
  /** Directory for the pty links (`mdb-device`, `mdb-vmc`); default a fresh temp dir, removed on close. */
  dir?: string;
  clock?: Clock;
  logger?: Logger;
  /**
   * Each physical outcome at the machine as it happens: the VMC read an approval, and a product came out (right
   * before the VMC reports VEND SUCCESS). `startSimVmc` also appends them to `ZAPVEND_SIM_PHYSICAL_LOG` when set.
   */
  onPhysical?: (event: SimVmcPhysicalEvent) => void;
}

/** What physically happened at the sim VMC (`atMs` on the sim's clock). `slot` is the selection's slot id ("S12"). */
export type SimVmcPhysicalEvent =
  | { kind: "vmc-approval"; selection: number; slot: string; atMs: number }
  | { kind: "product"; selection: number; slot: string; atMs: number };

export type SimVmcDirection = "to-host" | "from-host";
export interface SimVmcLogEntry {
  atMs: number;
  dir: SimVmcDirection;
  line: string;
}

/** What the VMC is doing, as the MDB reader sees it. */
export type SimVmcPhase = "inactive" | "disabled" | "enabled" | "idle" | "vend" | "vending";

export interface SimVmcStatus {
  /** The HAT's pty is there (false after unplug()). */
  plugged: boolean;
  /** The interface has power (false after setPowered(false): silent). */
  powered: boolean;
  /** The host switched the cashless slave on (C,1). */
  readerOn: boolean;
  /** The VMC sells through the reader (false: out of order / service mode). */
  inService: boolean;
  phase: SimVmcPhase;
  config: { currencyCode: number; scaleFactor: number; decimalPlaces: number; alwaysIdle: boolean; vendTimeoutSec?: number };
  selections: SimVmcSelection[];
  pending?: { selection: number; priceUnits: number; priceText: string; requestedAtMs: number; deadlineMs: number; approved: boolean };
  failNext: boolean;
  counts: { requests: number; approved: number; success: number; failure: number; cancelled: number; timedOut: number; denied: number; amountMismatches: number; acks: number };
}

export interface SimVmcEvents extends Record<string, unknown[]> {
  /** A line in the log (either direction; r,ACK noise excluded). */
  line: [SimVmcLogEntry];
  /** The approval bytes were read at the VMC end; `atPerfMs` is performance.now() when they were read. */
  approval: [{ selection: number; amountText: string; atPerfMs: number }];
  /** A vend finished or ended: success, failure, cancel, timeout, deny, reset. */
  outcome: [{ selection: number; outcome: "success" | "failure" | "cancelled" | "timeout" | "denied" | "reset" }];
  unplugged: [];
}

const DEFAULT_SELECTIONS: SimVmcSelection[] = [
  { selection: 10, priceUnits: 150, name: "Water" },
  { selection: 11, priceUnits: 200, name: "Cola" },
  { selection: 12, priceUnits: 250, name: "Chocolate bar" },
  { selection: 20, priceUnits: 100, name: "Chewing gum" },
];

interface SerialLike {
  open(cb: (err: Error | null) => void): void;
  write(data: string | Buffer): boolean;
  close(cb?: (err: Error | null) => void): void;
  readonly isOpen: boolean;
  on(event: string, fn: (...a: never[]) => void): unknown;
  removeAllListeners(): unknown;
}

/** Starts socat, opens the VMC end, and returns the running sim. Give `vmc.devicePath` to the MDB device. */
export async function startSimVmc(opts: SimVmcOptions = {}): Promise<SimVmc> {
  const pty = await openPtyPair(opts.dir !== undefined ? { dir: opts.dir } : {});
  const vmc = new SimVmc(pty, { ...opts, onPhysical: physicalLogger(opts.onPhysical) });
  try {
    await vmc.start();
  } catch (err) {
    await pty.close();
    throw err;
  }
  return vmc;
}

export class SimVmc extends TypedEmitter<SimVmcEvents> {
  readonly #pty: PtyPair;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #opts: Required<Pick<SimVmcOptions, "approvalTimeoutMs" | "vendDurationMs" | "setupStepMs" | "ackIntervalMs" | "logLimit">>;
  readonly #selections: Map<number, SimVmcSelection>;
  readonly #splitter = new LineSplitter();
  readonly #lines: SimVmcLogEntry[] = [];
  #port: SerialLike | undefined;
  #readerOn = false;
  #inService = true;
  #phase: SimVmcPhase = "inactive";
  #config: SimVmcStatus["config"] = { currencyCode: 978, scaleFactor: 1, decimalPlaces: 2, alwaysIdle: false };
  #pending: SimVmcStatus["pending"];
  #failNext = false;
  #plugged = true;
  #powered = true;
  readonly #onPhysical: SimVmcOptions["onPhysical"];
  #timers = new Set<unknown>();
  #vendTimer: unknown;
  #ackTimer: unknown;
  #counts: SimVmcStatus["counts"] = { requests: 0, approved: 0, success: 0, failure: 0, cancelled: 0, timedOut: 0, denied: 0, amountMismatches: 0, acks: 0 };

  constructor(pty: PtyPair, opts: SimVmcOptions = {}) {
    const logger = opts.logger ?? silentLogger;
    super(logger);
    this.#pty = pty;
    this.#clock = opts.clock ?? systemClock;
    this.#log = logger;
    this.#opts = {
      approvalTimeoutMs: opts.approvalTimeoutMs ?? 30_000,
      vendDurationMs: opts.vendDurationMs ?? 1_500,
      setupStepMs: opts.setupStepMs ?? 200,
      ackIntervalMs: opts.ackIntervalMs ?? 1_000,
      logLimit: opts.logLimit ?? 300,
    };
    this.#selections = new Map((opts.selections ?? DEFAULT_SELECTIONS).map((s) => [s.selection, { ...s }]));
    this.#onPhysical = opts.onPhysical;
  }

  /** The tty the MDB device opens. */
  get devicePath(): string {
    return this.#pty.devicePath;
  }

  async start(): Promise<void> {
    let SerialPort: new (o: Record<string, unknown>) => SerialLike;
    try {
      ({ SerialPort } = (await import("serialport")) as unknown as { SerialPort: typeof SerialPort });
    } catch (err) {
      throw new SimVmcError(SimVmcErrorCode.SERIALPORT_MISSING, `the sim VMC needs the optional dependency "serialport": ${String(err)}`);
    }
    const port = new SerialPort({ path: this.#pty.vmcPath, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new SimVmcError(SimVmcErrorCode.PTY_FAILED, `cannot open ${this.#pty.vmcPath}: ${err.message}`)) : resolve())));
    this.#port = port;
    port.on("data", (chunk: Buffer) => {
      const atPerfMs = performance.now();
      this.#splitter.push(chunk, (line) => this.#onHostLine(line, atPerfMs));
    });
    port.on("error", () => {});
    port.on("close", () => {
      this.#port = undefined;
    });
  }

  status(): SimVmcStatus {
    return {
      plugged: this.#plugged,
      powered: this.#powered,
      readerOn: this.#readerOn,
      inService: this.#inService,
      phase: this.#phase,
      config: { ...this.#config },
      selections: [...this.#selections.values()].map((s) => ({ ...s })),
      ...(this.#pending ? { pending: { ...this.#pending } } : {}),
      failNext: this.#failNext,
      counts: { ...this.#counts },
    };
  }

  /**
   * The lines exchanged, oldest first (at most `logLimit`; `r,ACK` noise is counted, not logged). Printable ASCII
   * only: other bytes appear as `\xNN`; lines are cut at 200 characters.
   */
  lines(): SimVmcLogEntry[] {
    return this.#lines.map((l) => ({ ...l }));
  }

  // ---- the keypad and the machine ----

  /** The buyer presses a selection: the VMC sends VEND REQUEST with its price. */
  select(selection: number): void {
    this.#assertPlugged();
    const item = this.#selections.get(selection);
    if (!item) throw new SimVmcError(SimVmcErrorCode.UNKNOWN_SELECTION, `selection ${selection} is not in the VMC's price list`);
    if (this.#pending) throw new SimVmcError(SimVmcErrorCode.BUSY, `a vend of selection ${this.#pending.selection} is in progress`);
    if (!this.#readerOn || (this.#phase !== "enabled" && this.#phase !== "idle")) {
      throw new SimVmcError(SimVmcErrorCode.READER_NOT_ENABLED, `the cashless reader is ${this.#readerOn ? this.#phase : "off"}: the VMC shows "cash only"`);
    }
    const priceText = formatAmountText(item.priceUnits, this.#config);
    const now = this.#clock.now();
    this.#pending = { selection, priceUnits: item.priceUnits, priceText, requestedAtMs: now, deadlineMs: now + this.#opts.approvalTimeoutMs, approved: false };
    this.#counts.requests++;
    this.#phase = "vend";
    this.#send(`c,STATUS,VEND,${priceText},${selection}`);
    this.#vendTimer = this.#after(this.#opts.approvalTimeoutMs, () => {
      // The VMC gave up waiting for an approval: it ends the session with no result line. What the Qibixx interface
      // prints here is not documented; IDLE then ENABLED is what a session end looks like on the wire.
      const p = this.#pending;
      if (!p || p.approved) return;
      this.#counts.timedOut++;
      this.#endSession(p.selection, "timeout");
    });
  }

  /** The buyer presses cancel on the keypad before the vend was approved. */
  cancel(): void {
    this.#assertPlugged();
    const p = this.#pending;
    if (!p || p.approved) throw new SimVmcError(SimVmcErrorCode.NOTHING_TO_CANCEL, p ? "the approved vend is already running" : "no vend request is open");
    this.#counts.cancelled++;
    // VMC VEND CANCEL → the interface reports `c,ERR,VEND 1` (named "vend cancelled" by pyMDBTerminal and solomdb).
    this.#send("c,ERR,VEND 1");
    this.#endSession(p.selection, "cancelled");
  }

  /** The next approved vend fails (the product does not come out): `c,ERR,VEND 3`. */
  failNext(): void {
    this.#failNext = true;
  }

  /** The VMC resets the reader (power blip, VMC reboot), mid-session or not; then sets it up again. */
  reset(): void {
    this.#assertPlugged();
    const p = this.#pending;
    this.#clearVend();
    if (p) this.emit("outcome", { selection: p.selection, outcome: "reset" });
    this.#phase = "inactive";
    this.#send("c,STATUS,INACTIVE");
    if (this.#readerOn) this.#setUpReader();
  }

  /** The operator puts the machine out of order / in service mode (false), or back in sale (true). */
  setInService(inService: boolean): void {
    this.#assertPlugged();
    this.#inService = inService;
    if (!this.#readerOn || this.#phase === "inactive") return;
    if (!inService) {
      const p = this.#pending;
      this.#clearVend();
      if (p) this.emit("outcome", { selection: p.selection, outcome: "cancelled" });
      this.#phase = "disabled";
      this.#send("c,STATUS,DISABLED");
    } else if (this.#phase === "disabled") {
      this.#phase = "enabled";
      this.#send("c,STATUS,ENABLED");
    }
  }

  /** Writes bytes that are not protocol: binary noise and lines that look almost right. None may lead to a vend. */
  sendGarbage(): void {
    this.#assertPlugged();
    const samples = [
      Buffer.from([0x00, 0xff, 0x13, 0x80, 0x7f, 0x0d, 0x0a]),
      Buffer.from("c,STATUS,VEND,1.5x,10\r\n"),
      Buffer.from("c,STATUS,VEND,1.50\r\n"),
      Buffer.from("c,VEND,SUCCES\r\n"),
      Buffer.from("c,STATUS,VEND,1.50,10,\r\n"),
      Buffer.from("C,STATUS,VEND,1.50,10\r\n"),
      Buffer.from("\xe9\xe8c,STATUS,ENABLED\r\n", "latin1"),
    ];
    for (const b of samples) {
      this.#record("to-host", b.toString("latin1").replace(/[\r\n]+$/, ""));
      this.#port?.write(b);
    }
  }

  /**
   * The interface loses power (or its firmware hangs) while its UART stays connected: it neither answers nor reports
   * anything, and the VMC sees the reader gone. Back on: it boots with the slave off, as after a power cycle.
   */
  setPowered(powered: boolean): void {
    this.#assertPlugged();
    if (powered === this.#powered) return;
    this.#powered = powered;
    if (!powered) {
      const p = this.#pending;
      this.#clearVend();
      if (p) this.emit("outcome", { selection: p.selection, outcome: "reset" });
      this.#readerOn = false;
      this.#stopAcks();
      this.#phase = "inactive";
    }
  }

  /** Writes one line as the interface would (CRLF added): for scripted faults such as a result nobody asked for. */
  sendLine(line: string): void {
    this.#assertPlugged();
    this.#record("to-host", line);
    this.#port?.write(`${line}\r\n`);
  }

  /** The HAT is unplugged: the pty pair goes away and the device's port closes. */
  async unplug(): Promise<void> {
    if (!this.#plugged) return;
    this.#plugged = false;
    this.#readerOn = false;
    this.#clearVend();
    this.#stopAcks();
    this.#phase = "inactive";
    // Our own end first: a tty whose far end is gone reads as endless EOF, which serialport would spin on.
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    port?.removeAllListeners();
    // A write still queued on the dead tty fails later with EIO ("error"): never an uncaught exception.
    port?.on("error", () => {});
    await this.#pty.close();
    this.emit("unplugged");
  }

  async close(): Promise<void> {
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    this.#timers.clear();
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    port?.removeAllListeners();
    this.#plugged = false;
    await this.#pty.close();
    this.removeAllListeners();
  }

  // ---- the interface's side of the protocol ----

  #onHostLine(line: string, atPerfMs: number): void {
    this.#record("from-host", line);
    if (!this.#powered) return;
    const cmd = parseHostCommand(line);
    if (!cmd) {
      this.#send(`c,UNKNOWN,${line.replace(/[^\x20-\x7e]/g, "?").slice(0, 40)}`);
      return;
    }
    this.#onCommand(cmd, atPerfMs);
  }

  #onCommand(cmd: HostCommand, atPerfMs: number): void {
    switch (cmd.kind) {
      case "version":
        return this.#send("v,0.0.1.0,SIMVMC0001");
      case "hardware":
        return this.#send("h,1.0,sim-vmc");
      case "slave":
        if (cmd.on) {
          if (this.#readerOn) return this.#send('c,ERR,"cashless is on"');
          this.#readerOn = true;
          this.#send("c,STATUS,INACTIVE");
          this.#send("c,1");
          this.#startAcks();
          this.#setUpReader();
        } else {
          this.#readerOn = false;
          this.#stopAcks();
          const p = this.#pending;
          this.#clearVend();
          if (p) this.emit("outcome", { selection: p.selection, outcome: "cancelled" });
          this.#phase = "inactive";
          this.#send("c,0");
        }
        return;
      case "setconf":
        if (this.#readerOn) return this.#send('c,ERR,"cashless is on"');
        return this.#setconf(cmd.param, cmd.value);
      case "start":
        if (!this.#readerOn || this.#phase !== "enabled") return this.#send('c,ERR,"START -3"');
        this.#phase = "idle";
        return this.#send(`c,STATUS,IDLE,${cmd.funds}`);
      case "stop":
        if (this.#pending && !this.#pending.approved) {
          this.#counts.denied++;
          return this.#endSession(this.#pending.selection, "denied");
        }
        if (this.#phase === "idle") {
          this.#phase = "enabled";
          return this.#send("c,STATUS,ENABLED");
        }
        return;
      case "deny": {
        const p = this.#pending;
        if (!p || p.approved) return this.#send('c,ERR,"VEND -3"');
        this.#counts.denied++;
        this.#sendAck();
        return this.#endSession(p.selection, "denied");
      }
      case "approve":
        return this.#onApprove(cmd.amount, atPerfMs);
      case "display":
      case "revalue":
        return;
    }
  }

  #onApprove(amountText: string, atPerfMs: number): void {
    const p = this.#pending;
    if (!p || p.approved || this.#phase !== "vend") return this.#send('c,ERR,"VEND -3"');
    const approvedUnits = parseAmountText(amountText, this.#config);
    // Real interfaces have passed on an approval that differed from the request (ln-vending's log); the sim vends
    // too, but counts it, so a test can assert that zapvend never does this.
    if (approvedUnits !== p.priceUnits) this.#counts.amountMismatches++;
    p.approved = true;
    this.#counts.approved++;
    this.#phase = "vending";
    this.#clock.clearTimeout(this.#vendTimer);
    this.emit("approval", { selection: p.selection, amountText, atPerfMs });
    this.#physical({ kind: "vmc-approval", selection: p.selection, slot: slotOfSelection(p.selection), atMs: this.#clock.now() });
    this.#sendAck();
    this.#vendTimer = this.#after(this.#opts.vendDurationMs, () => {
      if (this.#pending !== p) return;
      if (this.#failNext) {
        this.#failNext = false;
        this.#counts.failure++;
        this.#send("c,ERR,VEND 3");
        this.#endSession(p.selection, "failure");
      } else {
        this.#counts.success++;
        // The product is out before the VMC says so.
        this.#physical({ kind: "product", selection: p.selection, slot: slotOfSelection(p.selection), atMs: this.#clock.now() });
        this.#send("c,VEND,SUCCESS");
        this.#endSession(p.selection, "success");
      }
    });
  }

  #setconf(param: string, value: string): void {
    const int = /^[0-9]+$/.test(value) ? Number(value) : undefined;
    switch (param) {
      case "mdb-currency-code": {
        const m = /^0x1([0-9]{3})$/.exec(value);
        if (!m) return this.#send('c,ERR,"SETCONF -2"');
        this.#config.currencyCode = Number(m[1]);
        break;
      }
      case "mdb-scale-factor":
        if (int === undefined || int < 1 || int > 100) return this.#send('c,ERR,"SETCONF -2"');
        this.#config.scaleFactor = int;
        break;
      case "mdb-decimal-places":
        if (int === undefined || int > 3) return this.#send('c,ERR,"SETCONF -2"');
        this.#config.decimalPlaces = int;
        break;
      case "mdb-always-idle":
        if (value !== "0" && value !== "1") return this.#send('c,ERR,"SETCONF -2"');
        this.#config.alwaysIdle = value === "1";
        break;
      case "mdb-timeout-vend":
        if (int === undefined) return this.#send('c,ERR,"SETCONF -2"');
        this.#config.vendTimeoutSec = int;
        break;
      // Accepted and ignored by the sim: they change MDB timing or addressing, not the ASCII conversation.
      case "mdb-address":
      case "mdb-addr":
      case "mdb-ftl-enabled":
      case "mdb-timeout":
      case "mdb-timeout-idle":
      case "mdb-cashsale-enabled":
      case "mdb-restore-funds":
      case "mdb-display-time":
        break;
      default:
        return this.#send('c,ERR,"SETCONF -1"');
    }
    this.#send("c,SET,OK");
  }

  /** The VMC sets the reader up: SETUP/ENABLE over MDB, seen by the host as DISABLED then ENABLED. */
  #setUpReader(): void {
    this.#after(this.#opts.setupStepMs, () => {
      if (!this.#readerOn || this.#phase !== "inactive") return;
      this.#phase = "disabled";
      this.#send("c,STATUS,DISABLED");
      this.#after(this.#opts.setupStepMs, () => {
        if (!this.#readerOn || this.#phase !== "disabled" || !this.#inService) return;
        this.#phase = "enabled";
        this.#send("c,STATUS,ENABLED");
      });
    });
  }

  #endSession(selection: number, outcome: SimVmcEvents["outcome"][0]["outcome"]): void {
    this.#clearVend();
    this.emit("outcome", { selection, outcome });
    this.#phase = "idle";
    this.#send("c,STATUS,IDLE");
    this.#phase = "enabled";
    this.#send("c,STATUS,ENABLED");
  }

  #clearVend(): void {
    this.#clock.clearTimeout(this.#vendTimer);
    this.#timers.delete(this.#vendTimer);
    this.#vendTimer = undefined;
    this.#pending = undefined;
  }

  #startAcks(): void {
    if (this.#opts.ackIntervalMs <= 0) return;
    const tick = () => {
      this.#sendAck();
      this.#ackTimer = this.#after(this.#opts.ackIntervalMs, tick);
    };
    this.#ackTimer = this.#after(this.#opts.ackIntervalMs, tick);
  }

  #stopAcks(): void {
    this.#clock.clearTimeout(this.#ackTimer);
    this.#timers.delete(this.#ackTimer);
  }

  #sendAck(): void {
    if (!this.#powered || !this.#plugged) return;
    this.#counts.acks++;
    this.#port?.write("r,ACK\r\n");
  }

  #send(line: string): void {
    if (!this.#powered || !this.#plugged) return;
    this.#record("to-host", line);
    // The interface ends its lines with CRLF.
    this.#port?.write(`${line}\r\n`);
  }

  #record(dir: SimVmcDirection, raw: string): void {
    // The log is shown to people (the demo's GET /api/demo/vmc): bytes outside printable ASCII are written as \xNN,
    // and a line is cut at 200 characters.
    const printable = raw.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
    const line = printable.length > 200 ? `${printable.slice(0, 197)}...` : printable;
    const entry = { atMs: this.#clock.now(), dir, line };
    this.#lines.push(entry);
    if (this.#lines.length > this.#opts.logLimit) this.#lines.shift();
    this.#log.info(dir === "to-host" ? "vmc ->" : "vmc <-", { line });
    this.emit("line", entry);
  }

  #after(ms: number, fn: () => void): unknown {
    const t = this.#clock.setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #physical(event: SimVmcPhysicalEvent): void {
    try {
      this.#onPhysical?.(event);
    } catch (err) {
      this.#log.error("physical record failed", { err: String(err) });
    }
  }

  #assertPlugged(): void {
    if (!this.#plugged) throw new SimVmcError(SimVmcErrorCode.UNPLUGGED, "the MDB interface is unplugged");
  }
}

/**
 * Opt-in for crash and chaos tests, as the sim board's: with `ZAPVEND_SIM_PHYSICAL_LOG=<file>` every physical outcome
 * of the sim VMC is appended to that file as one JSON line, synchronously, so it outlives a SIGKILL of the daemon:
 * the record of what came out that does not come from the machine's journal.
 */
function physicalLogger(inner: SimVmcOptions["onPhysical"]): SimVmcOptions["onPhysical"] {
  const file = process.env.ZAPVEND_SIM_PHYSICAL_LOG;
  if (!file) return inner;
  return (event) => {
    inner?.(event);
    appendFileSync(file, `${JSON.stringify({ ...event, pid: process.pid })}\n`);
  };
}
