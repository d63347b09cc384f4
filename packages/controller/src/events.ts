// Fleet events the controller writes into the outbox inside the journal transaction of an order transition. The
// outbox refuses (throws on) a body that protocol's `EventBody` does not accept, and a throw inside the transaction
// would roll the transition back although the physical action (a vend, a cancel) already happened. So every event
// is built here to be acceptable: the parts that come from outside the controller (error codes and messages of the
// hardware or of a Lightning backend, sensor evidence) are normalized to the schema's limits first.
import { EventBody, OrderEvidence, type CodedError, type EventBody as EventBodyT } from "@zapvend/protocol";

/** Codes the controller itself raises as faults (in addition to protocol's `FaultCode`). */
export const ControllerFaultCode = {
  /** The outbox refused a fleet event; the transition that caused it was kept, the event is lost. */
  EVENT_REFUSED: "EVENT_REFUSED",
  /** A held payment below the invoice amount (a broken or dishonest node accepted it); the hold was cancelled. */
  UNDERPAID: "underpaid",
} as const;
export type ControllerFaultCode = (typeof ControllerFaultCode)[keyof typeof ControllerFaultCode];

const CODE_MAX = 64;
const MESSAGE_MAX = 500;
const PRODUCT_NAME_MAX = 60;

/** Control characters become spaces; the text is cut to `max` characters. */
export function safeText(s: unknown, max: number): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point of this pattern
  return String(s ?? "").replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, max);
}

/** A code as protocol accepts it: `[A-Za-z0-9_.-]{1,64}`; anything else is replaced, never dropped. */
export function safeCode(code: unknown): string {
  const s = String(code ?? "").replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, CODE_MAX);
  return s.length > 0 ? s : "UNKNOWN";
}

export function safeCoded(e: { code?: unknown; message?: unknown } | null | undefined): CodedError {
  return { code: safeCode(e?.code), message: safeText(e?.message, MESSAGE_MAX) };
}

/** Evidence inside the schema's bounds (a sensor that reported nonsense must not cost the record), or null. */
function safeEvidence(e: unknown): OrderEvidence | null {
  if (e === null || e === undefined) return null;
  const parsed = OrderEvidence.safeParse(e);
  if (parsed.success) return parsed.data;
  const x = e as Record<string, unknown>;
  const nat = (v: unknown, max = Number.MAX_SAFE_INTEGER) => Math.min(max, Math.max(0, Math.round(Number.isFinite(Number(v)) ? Number(v) : 0)));
  if (x.kind === "pour") {
    const pouredMl = Number(x.pouredMl);
    return {
      kind: "pour",
      targetMl: nat(x.targetMl, 5_000),
      pouredMl: Math.min(10_000, Math.max(0, Number.isFinite(pouredMl) ? pouredMl : 0)),
      pulses: nat(x.pulses),
      runMs: nat(x.runMs),
    };
  }
  if (x.kind === "spiral") return { kind: "spiral", dropSeen: x.dropSeen === true, homed: x.homed === true, runMs: nat(x.runMs) };
  if (x.kind === "mdb") {
    return { kind: "mdb", selection: nat(x.selection, 65_535), priceUnits: nat(x.priceUnits), result: x.result === "success" ? "success" : "failure", waitedMs: nat(x.waitedMs) };
  }
  return null;
}

/**
 * The event normalized to what `EventBody` accepts: codes, messages and product names are cleaned and cut, evidence
 * is kept within its bounds. The fields the controller makes itself (ids, slots, amounts, hashes) are passed as they
 * are; if one of those is wrong that is a bug, which `isAcceptable` reveals and the controller reports.
 */
export function safeEvent(body: EventBodyT): EventBodyT {
  switch (body.type) {
    case "sale":
      return { ...body, productName: safeText(body.productName, PRODUCT_NAME_MAX), evidence: safeEvidence(body.evidence) ?? body.evidence };
    case "refund":
    case "credit":
      return { ...body, reason: safeCoded(body.reason) };
    case "vend-failed":
      return { ...body, reason: safeCoded(body.reason), evidence: safeEvidence(body.evidence) };
    case "fault":
      return { ...body, fault: safeCoded(body.fault) };
    default:
      return body;
  }
}

/** Why protocol would refuse this body, or null when it accepts it. */
export function eventProblem(body: unknown): string | null {
  const r = EventBody.safeParse(body);
  if (r.success) return null;
  const issue = r.error.issues[0];
  return `${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`;
}
