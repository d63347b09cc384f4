// Fleet console <-> fleet server shapes beyond DESIGN.md's four routes: machine detail, desired-state editing,
// reports, the command log and the live WebSocket. Added by the fleet issue; the console validates what it
// receives with these, the server answers with them.
import { z } from "zod";
import { CodedError, EpochMs, Id, MachineId, MsatString, SlotId, HealthSchema, text } from "./common.js";
import { FiatAmount, Price, ProductKindSchema } from "./catalog.js";
import { Alert, MachineSummary, Sale } from "./fleet-api.js";
import { DesiredSlot } from "./mqtt-payloads.js";
import { DesiredProducts } from "./fleet-catalog.js";
import { CommandName, EventType } from "./mqtt-topics.js";
import { parseJson, parseValue, type ParseResult } from "./result.js";

/** A slot as the fleet last heard of it (birth, telemetry, sales and restocks). */
export const SlotView = z.object({
  slot: SlotId,
  name: text(60),
  kind: ProductKindSchema,
  capacity: z.int().min(1),
  stock: z.int().min(0),
  price: Price,
  enabled: z.boolean(),
});
export type SlotView = z.infer<typeof SlotView>;

/** One telemetry sample kept for the charts (downsampled by the server). */
export const TelemetrySample = z.object({
  ts: EpochMs,
  temperatureC: z.number().nullable(),
  door: z.enum(["open", "closed"]),
  payments: HealthSchema,
  hardware: HealthSchema,
  rssMb: z.number().min(0),
});
export type TelemetrySample = z.infer<typeof TelemetrySample>;

/** A command the fleet signed and sent, with its result once the machine answered. */
export const CommandRecord = z.object({
  rid: Id,
  machineId: MachineId,
  name: z.enum(Object.values(CommandName) as [CommandName, ...CommandName[]]),
  args: z.record(z.string(), z.unknown()),
  sentAt: EpochMs,
  expiresAt: EpochMs,
  status: z.enum(["sent", "ok", "error"]),
  data: z.record(z.string(), z.unknown()).nullable(),
  error: CodedError.nullable(),
  completedAt: EpochMs.nullable(),
});
export type CommandRecord = z.infer<typeof CommandRecord>;

/** The desired state of a machine and whether the machine has reported applying it yet. */
export const DesiredView = z.object({
  version: z.int().min(1),
  slots: z.record(SlotId, DesiredSlot),
  mode: z.enum(["normal", "maintenance"]).nullable(),
  /** The catalog products the slots name (issue #18); absent while no slot has one. */
  products: DesiredProducts.optional(),
  requestedAt: EpochMs,
  reportedVersion: z.int().min(0).nullable(),
  reportedStatus: z.enum(["applied", "refused"]).nullable(),
  reportedError: CodedError.nullable(),
  /** True until the machine reports this same version. */
  pending: z.boolean(),
});
export type DesiredView = z.infer<typeof DesiredView>;

/** `PUT /api/machines/:id/desired` body: what to change; merged over the current desired state. */
export const DesiredStateEdit = z.strictObject({
  slots: z.record(SlotId, z.strictObject({ enabled: z.boolean().optional(), price: Price.optional() })).optional(),
  mode: z.enum(["normal", "maintenance"]).optional(),
});
export type DesiredStateEdit = z.infer<typeof DesiredStateEdit>;

/** An event as stored (any type), for the machine detail. */
export const StoredEvent = z.object({
  machineId: MachineId,
  eventId: Id,
  seq: z.int().min(0),
  type: z.enum(Object.values(EventType) as [EventType, ...EventType[]]),
  ts: EpochMs,
  receivedAt: EpochMs,
  body: z.record(z.string(), z.unknown()),
});
export type StoredEvent = z.infer<typeof StoredEvent>;

/** Sequence numbers never received: `fromSeq..toSeq` inclusive. */
export const SeqGap = z.object({ fromSeq: z.int().min(0), toSeq: z.int().min(0) });
export type SeqGap = z.infer<typeof SeqGap>;

/** `GET /api/machines/:id`. */
export const MachineDetail = z.object({
  machine: MachineSummary,
  slots: z.array(SlotView),
  telemetry: TelemetrySample.nullable(),
  history: z.array(TelemetrySample),
  desired: DesiredView.nullable(),
  events: z.array(StoredEvent),
  gaps: z.array(SeqGap),
  commands: z.array(CommandRecord),
  sales: z.array(Sale),
});
export type MachineDetail = z.infer<typeof MachineDetail>;

/** `GET /api/reports/sales?group=machine|slot|day`: one row per group. */
export const SalesReportRow = z.object({
  key: z.string(),
  machineId: MachineId.nullable(),
  slot: SlotId.nullable(),
  /** A local day of `timeZone` (the operator's zone unless the query names one), YYYY-MM-DD. */
  day: z.string().nullable(),
  /** `group=day`: the IANA zone whose local days `day` counts (older servers: none, and the days were UTC days). */
  timeZone: z.string().optional(),
  count: z.int().min(0),
  amountMsat: MsatString,
  /** Fiat totals, one per currency the sales were priced in. */
  fiat: z.array(FiatAmount),
});
export type SalesReportRow = z.infer<typeof SalesReportRow>;

/** `GET /api/reports/reconciliation`: every payment the machines reported, to check against the node. */
export const ReconciliationEntry = z.object({
  machineId: MachineId,
  eventId: Id,
  kind: z.enum(["sale", "refund", "credit"]),
  orderId: Id,
  slot: SlotId,
  paymentHash: z.string(),
  amountMsat: MsatString,
  /** `settled` (hold invoice settled after the vend), `paid` (plain invoice), `refunded` (hold cancelled), `credited`. */
  state: z.enum(["settled", "paid", "refunded", "credited"]),
  at: EpochMs,
});
export type ReconciliationEntry = z.infer<typeof ReconciliationEntry>;

/** What the fleet's `WS /ws` pushes. */
export const FleetWsMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hello"), machines: z.array(MachineSummary), alerts: z.array(Alert) }),
  z.object({ type: z.literal("machine"), machine: MachineSummary }),
  z.object({ type: z.literal("sale"), sale: Sale }),
  z.object({ type: z.literal("alert"), alert: Alert }),
  z.object({ type: z.literal("command"), command: CommandRecord }),
  z.object({ type: z.literal("desired"), machineId: MachineId, desired: DesiredView }),
  z.object({ type: z.literal("telemetry"), machineId: MachineId, sample: TelemetrySample }),
]);
export type FleetWsMessage = z.infer<typeof FleetWsMessage>;

export function parseFleetWsMessage(data: string | Uint8Array): ParseResult<FleetWsMessage> {
  return parseJson(FleetWsMessage, data, { maxBytes: 4 * 1024 * 1024 });
}

export function parseDesiredStateEdit(body: unknown): ParseResult<DesiredStateEdit> {
  if (typeof body === "string" || body instanceof Uint8Array) return parseJson(DesiredStateEdit, body, { maxBytes: 16 * 1024 });
  return parseValue(DesiredStateEdit, body);
}
