// The vend step: how a paid order's product comes out, and what proves it did. Two kinds of machine share one vend
// cycle (orders, journal, recovery, settlement, credits, fleet events):
// - direct drive: zapvend drives the pump or the spiral itself through `@zapvend/hal`; the flow meter and the drop
//   beam are the evidence;
// - MDB cashless device: the machine's own controller (VMC) vends; zapvend approves it and the VMC's VEND SUCCESS
//   is the evidence (`mdb/vmc-sales.ts`).
import type { OrderEvidence, ProductKind } from "@zapvend/protocol";
import type { VendHardware, VendOptions } from "./ports.js";

/** What is to be vended. `orderId` is null for a technician's test vend. */
export interface VendItem {
  orderId: string | null;
  slot: string;
  kind: ProductKind;
  volumeMl: number | null;
}

/** The hardware's state as selling needs it (`VendHardware.status()`). */
export type VendStepStatus = ReturnType<VendHardware["status"]>;

export interface VendStep {
  /**
   * Vends one item and resolves with the evidence that it came out, or rejects with `{code, message, evidence?}`.
   * The synchronous part of the call starts the actuator (or writes the approval): the controller announces the
   * `dispensing` transition right after it, so nothing stands between the payment and the motor.
   */
  vend(item: VendItem, opts: VendOptions): Promise<OrderEvidence>;
  /** Whether selling is possible now, the door, and the standing faults (a fault with a `slot` stops only that slot). */
  status(): VendStepStatus;
}

/** Direct drive: the machine's own pump, spirals, flow meter and drop beam, through `@zapvend/hal`. */
export class DirectDriveVend implements VendStep {
  constructor(
    private readonly hardware: VendHardware,
    /** The pin map's pour station of a pour slot (see `ControllerOptions.pourStation`). */
    private readonly pourStation?: (slot: string) => string | undefined,
  ) {}

  vend(item: VendItem, opts: VendOptions): Promise<OrderEvidence> {
    if (item.kind === "pour") {
      const station = this.pourStation?.(item.slot);
      return this.hardware.pour(item.volumeMl ?? 0, { ...opts, ...(station === undefined ? {} : { station }) });
    }
    if (item.kind === "spiral") return this.hardware.vendSpiral(item.slot, opts);
    return Promise.reject(Object.assign(new Error(`a ${item.kind} product is vended by the machine's VMC, not by this board`), { code: "NOT_DIRECT_DRIVE" }));
  }

  status(): VendStepStatus {
    return this.hardware.status();
  }
}
