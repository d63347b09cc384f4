// A machine with its own vending controller (VMC) that zapvend serves as the MDB cashless device: its board
// config, the MDB states the machine reports, and the demo routes of the sim VMC. The MDB protocol itself lives in
// `@zapvend/hal/mdb`; these are the shapes other packages and the kiosk see.
import { z } from "zod";
import { EpochMs, text } from "./common.js";

/**
 * The cashless device's MDB states as the VMC drives them: INACTIVE (not set up, or just reset), DISABLED (set up but
 * not selling through the reader: out of order, service mode), ENABLED (ready), IDLE (a session is open), VEND (the
 * VMC waits for an approval). Same values as `@zapvend/hal/mdb`'s `MdbState`.
 */
export const MdbStateSchema = z.enum(["inactive", "disabled", "enabled", "idle", "vend"]);
export type MdbStateName = z.infer<typeof MdbStateSchema>;

/** The slot id an MDB selection is sold under ("S12" for the VMC's selection 12): the catalog's selection map. */
export function slotOfSelection(selection: number): string {
  return `S${selection}`;
}

/** The VMC selection of an MDB slot id ("S12" → 12), or undefined when the slot is not one. */
export function selectionOfSlot(slot: string): number | undefined {
  const m = /^S([0-9]{1,3})$/.exec(slot);
  return m ? Number(m[1]) : undefined;
}

/** Highest selection number a slot id can carry (`SlotId` allows three digits). */
export const MAX_MDB_SELECTION = 999;

/**
 * `board` of a machine inside a vending machine with its own VMC: zapvend is its MDB cashless reader, through a
 * Qibixx MDB Pi HAT (`/dev/ttyAMA0`, `/dev/serial0`) or MDB-USB interface (`/dev/ttyACM0`).
 */
export const MdbBoardConfig = z.strictObject({
  kind: z.literal("mdb"),
  /** Serial port of the MDB interface, or `"sim"`: the sim VMC behind a pseudo-terminal (demo and tests). */
  port: z.string().min(1).max(256),
  /** Default 115200 (the Qibixx interfaces). */
  baudRate: z.int().min(1200).max(1_000_000).optional(),
  /** ISO 4217 numeric code of the VMC's currency (978 EUR, 840 USD, 756 CHF); must be `pricing.currency`. Default: from `pricing.currency`. */
  currencyCode: z.int().min(1).max(999).optional(),
  /** MDB scale factor: one VMC price unit is `scaleFactor × 10^-decimalPlaces` of the currency. Default 1. */
  scaleFactor: z.int().min(1).max(255).default(1),
  /** MDB decimal places. Default 2. */
  decimalPlaces: z.int().min(0).max(3).default(2),
  /**
   * How long the VMC waits for the reader's approval before it gives up, in seconds (the VMC's own setting; MDB's
   * default non-response time is in this range). The invoice must expire before it: a payment that arrives after the
   * VMC gave up is refunded, never approved. Default 60.
   */
  approvalTimeoutSec: z.int().min(10).max(600).default(60),
  /** Invoice expiry for a vend request, seconds; must be shorter than `approvalTimeoutSec`. Default: `approvalTimeoutSec` − 10. */
  invoiceExpirySec: z.int().min(5).max(590).optional(),
  /** How long to wait for VEND SUCCESS / FAILURE after the approval, seconds. Default 60. */
  vendResultTimeoutSec: z.int().min(5).max(600).default(60),
  /** A vend request above this price (minor units of `pricing.currency`) is denied and reported. Default: no ceiling. */
  maxPriceMinor: z.int().min(1).max(1_000_000_000).optional(),
  /** A selection that is not in the catalog's selection map: sold as "selection N" (true) or denied (false). Default true. */
  sellUnmappedSelections: z.boolean().default(true),
  /**
   * When the kiosk's service menu opens (zapvend has no door sensor in a machine with its own VMC):
   * `"vmc-service"` (default): PIN, and only while the VMC keeps the reader disabled (its service mode, the machine
   * open: the stand-in for the open door); the VMC enabling the reader again ends every service session.
   * `"pin"`: PIN alone, at any time, with the PIN lockout; for a VMC that does not disable the reader in its service mode.
   */
  serviceAccess: z.enum(["vmc-service", "pin"]).default("vmc-service"),
  /** The sim VMC (only with `port: "sim"`): its selections with prices in VMC units. */
  sim: z
    .strictObject({
      selections: z.array(z.strictObject({ selection: z.int().min(0).max(MAX_MDB_SELECTION), priceUnits: z.int().min(1).max(1_000_000), name: z.string().max(60).optional() })).min(1).max(100),
      /** From the approval to the sim VMC's result, ms (the spiral turning). Default 1500. */
      vendDurationMs: z.int().min(10).max(60_000).optional(),
    })
    .optional(),
}).check((ctx) => {
  const c = ctx.value;
  const expiry = c.invoiceExpirySec ?? c.approvalTimeoutSec - 10;
  if (expiry >= c.approvalTimeoutSec || expiry < 5) {
    ctx.issues.push({
      code: "custom",
      message: `invoiceExpirySec (${expiry}) must be at least 5 and shorter than approvalTimeoutSec (${c.approvalTimeoutSec})`,
      path: ["invoiceExpirySec"],
      input: c,
      params: { code: "out_of_range" },
    });
  }
  if (c.sim && c.port !== "sim") {
    ctx.issues.push({ code: "custom", message: 'board.sim is only for port "sim"', path: ["sim"], input: c, params: { code: "bad_value" } });
  }
});
export type MdbBoardConfig = z.infer<typeof MdbBoardConfig>;

/** The invoice expiry a config gives a vend request, seconds. */
export function mdbInvoiceExpirySec(c: MdbBoardConfig): number {
  return c.invoiceExpirySec ?? c.approvalTimeoutSec - 10;
}

/** The MDB side of the machine's status (kiosk, service menu, fleet). */
export const MdbStatusView = z.object({
  state: MdbStateSchema,
  /** The VMC sells through the reader (ENABLED, or a session open); false: INACTIVE or DISABLED, the kiosk shows "not selling". */
  selling: z.boolean(),
  /** The VMC's approval timeout, seconds (the kiosk's countdown ends before it). */
  approvalTimeoutSec: z.int().min(1),
  /** Lines from the interface that were not valid protocol (logged, never acted on). */
  badLines: z.int().min(0),
  /** When the last valid line was read. */
  lastLineAt: EpochMs.nullable(),
  /** Vends the VMC was approved for whose result was never read (a crash or a lost port): possibly given away. */
  unconfirmedVends: z.int().min(0),
});
export type MdbStatusView = z.infer<typeof MdbStatusView>;

/**
 * `POST /api/demo/vmc` (only with the sim VMC; otherwise `404 not_found`): `select` presses a selection on its keypad,
 * `cancel` presses cancel, `failNext` makes its next vend fail (VEND FAILURE), `reset` resets the VMC mid-session,
 * `inService: false` puts the VMC out of service (it disables the reader), `garbage` writes garbled bytes on the line,
 * `unplug` pulls the interface off the machine (the port closes; it stays unplugged until the daemon restarts).
 * A keypad press the VMC refuses (unknown selection, a vend in progress, the reader not enabled) is `409 vmc_refused`.
 */
export const DemoVmcRequest = z.union([
  z.strictObject({ select: z.int().min(0).max(MAX_MDB_SELECTION) }),
  z.strictObject({ cancel: z.literal(true) }),
  z.strictObject({ failNext: z.literal(true) }),
  z.strictObject({ reset: z.literal(true) }),
  z.strictObject({ inService: z.boolean() }),
  z.strictObject({ garbage: z.literal(true) }),
  z.strictObject({ unplug: z.literal(true) }),
]);
export type DemoVmcRequest = z.infer<typeof DemoVmcRequest>;

/** `GET /api/demo/vmc` and the answer of `POST`: the sim VMC's state and the lines exchanged (oldest first). */
export const DemoVmcResponse = z.object({
  /** What the VMC is doing: inactive, disabled, enabled, idle, vend, vending. */
  phase: text(16),
  inService: z.boolean(),
  readerOn: z.boolean(),
  plugged: z.boolean(),
  failNext: z.boolean(),
  selections: z.array(z.object({ selection: z.int().min(0), priceUnits: z.int().min(0), name: text(60).optional() })).max(100),
  pending: z.object({ selection: z.int().min(0), priceUnits: z.int().min(0), approved: z.boolean() }).nullable(),
  /** `to-host`: the interface (the VMC's side) wrote it; `from-host`: zapvend did. */
  lines: z.array(z.object({ atMs: z.number().min(0), dir: z.enum(["to-host", "from-host"]), line: z.string().max(300) })).max(500),
});
export type DemoVmcResponse = z.infer<typeof DemoVmcResponse>;
