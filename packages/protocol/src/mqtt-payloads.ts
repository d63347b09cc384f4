import { z } from "zod";
import { MdbStatusView } from "./mdb.js";
import { CodedError, EpochMs, HealthSchema, Hex32, Id, MachineId, MsatString, SlotId, text } from "./common.js";
import { FiatAmount, Price, ProductKindSchema } from "./catalog.js";
import { OrderEvidence } from "./order.js";
import { DesiredProducts, ProductId } from "./fleet-catalog.js";
import { CommandName, EventType } from "./mqtt-topics.js";

/** Protocol version of every payload. */
export const PAYLOAD_VERSION = 1;

/**
 * The envelope of every MQTT payload: `v` (payload version), `id` (unique, for dedupe), `ts` (sender's clock, ms),
 * `boot` (sender's boot counter, increments on every start), `seq` (sender's sequence number within its stream).
 */
export const Envelope = z.object({
  v: z.literal(PAYLOAD_VERSION),
  id: Id,
  ts: EpochMs,
  boot: z.int().min(0).max(2 ** 31),
  seq: z.int().min(0),
});
export type Envelope = z.infer<typeof Envelope>;

/**
 * The machine's installation id: a random integer in [1, 2^48) that the machine draws once when its database is
 * created (a new SD card or a reflashed Pi is a new installation: its boot counter and event seqs restart at 1).
 * `boot` and `seq` are ordered within one installation only; a receiver that sees another installation id on a
 * birth or status knows the machine was reinstalled and starts its ordering afresh, and an event ack names the
 * installation whose seqs it counts. Optional everywhere it appears: machines and fleets from before it leave it
 * out, and then `boot`/`seq` are compared as they always were.
 */
export const InstallId = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
export type InstallId = z.infer<typeof InstallId>;

/** The optional `install` member (see `InstallId`) of the payloads ordered or acknowledged by number. */
const InstallField = { install: InstallId.optional() };

export const MachineOnlineState = { ONLINE: "online", OFFLINE: "offline", LOST: "lost", SERVICE: "service" } as const;
export type MachineOnlineState = (typeof MachineOnlineState)[keyof typeof MachineOnlineState];

/**
 * `m/<id>/status`, retained. The last will carries `lost` with the same boot (and installation id). A `lost` of an
 * installation other than the current one is the will of a machine that was since reinstalled: ignored.
 */
export const StatusPayload = Envelope.extend({
  ...InstallField,
  state: z.enum(["online", "offline", "lost", "service"]),
});
export type StatusPayload = z.infer<typeof StatusPayload>;

/** `m/<id>/birth`, retained: what this machine is. */
export const BirthPayload = Envelope.extend({
  ...InstallField,
  model: text(60),
  softwareVersion: text(40),
  slots: z
    .array(z.object({ slot: SlotId, name: text(60), kind: ProductKindSchema, capacity: z.int().min(1), stock: z.int().min(0), price: Price, enabled: z.boolean() }))
    .max(200),
  capabilities: z.object({
    holdInvoices: z.boolean(),
    paymentsBackend: text(32),
    board: text(32),
  }),
  configVersions: z.object({
    /** The last desired-state version applied. */
    desired: z.int().min(0),
    /** A digest of the catalog as configured locally. */
    catalog: text(64),
  }),
});
export type BirthPayload = z.infer<typeof BirthPayload>;

/** `m/<id>/telemetry`, QoS 0, periodic. */
export const TelemetryPayload = Envelope.extend({
  temperatureC: z.number().min(-100).max(200).nullable(),
  door: z.enum(["open", "closed"]),
  payments: HealthSchema,
  hardware: HealthSchema,
  uptimeMs: z.int().min(0),
  rssMb: z.number().min(0).max(1_000_000),
  stock: z.array(z.object({ slot: SlotId, stock: z.int().min(0) })).max(200),
  /** A machine that is the MDB cashless reader of a VMC: its MDB state. */
  mdb: MdbStatusView.optional(),
});
export type TelemetryPayload = z.infer<typeof TelemetryPayload>;

const SaleEvent = z.object({
  type: z.literal(EventType.SALE),
  orderId: Id,
  slot: SlotId,
  productName: text(60),
  amountMsat: MsatString,
  fiat: FiatAmount.nullable(),
  paymentHash: Hex32,
  hold: z.boolean(),
  evidence: OrderEvidence,
  settledAt: EpochMs,
  /**
   * Part of the price paid from a credit (granted earlier for a failed vend, already reported by a `credit` event):
   * it is not new Lightning revenue. `amountMsat` is only what was paid over Lightning for this sale (may be "0"),
   * so the sale's price is `amountMsat + paidByCreditMsat`. Absent for a sale paid entirely over Lightning.
   */
  paidByCreditMsat: MsatString.optional(),
  /** The credit spent, with `paidByCreditMsat`. */
  creditId: Id.optional(),
  /** The VMC's selection number, for a sale through the MDB cashless device (`slot` is then "S<selection>"). */
  selection: z.int().min(0).max(65_535).optional(),
});
const RefundEvent = z.object({
  type: z.literal(EventType.REFUND),
  orderId: Id,
  slot: SlotId,
  amountMsat: MsatString,
  paymentHash: Hex32,
  reason: CodedError,
  /**
   * True when the product may have come out although the payment is refunded: an MDB vend the VMC was approved for
   * whose result was never read (the daemon died, the port closed). The operator counts these.
   */
  possiblyVended: z.boolean().optional(),
});
const VendFailedEvent = z.object({
  type: z.literal(EventType.VEND_FAILED),
  orderId: Id,
  slot: SlotId,
  reason: CodedError,
  evidence: OrderEvidence.nullable(),
});
const CreditEvent = z.object({
  type: z.literal(EventType.CREDIT),
  orderId: Id,
  slot: SlotId,
  creditId: Id,
  amountMsat: MsatString,
  paymentHash: Hex32,
  reason: CodedError,
});
const FaultEvent = z.object({
  type: z.literal(EventType.FAULT),
  fault: CodedError,
  /** True when raised, false when cleared. */
  active: z.boolean(),
  severity: z.enum(["warning", "critical"]),
});
const DoorEvent = z.object({ type: z.literal(EventType.DOOR), open: z.boolean() });
const RestockEvent = z.object({
  type: z.literal(EventType.RESTOCK),
  slot: SlotId,
  previous: z.int().min(0),
  stock: z.int().min(0),
});

/** The body of an `event/<type>` message, without the envelope. */
export const EventBody = z.discriminatedUnion("type", [SaleEvent, RefundEvent, VendFailedEvent, CreditEvent, FaultEvent, DoorEvent, RestockEvent]);
export type EventBody = z.infer<typeof EventBody>;
export type EventBodyOf<T extends EventType> = Extract<EventBody, { type: T }>;

/** One event type's payload: the envelope's fields (first, as the machine writes them), then the body's. */
function withEnvelope<S extends z.ZodRawShape>(body: z.ZodObject<S>) {
  return Envelope.extend(InstallField).extend(body.shape);
}

/**
 * `m/<id>/event/<type>`, QoS 1 from the outbox. `seq` is the per-machine event sequence (gaps are detectable) of the
 * installation `install` (absent from older machines).
 *
 * One object schema per event type (envelope + body) behind the `type` discriminator, rather than
 * `z.intersection(envelope, EventBody)`: the same accepted values and output (unknown keys stripped, envelope keys
 * first), but an intersection parses both sides and then deep-merges them, ~4x the CPU of the fleet's hottest
 * validation (fleet ingest, issue #15's figure).
 */
export const EventPayload = z.discriminatedUnion("type", [
  withEnvelope(SaleEvent),
  withEnvelope(RefundEvent),
  withEnvelope(VendFailedEvent),
  withEnvelope(CreditEvent),
  withEnvelope(FaultEvent),
  withEnvelope(DoorEvent),
  withEnvelope(RestockEvent),
]);
export type EventPayload = Envelope & { install?: InstallId | undefined } & EventBody;

/** A slot in the desired state; `product` (issue #18) names one of the state's `products` (else `unknown_product`). */
export const DesiredSlot = z.object({ enabled: z.boolean().optional(), price: Price.optional(), product: ProductId.optional() });

/**
 * `m/<id>/state/desired`, retained, written by the fleet and signed like a command (`keyId`, `sig` over every other
 * field). `aud` is the machine it is for and `install` that machine's installation id as the fleet last saw it: a
 * machine refuses a desired state for another machine, or one signed for another installation of itself (the retained
 * state of its previous SD card). A fleet that has not yet seen the machine's installation id leaves `install` out;
 * a machine that has one refuses such a state (`MISSING_INSTALL`) and the fleet, which learns the id from the same
 * connection's status and birth, publishes it again with it.
 */
export const DesiredStatePayload = Envelope.extend({
  version: z.int().min(1),
  aud: MachineId.optional(),
  install: InstallId.optional(),
  slots: z.record(SlotId, DesiredSlot).optional(),
  mode: z.enum(["normal", "maintenance"]).optional(),
  /** The fleet catalog's products that the slots name (issue #18, fleet-catalog.ts). */
  products: DesiredProducts.optional(),
});
export type DesiredStatePayload = z.infer<typeof DesiredStatePayload>;

/** `m/<id>/state/reported`, retained, written by the machine: what it applied (or why it refused). */
export const ReportedStatePayload = Envelope.extend({
  version: z.int().min(0),
  status: z.enum(["applied", "refused"]),
  error: CodedError.nullable(),
  slots: z.record(SlotId, z.object({ enabled: z.boolean(), price: Price })),
  mode: z.enum(["normal", "maintenance", "service"]),
});
export type ReportedStatePayload = z.infer<typeof ReportedStatePayload>;

/**
 * Clock tolerance of a machine checking a command's `ts` (when it was signed) and `exp`: a Pi without a real-time
 * clock, or with NTP not yet synced, may be this far off the fleet's clock.
 */
export const COMMAND_CLOCK_SKEW_MS = 30_000;
/** The longest a signed command may stay valid (`exp - ts`): a captured command is useless after this. */
export const MAX_COMMAND_LIFETIME_MS = 300_000;

/** Arguments of each command. */
export const CommandArgs = {
  "test-vend": z.strictObject({ slot: SlotId }),
  restock: z.strictObject({ slot: SlotId.optional(), stock: z.int().min(0).max(10_000).optional() }),
  reboot: z.strictObject({}),
  rebirth: z.strictObject({}),
  "cancel-order": z.strictObject({ orderId: Id }),
} as const satisfies Record<CommandName, z.ZodType>;
export type CommandArgsOf<N extends CommandName> = z.infer<(typeof CommandArgs)[N]>;

/**
 * `m/<id>/cmd/<name>`, fleet -> machine. Signed with Ed25519 over `canonicalJson` of every field but `sig`.
 * `aud` is the machine it is for, `exp` when it stops being valid, `ctr` a counter higher than any before. The envelope's
 * `ts` is when it was signed: a machine refuses one signed more than `COMMAND_CLOCK_SKEW_MS` in its future, expired
 * more than that in its past, or valid for longer than `MAX_COMMAND_LIFETIME_MS`.
 */
export const CommandPayload = Envelope.extend({
  name: z.enum(Object.values(CommandName) as [CommandName, ...CommandName[]]),
  rid: Id,
  aud: MachineId,
  exp: EpochMs,
  ctr: z.int().min(1),
  keyId: text(64).min(1),
  args: z.record(z.string().max(64), z.unknown()),
  /** Ed25519 signature, base64url, 64 bytes. */
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/, "sig must be a 64-byte Ed25519 signature in base64url"),
});
export type CommandPayload = z.infer<typeof CommandPayload>;
export type UnsignedCommand = Omit<CommandPayload, "sig">;

/** `m/<id>/cmd/<name>/res`, machine -> fleet. */
export const CommandResultPayload = Envelope.extend({
  rid: Id,
  status: z.enum(["ok", "error"]),
  data: z.record(z.string().max(64), z.unknown()).optional(),
  error: CodedError.optional(),
});
export type CommandResultPayload = z.infer<typeof CommandResultPayload>;

/** `fleet/state`, retained; the fleet server's will sets `offline`. */
export const FleetStatePayload = Envelope.extend({
  state: z.enum(["online", "offline"]),
  /**
   * The fleet acknowledges the events it has committed on `m/<id>/event-ack`: a machine that saw `true` keeps each
   * event until such an ack covers it. Absent (an older fleet): the machine deletes an event once the broker took it.
   */
  acks: z.boolean().optional(),
});
export type FleetStatePayload = z.infer<typeof FleetStatePayload>;

/**
 * `m/<id>/event-ack`, fleet -> machine, QoS 1, not retained. The fleet has committed to its store every event of this
 * machine with `from <= seq <= upTo` (the contiguous run from the lowest seq it holds; `upTo` is its highest
 * contiguous seq) and each seq in `seqs` (events stored beyond a gap; at most 1,000 per ack). A machine deletes the
 * events it has sent that an ack covers; an ack never covers an event the fleet does not hold (a redelivery is
 * acknowledged again). Sent at most once per machine per short interval (the fleet batches them). `from > upTo` is
 * an empty run (only `seqs` are acknowledged).
 *
 * `install`: the installation whose seqs this ack counts (the `install` of the events it covers). A machine of
 * another installation (its database was replaced since) ignores the ack, so it never deletes a new event that has
 * an old one's seq. Absent (an older fleet, or events without `install`): the machine takes the ack as its own.
 */
export const EventAckPayload = Envelope.extend({
  ...InstallField,
  from: z.int().min(0),
  upTo: z.int().min(0),
  seqs: z.array(z.int().min(0)).max(1_000).optional(),
});
export type EventAckPayload = z.infer<typeof EventAckPayload>;

/**
 * Deterministic JSON for signing: object keys sorted, no whitespace, `undefined` members dropped. Both the fleet
 * (signer) and the machine (verifier) compute the signed bytes with this one function.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new RangeError("canonicalJson: non-finite number");
    if (typeof value === "bigint") throw new TypeError("canonicalJson: bigint (money goes on the wire as a decimal string)");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}
