// The public face of the MDB cashless device (`@zapvend/hal/mdb`): a zapvend machine that sits inside someone
// else's vending machine as its cashless payment reader, talking to the VMC through a Qibixx MDB Pi HAT or MDB-USB
// interface over its ASCII "cashless slave" API (docs cited in packages/hal/README.md, "MDB cashless device").
import type { Clock, Logger } from "../clock.js";

/**
 * The cashless device's MDB states as the VMC drives them (MDB/ICP 4.x, cashless device chapter):
 * INACTIVE (the VMC has not set the reader up, or just reset it), DISABLED (set up, but the VMC does not sell
 * through it: out of order, service mode), ENABLED (ready, no session), IDLE (a session is open), VEND (the VMC
 * asked to approve a vend and waits for the answer).
 */
export const MdbState = {
  INACTIVE: "inactive",
  DISABLED: "disabled",
  ENABLED: "enabled",
  IDLE: "idle",
  VEND: "vend",
} as const;
export type MdbState = (typeof MdbState)[keyof typeof MdbState];

/**
 * How the reader presents itself to the VMC. Prices on the wire are in "VMC units": one unit is
 * `scaleFactor × 10^-decimalPlaces` of the currency, so with scale 5 and 2 decimals a price of 30 units is 1.50.
 */
export interface MdbSettings {
  /** MDB cashless feature level the machine is set up for (1..3). Informational: the Qibixx API has no parameter for it (see README). Default 1. */
  featureLevel?: 1 | 2 | 3;
  /** ISO 4217 numeric currency code, e.g. 978 (EUR), 840 (USD), 756 (CHF). Sent as `mdb-currency-code=0x1<ccc>`. */
  currencyCode: number;
  /** MDB scale factor, 1..255 (Qibixx accepts 1..100). Default 1. */
  scaleFactor?: number;
  /** MDB decimal places, 0..3. Default 2. */
  decimalPlaces?: number;
  /** Announce "always idle" (selection first: the VMC sends VEND REQUEST without a session started by us). Default true. */
  alwaysIdle?: boolean;
  /** The HAT's own vend-confirmation timeout in seconds (`mdb-timeout-vend`), when set. */
  vendTimeoutSec?: number;
}

/** Settings with every default applied. */
export interface ResolvedMdbSettings {
  featureLevel: 1 | 2 | 3;
  currencyCode: number;
  scaleFactor: number;
  decimalPlaces: number;
  alwaysIdle: boolean;
  vendTimeoutSec?: number;
}

/** A VEND REQUEST from the VMC: the buyer pressed `selection`; the VMC wants `priceUnits` approved. */
export interface MdbVendRequest {
  /** The VMC's item number (what the keypad shows, e.g. 12). */
  selection: number;
  /** The price in VMC units (`scaleFactor × 10^-decimalPlaces` of the currency). */
  priceUnits: number;
  /** The price exactly as the interface wrote it (e.g. "1.50"). */
  priceText: string;
  /** Clock time when the line was read. */
  receivedAtMs: number;
}

/** Why a session ended without a vend result. */
export const MdbCancelReason = {
  /** `c,ERR,VEND 1`: the VMC cancelled the vend (keypad cancel, or the VMC's own approval timeout). */
  VMC_CANCEL: "vmc-cancel",
  /** The VMC ended the session (IDLE/ENABLED) while a vend request was open: its approval timeout, as observed. */
  SESSION_ENDED: "session-ended",
  /** The VMC disabled the reader while a vend request was open. */
  DISABLED: "disabled",
} as const;
export type MdbCancelReason = (typeof MdbCancelReason)[keyof typeof MdbCancelReason];

export interface MdbDeviceEvents extends Record<string, unknown[]> {
  state: [MdbState];
  "vend-request": [MdbVendRequest];
  /** `c,VEND,SUCCESS` for a vend this device approved: the evidence that settles. */
  "vend-success": [{ selection: number; priceUnits: number }];
  /** `c,ERR,VEND 3`: the VMC could not vend the approved product. */
  "vend-failure": [{ selection: number; priceUnits: number }];
  /** The open vend request is gone without a result (keypad cancel, VMC timeout, reader disabled). */
  "session-cancel": [{ selection?: number; reason: MdbCancelReason }];
  /** The VMC reset the reader (`c,STATUS,INACTIVE` after having set it up): any open vend is void. */
  "vmc-reset": [];
  /** The serial port closed (unplugged HAT, USB gone, or `close()`); `undefined` for a requested close. */
  closed: [Error | undefined];
  /** A line that is not valid protocol: logged and counted, never acted upon. */
  "bad-line": [{ line: string; reason: string }];
  /** An `r,ACK`: the VMC addressed the reader through the interface (it polls continuously while the slave is on). */
  "vmc-poll": [];
  /** Every valid line read (after parsing), for the technician's log. `r,ACK` is not included. */
  line: [{ line: string; atMs: number }];
}

export interface MdbStats {
  /** Every line read, bad ones and `r,ACK` included. */
  linesRead: number;
  /** `r,ACK` lines: the VMC polling the reader through the interface. */
  acks: number;
  badLines: number;
  lastLineAtMs?: number;
}

/** The cashless device. Construct with `openMdbDevice`; the constructor does no I/O, `open()` does. */
export interface MdbCashlessDevice {
  readonly state: MdbState;
  readonly settings: ResolvedMdbSettings;
  /** The open vend request, if any (between `vend-request` and its result). */
  readonly pendingVend: MdbVendRequest | undefined;
  /** The interface's `V` answer (`v,<version>,<id>`), once `open()` has read it. */
  readonly interfaceVersion: string | undefined;
  on<K extends keyof MdbDeviceEvents>(event: K, listener: (...args: MdbDeviceEvents[K]) => void): () => void;
  off<K extends keyof MdbDeviceEvents>(event: K, listener: (...args: MdbDeviceEvents[K]) => void): void;
  /** Opens the port, checks the interface answers (`V`), disables the slave and writes the configuration. */
  open(signal?: AbortSignal): Promise<void>;
  /** Closes the port; listeners stay (remove them with the functions `on` returned). */
  close(): Promise<void>;
  /** `C,1`: the HAT starts answering the VMC as a cashless reader. The VMC then sets it up (DISABLED, ENABLED). */
  enable(): Promise<void>;
  /** `C,0`: the HAT stops answering the VMC (the VMC will see the reader gone). */
  disable(): Promise<void>;
  /** Approves the open vend request with exactly its price; resolves when the bytes are handed to the OS. */
  approveVend(amountUnits: number): Promise<void>;
  /** Denies the open vend request (`C,VEND,-1`). */
  denyVend(): Promise<void>;
  /**
   * `C,START,<funds>`: opens a session from the reader's side (authorization first), for VMCs that do not take
   * vend requests in always-idle mode: call it when the state becomes `enabled`. Resolves on `c,STATUS,IDLE`;
   * `MDB_REFUSED` when the VMC has not enabled the reader (`c,ERR,"START -3"`). Default funds 0 units (a real VMC
   * was seen to send its VEND REQUEST after a zero-funds session: ln-vending's logs.txt).
   */
  startSession(fundsUnits?: number): Promise<void>;
  /** Ends the session (`C,STOP`). */
  endSession(): Promise<void>;
  stats(): MdbStats;
}

export interface OpenMdbDeviceOptions {
  /** Serial path of the interface: /dev/ttyAMA0 or /dev/serial0 (Pi HAT), /dev/ttyACM0 (MDB-USB), a pty for the sim. */
  path: string;
  /** Default 115200 (Qibixx: 115200 8N1). */
  baudRate?: number;
  settings: MdbSettings;
  /** A serialport binding (e.g. `MockBinding` from `@serialport/binding-mock`); default: the OS binding. */
  binding?: unknown;
  /** How long to wait for the interface's answer to a command. Default 2000 ms. */
  replyTimeoutMs?: number;
  /**
   * After this long without a line from the interface the device sends `V`; no answer within `replyTimeoutMs` and
   * it is lost: the port is closed and `closed` raised with `MDB_INTERFACE_LOST`. A HAT pulled off the Pi's UART (or a
   * pty whose other end went away) closes nothing: it only goes silent, so silence is what is watched. A polling VMC
   * keeps the line busy with `r,ACK`, so on a live machine the probe rarely runs. Default 5000 ms; 0 disables.
   */
  livenessMs?: number;
  clock?: Clock;
  logger?: Logger;
}
