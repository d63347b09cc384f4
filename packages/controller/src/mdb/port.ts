// The MDB cashless device as the controller needs it. Structural: `@zapvend/hal/mdb`'s `MdbCashlessDevice` (the
// Qibixx cashless-slave ASCII API over serialport) satisfies it, and the tests drive a scripted fake. The controller
// never opens a port itself.
import type { MdbStateName } from "@zapvend/protocol";

export interface MdbVendRequestLike {
  /** The VMC's item number (what the keypad shows). */
  selection: number;
  /** The price in VMC units (`scaleFactor × 10^-decimalPlaces` of the currency). */
  priceUnits: number;
}

/** Events of the device the vend cycle listens to (a subset of `MdbDeviceEvents`). */
export interface MdbPortEvents {
  state: [MdbStateName];
  "vend-request": [MdbVendRequestLike];
  /** VEND SUCCESS of the vend this device approved: the evidence that settles. */
  "vend-success": [{ selection: number; priceUnits: number }];
  /** VEND FAILURE: the VMC could not vend the approved product. */
  "vend-failure": [{ selection: number; priceUnits: number }];
  /** The open vend request is gone without a result (keypad cancel, the VMC's timeout, the reader disabled). */
  "session-cancel": [{ selection?: number; reason: string }];
  /** The VMC reset the reader: any open vend is void. */
  "vmc-reset": [];
  /** The serial port closed (unplugged HAT, USB gone); `undefined` for a requested close. */
  closed: [Error | undefined];
}

export interface MdbPort {
  readonly state: MdbStateName;
  on<K extends keyof MdbPortEvents>(event: K, listener: (...args: MdbPortEvents[K]) => void): () => void;
  /** Approves the open vend request with exactly its price; resolves when the bytes are handed to the OS. */
  approveVend(amountUnits: number): Promise<void>;
  /** Denies the open vend request. */
  denyVend(): Promise<void>;
  stats(): { badLines: number; lastLineAtMs?: number };
}
