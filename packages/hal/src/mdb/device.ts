// The MDB cashless device over a serial port: the host side of the Qibixx cashless-slave API (protocol.ts).
// Lines from the interface are asynchronous and interleaved (the VMC's r,ACK flood, status changes, vend requests),
// so everything is event-driven: commands wait for their own answer among the other lines, never for "the next line".
import { systemClock, silentLogger, type Clock, type Logger } from "../clock.js";
import { TypedEmitter } from "../events.js";
import { formatAmountText, parseAmountText, resolveMdbSettings } from "./amount.js";
import { MdbError, MdbErrorCode } from "./errors.js";
import { LineSplitter, parseHatLine, setconfCommands, type HatLine } from "./protocol.js";
import {
  MdbCancelReason,
  MdbState,
  type MdbCashlessDevice,
  type MdbDeviceEvents,
  type MdbStats,
  type MdbVendRequest,
  type OpenMdbDeviceOptions,
  type ResolvedMdbSettings,
} from "./types.js";

/** Qibixx MDB-USB and Pi HAT: 115200 baud, 8N1 (docs.qibixx.com, api-general). */
export const QIBIXX_BAUD_RATE = 115_200;

/** The few members of a serialport stream this device uses. */
interface PortLike {
  open(cb: (err: Error | null) => void): void;
  write(data: string): boolean;
  drain(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): void;
  readonly isOpen: boolean;
  on(event: "data", fn: (chunk: Buffer) => void): unknown;
  on(event: "close", fn: (err?: Error | null) => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
  removeAllListeners(): unknown;
}

type Expect = (line: HatLine) => "done" | Error | undefined;
interface Waiter {
  expect: Expect;
  resolve: () => void;
  reject: (err: Error) => void;
}
interface PendingVend {
  request: MdbVendRequest;
  approved: boolean;
}

export function openMdbDevice(opts: OpenMdbDeviceOptions): MdbCashlessDevice {
  return new SerialMdbDevice(opts);
}

class SerialMdbDevice extends TypedEmitter<MdbDeviceEvents> implements MdbCashlessDevice {
  readonly settings: ResolvedMdbSettings;
  readonly #opts: OpenMdbDeviceOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #replyTimeoutMs: number;
  readonly #livenessMs: number;
  #livenessTimer: unknown;
  #lostError: MdbError | undefined;
  #port: PortLike | undefined;
  #state: MdbState = MdbState.INACTIVE;
  /** The VMC has set the reader up since the last reset (so a later INACTIVE is a reset, not the start). */
  #setUp = false;
  #pending: PendingVend | undefined;
  #waiters = new Set<Waiter>();
  #queue: Promise<unknown> = Promise.resolve();
  #closing = false;
  #version: string | undefined;
  #stats: MdbStats = { linesRead: 0, acks: 0, badLines: 0 };
  readonly #splitter = new LineSplitter();

  constructor(opts: OpenMdbDeviceOptions) {
    const logger = opts.logger ?? silentLogger;
    super(logger);
    this.settings = resolveMdbSettings(opts.settings);
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#log = logger;
    this.#replyTimeoutMs = opts.replyTimeoutMs ?? 2000;
    this.#livenessMs = opts.livenessMs ?? 5000;
  }

  get state(): MdbState {
    return this.#state;
  }
  get pendingVend(): MdbVendRequest | undefined {
    return this.#pending?.request;
  }
  get interfaceVersion(): string | undefined {
    return this.#version;
  }
  stats(): MdbStats {
    return { ...this.#stats };
  }

  async open(signal?: AbortSignal): Promise<void> {
    if (this.#port) throw new MdbError(MdbErrorCode.REFUSED, "the MDB device is already open");
    if (signal?.aborted) throw new MdbError(MdbErrorCode.ABORTED, "opening the MDB device was aborted");
    let SerialPort: new (o: Record<string, unknown>) => PortLike;
    try {
      ({ SerialPort } = (await import("serialport")) as unknown as { SerialPort: typeof SerialPort });
    } catch (err) {
      throw new MdbError(
        MdbErrorCode.SERIALPORT_MISSING,
        `the MDB device needs the optional dependency "serialport" (npm install -w @zapvend/hal serialport): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const port = new SerialPort({
      path: this.#opts.path,
      baudRate: this.#opts.baudRate ?? QIBIXX_BAUD_RATE,
      autoOpen: false,
      ...(this.#opts.binding ? { binding: this.#opts.binding } : {}),
    });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new MdbError(MdbErrorCode.PORT_CLOSED, `cannot open ${this.#opts.path}: ${err.message}`, { path: this.#opts.path })) : resolve())),
    );
    this.#port = port;
    this.#closing = false;
    this.#lostError = undefined;
    this.#stats.lastLineAtMs = this.#clock.now();
    port.on("data", (chunk) => this.#splitter.push(chunk, (line) => this.#onLine(line)));
    port.on("error", (err) => this.#log.warn("serial port error", { path: this.#opts.path, error: err.message }));
    port.on("close", (err) => this.#onClosed(err ?? undefined));
    const onAbort = () => void this.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      // `V` is the interface's liveness probe: it answers `v,<version>,<id>` whatever the slave's state.
      await this.#command("V", (l) => (l.kind === "version" ? "done" : undefined), "version");
      // Configuration is volatile (set at every power-up) and only accepted while the slave is off (api-configuration).
      await this.#command("C,0", (l) => (l.kind === "slave-on" && !l.on ? "done" : l.kind === "error" && /off/i.test(l.text) ? "done" : undefined), "disable");
      for (const cmd of setconfCommands(this.settings)) {
        await this.#command(cmd, (l) => (l.kind === "set-ok" ? "done" : l.kind === "error" || l.kind === "unknown-command" ? new MdbError(MdbErrorCode.REFUSED, `the interface refused ${cmd}: ${JSON.stringify(l)}`) : undefined), cmd);
      }
      if (signal?.aborted) throw new MdbError(MdbErrorCode.ABORTED, "opening the MDB device was aborted");
      this.#armLiveness();
      this.#log.info("mdb interface ready", { path: this.#opts.path, version: this.#version, settings: this.settings });
    } catch (err) {
      await this.close();
      throw signal?.aborted ? new MdbError(MdbErrorCode.ABORTED, "opening the MDB device was aborted") : err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async close(): Promise<void> {
    const port = this.#port;
    if (!port) return;
    this.#closing = true;
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    else this.#onClosed(undefined);
  }

  async enable(): Promise<void> {
    // `c,ERR,"cashless is on"` means it already was: the goal is met.
    await this.#command("C,1", (l) => (l.kind === "slave-on" && l.on ? "done" : l.kind === "error" && /is on/i.test(l.text) ? "done" : undefined), "enable");
  }

  async disable(): Promise<void> {
    await this.#command("C,0", (l) => (l.kind === "slave-on" && !l.on ? "done" : l.kind === "error" && /is off/i.test(l.text) ? "done" : undefined), "disable");
    // The reader is off the bus: the HAT reports no state of its own any more, and the VMC will set it up afresh.
    this.#pending = undefined;
    this.#setUp = false;
    this.#setState(MdbState.INACTIVE);
  }

  async approveVend(amountUnits: number): Promise<void> {
    const p = this.#pending;
    if (!p || this.#state !== MdbState.VEND) throw new MdbError(MdbErrorCode.NO_VEND_PENDING, "no vend request is open (the VMC cancelled or timed out)");
    if (p.approved) throw new MdbError(MdbErrorCode.ALREADY_ANSWERED, `the vend of selection ${p.request.selection} was already approved`);
    if (amountUnits !== p.request.priceUnits) {
      throw new MdbError(MdbErrorCode.AMOUNT_MISMATCH, `approval of ${amountUnits} units for a request of ${p.request.priceUnits}`, { selection: p.request.selection });
    }
    p.approved = true;
    // The VMC's request already carries the item; the approval is the amount alone (always-idle tutorial: C,VEND,1.00).
    await this.#write(`C,VEND,${formatAmountText(amountUnits, this.settings)}`);
    this.#log.info("vend approved", { selection: p.request.selection, priceUnits: amountUnits });
  }

  async denyVend(): Promise<void> {
    const p = this.#pending;
    if (!p || this.#state !== MdbState.VEND) throw new MdbError(MdbErrorCode.NO_VEND_PENDING, "no vend request is open");
    if (p.approved) throw new MdbError(MdbErrorCode.ALREADY_ANSWERED, `the vend of selection ${p.request.selection} was already approved`);
    this.#pending = undefined;
    await this.#write("C,VEND,-1");
    this.#log.info("vend denied", { selection: p.request.selection });
  }

  async startSession(fundsUnits = 0): Promise<void> {
    const funds = formatAmountText(fundsUnits, this.settings);
    await this.#command(`C,START,${funds}`, (l) =>
      l.kind === "status-idle" ? "done" : l.kind === "error" && /START/.test(l.text) ? new MdbError(MdbErrorCode.REFUSED, `the interface refused C,START (${l.text}): the VMC has not enabled the reader`) : undefined,
      "start session",
    );
  }

  async endSession(): Promise<void> {
    if (this.#pending?.approved) throw new MdbError(MdbErrorCode.ALREADY_ANSWERED, "an approved vend is waiting for the VMC's result");
    this.#pending = undefined;
    await this.#write("C,STOP");
  }

  // ---- liveness ----

  #armLiveness(): void {
    if (this.#livenessMs <= 0) return;
    this.#clock.clearTimeout(this.#livenessTimer);
    const since = this.#clock.now() - (this.#stats.lastLineAtMs ?? 0);
    this.#livenessTimer = this.#clock.setTimeout(() => void this.#checkLiveness(), Math.max(10, this.#livenessMs - since));
  }

  async #checkLiveness(): Promise<void> {
    if (!this.#port) return;
    if (this.#clock.now() - (this.#stats.lastLineAtMs ?? 0) >= this.#livenessMs) {
      try {
        await this.#command("V", (l) => (l.kind === "version" ? "done" : undefined), "the liveness probe");
      } catch (err) {
        if (!this.#port) return;
        this.#lostError = new MdbError(MdbErrorCode.INTERFACE_LOST, `the MDB interface on ${this.#opts.path} went silent and does not answer: unplugged, without power, or crashed (${err instanceof Error ? err.message : String(err)})`);
        this.#log.error("MDB interface lost", { path: this.#opts.path });
        const port = this.#port;
        if (port.isOpen) port.close(() => this.#onClosed(undefined));
        else this.#onClosed(undefined);
        return;
      }
    }
    if (this.#port) this.#armLiveness();
  }

  // ---- wire ----

  async #write(line: string): Promise<void> {
    const port = this.#port;
    if (!port?.isOpen) throw new MdbError(MdbErrorCode.PORT_CLOSED, `the MDB port ${this.#opts.path} is not open`);
    // Qibixx takes "\n"-terminated commands (the one terminator every open project sends).
    port.write(`${line}\n`);
    await new Promise<void>((resolve, reject) => port.drain((err) => (err ? reject(new MdbError(MdbErrorCode.PORT_CLOSED, `writing to ${this.#opts.path}: ${err.message}`)) : resolve())));
  }

  /** Writes a command and waits for the line that answers it; commands go one at a time. */
  #command(line: string, expect: Expect, what: string): Promise<void> {
    const run = async () => {
      let timer: unknown;
      let waiter!: Waiter;
      const answered = new Promise<void>((resolve, reject) => {
        waiter = { expect, resolve, reject };
        this.#waiters.add(waiter);
        timer = this.#clock.setTimeout(
          () => reject(new MdbError(MdbErrorCode.NO_ANSWER, `the MDB interface did not answer ${what} within ${this.#replyTimeoutMs} ms (port ${this.#opts.path}, power, baud rate?)`, { command: line })),
          this.#replyTimeoutMs,
        );
      });
      try {
        await this.#write(line);
        await answered;
      } finally {
        this.#clock.clearTimeout(timer);
        this.#waiters.delete(waiter);
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #onLine(raw: string): void {
    const atMs = this.#clock.now();
    this.#stats.linesRead++;
    this.#stats.lastLineAtMs = atMs;
    const parsed = parseHatLine(raw);
    if (!parsed.ok) return this.#bad(raw, parsed.reason);
    const line = parsed.line;
    if (line.kind === "ack") {
      this.#stats.acks++;
      this.emit("vmc-poll");
    } else this.emit("line", { line: raw, atMs });
    for (const w of [...this.#waiters]) {
      const r = w.expect(line);
      if (r === "done") w.resolve();
      else if (r instanceof Error) w.reject(r);
    }
    switch (line.kind) {
      case "version":
        this.#version = line.id ? `${line.version},${line.id}` : line.version;
        return;
      case "status":
        if (line.state === "inactive") {
          const wasSetUp = this.#setUp;
          this.#setUp = false;
          this.#pending = undefined;
          this.#setState(MdbState.INACTIVE);
          if (wasSetUp) {
            this.#log.warn("VMC reset the reader", {});
            this.emit("vmc-reset");
          }
          return;
        }
        this.#setUp = true;
        this.#cancelOpenRequest(line.state === "disabled" ? MdbCancelReason.DISABLED : MdbCancelReason.SESSION_ENDED);
        this.#setState(line.state === "disabled" ? MdbState.DISABLED : MdbState.ENABLED);
        return;
      case "status-idle":
        this.#setUp = true;
        this.#cancelOpenRequest(MdbCancelReason.SESSION_ENDED);
        this.#setState(MdbState.IDLE);
        return;
      case "status-vend":
        return this.#onVendRequest(raw, line.amount, line.selection, atMs);
      case "vend-success": {
        const p = this.#pending;
        if (!p?.approved) return this.#bad(raw, "VEND SUCCESS without a vend this device approved");
        this.#pending = undefined;
        this.#log.info("VEND SUCCESS", { selection: p.request.selection });
        this.emit("vend-success", { selection: p.request.selection, priceUnits: p.request.priceUnits });
        return;
      }
      case "vend-error":
        return this.#onVendError(raw, line.code);
      case "error":
      case "unknown-command":
        this.#log.warn("the MDB interface reported an error", { line: raw });
        return;
      default:
        return;
    }
  }

  #onVendRequest(raw: string, amount: string, selection: number, atMs: number): void {
    if (this.#state !== MdbState.ENABLED && this.#state !== MdbState.IDLE && this.#state !== MdbState.VEND) {
      return this.#bad(raw, `vend request while the reader is ${this.#state}`);
    }
    const priceUnits = parseAmountText(amount, this.settings);
    if (priceUnits === undefined) {
      return this.#bad(raw, `price ${amount} is not a whole number of VMC units (scale ${this.settings.scaleFactor}, ${this.settings.decimalPlaces} decimals)`);
    }
    if (this.#pending?.approved) return this.#bad(raw, "a second vend request while an approved vend waits for its result");
    // A new request replaces an unanswered one: the VMC has given up on the old one.
    this.#cancelOpenRequest(MdbCancelReason.SESSION_ENDED);
    const request: MdbVendRequest = { selection, priceUnits, priceText: amount, receivedAtMs: atMs };
    this.#pending = { request, approved: false };
    this.#setState(MdbState.VEND);
    this.#log.info("VEND REQUEST", { selection, priceUnits, priceText: amount });
    this.emit("vend-request", request);
  }

  #onVendError(raw: string, code: number): void {
    const p = this.#pending;
    if (code === 3) {
      // c,ERR,VEND 3: "the product did not dispense; the transaction should be cancelled" (always-idle tutorial).
      if (!p) return this.#bad(raw, "VEND FAILURE without an open vend");
      this.#pending = undefined;
      if (p.approved) this.emit("vend-failure", { selection: p.request.selection, priceUnits: p.request.priceUnits });
      else this.emit("session-cancel", { selection: p.request.selection, reason: MdbCancelReason.VMC_CANCEL });
      return;
    }
    if (code === 1) {
      if (!p) return this.#log.info("VMC cancelled (no open vend)", { line: raw });
      this.#pending = undefined;
      this.emit("session-cancel", { selection: p.request.selection, reason: MdbCancelReason.VMC_CANCEL });
      return;
    }
    if (code === 5) {
      // Named "reset" by pyMDBTerminal only (unconfirmed); any open vend is void either way.
      this.#pending = undefined;
      this.emit("vmc-reset");
      return;
    }
    // -2 (invalid payload), -3 (wrong state: e.g. an approval after the VMC gave up): about our last command.
    this.#log.warn("the MDB interface refused a vend command", { line: raw, selection: p?.request.selection });
  }

  #cancelOpenRequest(reason: MdbCancelReason): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    if (p.approved) {
      // Approved, and the VMC moved on without a result line: not a success (no evidence), so a cancel.
      this.#log.warn("approved vend ended without a result", { selection: p.request.selection, reason });
    }
    this.emit("session-cancel", { selection: p.request.selection, reason });
  }

  #setState(state: MdbState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.emit("state", state);
  }

  #bad(line: string, reason: string): void {
    this.#stats.badLines++;
    this.#log.warn("bad line from the MDB interface", { line: JSON.stringify(line), reason });
    this.emit("bad-line", { line, reason });
  }

  #onClosed(err: Error | undefined): void {
    const port = this.#port;
    if (!port) return;
    this.#port = undefined;
    port.removeAllListeners();
    // A write still queued on a dead tty fails later with EIO and is emitted as "error": without a listener that
    // would be an uncaught exception that ends the daemon, for a port we have already given up.
    port.on("error", (e) => this.#log.info("error on the closed MDB port", { path: this.#opts.path, error: e.message }));
    this.#clock.clearTimeout(this.#livenessTimer);
    const requested = this.#closing;
    const error = requested ? undefined : (this.#lostError ?? new MdbError(MdbErrorCode.PORT_CLOSED, `the MDB port ${this.#opts.path} closed${err ? `: ${err.message}` : ""}`));
    for (const w of this.#waiters) w.reject(error ?? new MdbError(MdbErrorCode.PORT_CLOSED, "the MDB device was closed"));
    this.#pending = undefined;
    this.#setUp = false;
    this.#setState(MdbState.INACTIVE);
    if (error) this.#log.error("MDB port closed", { path: this.#opts.path, error: error.message });
    this.emit("closed", error);
  }
}
