// Builds MQTT messages as a machine would publish them and runs each through protocol's own parser, so every
// test feeds the fleet exactly what the fleet accepts from the wire.
import { parseMqttMessage, topics, type EventType, type MqttMessage } from "@zapvend/protocol";
import { createHash } from "node:crypto";

let n = 0;
export function uid(prefix = "evt"): string {
  return `${prefix}-${(++n).toString().padStart(8, "0")}`;
}

export function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

function parsed(topic: string, payload: object): MqttMessage {
  const r = parseMqttMessage(topic, JSON.stringify(payload));
  if (!r.ok) throw new Error(`fixture does not parse: ${r.error.code} ${r.error.path} ${r.error.message}`);
  return r.value;
}

const env = (o: { id?: string; ts?: number; boot?: number; seq?: number }) => ({ v: 1, id: o.id ?? uid("msg"), ts: o.ts ?? 1_700_000_000_000, boot: o.boot ?? 1, seq: o.seq ?? 0 });

export function status(machineId: string, state: "online" | "offline" | "lost" | "service", o: { boot?: number; seq?: number; ts?: number } = {}): MqttMessage {
  return parsed(topics.status(machineId), { ...env(o), state });
}

export function birth(
  machineId: string,
  o: { boot?: number; ts?: number; board?: string; slots?: Array<{ slot: string; name?: string; stock?: number; capacity?: number; priceMsat?: string; enabled?: boolean }> } = {},
): MqttMessage {
  const slots = (o.slots ?? [{ slot: "A1" }, { slot: "A2" }]).map((s) => ({
    slot: s.slot,
    name: s.name ?? `Product ${s.slot}`,
    kind: o.board === "mdb" ? "mdb" : "spiral",
    capacity: s.capacity ?? 10,
    stock: s.stock ?? 8,
    price: { unit: "msat", amountMsat: s.priceMsat ?? "1500000" },
    enabled: s.enabled ?? true,
  }));
  return parsed(topics.birth(machineId), {
    ...env(o),
    model: "zapvend test",
    softwareVersion: "0.1.0",
    slots,
    capabilities: { holdInvoices: true, paymentsBackend: "sim", board: o.board ?? "sim" },
    configVersions: { desired: 0, catalog: "abc" },
  });
}

export function telemetry(
  machineId: string,
  o: { ts?: number; boot?: number; seq?: number; temperatureC?: number | null; door?: "open" | "closed"; payments?: "up" | "down" | "degraded"; stock?: Array<{ slot: string; stock: number }> } = {},
): MqttMessage {
  return parsed(topics.telemetry(machineId), {
    ...env(o),
    temperatureC: o.temperatureC === undefined ? 6 : o.temperatureC,
    door: o.door ?? "closed",
    payments: o.payments ?? "up",
    hardware: "up",
    uptimeMs: 1000,
    rssMb: 80,
    stock: o.stock ?? [],
  });
}

export interface SaleOpts {
  id?: string;
  seq: number;
  ts?: number;
  boot?: number;
  slot?: string;
  amountMsat?: string;
  fiat?: { currency: string; amountMinor: number } | null;
  hold?: boolean;
  settledAt?: number;
  /** A sale of an MDB machine: the VMC's selection (the slot is then "S<selection>", the evidence the VMC's). */
  selection?: number;
}

export function sale(machineId: string, o: SaleOpts): MqttMessage {
  const id = o.id ?? uid("sale");
  return parsed(topics.event(machineId, "sale"), {
    ...env({ id, ts: o.ts ?? o.settledAt, boot: o.boot, seq: o.seq }),
    type: "sale",
    orderId: `ord-${id}`,
    slot: o.slot ?? (o.selection !== undefined ? `S${o.selection}` : "A1"),
    productName: `Product ${o.slot ?? (o.selection !== undefined ? `S${o.selection}` : "A1")}`,
    amountMsat: o.amountMsat ?? "1500000",
    fiat: o.fiat === undefined ? { currency: "EUR", amountMinor: 150 } : o.fiat,
    paymentHash: hash(id),
    hold: o.hold ?? true,
    evidence:
      o.selection !== undefined
        ? { kind: "mdb", selection: o.selection, priceUnits: 150, result: "success", waitedMs: 1500 }
        : { kind: "spiral", dropSeen: true, homed: true, runMs: 1800 },
    ...(o.selection !== undefined ? { selection: o.selection } : {}),
    settledAt: o.settledAt ?? o.ts ?? 1_700_000_000_000,
  });
}

export function event(machineId: string, type: Exclude<EventType, "sale">, o: { id?: string; seq: number; ts?: number; body?: Record<string, unknown> }): MqttMessage {
  const id = o.id ?? uid(type);
  const defaults: Record<string, Record<string, unknown>> = {
    refund: { orderId: `ord-${id}`, slot: "A1", amountMsat: "1500000", paymentHash: hash(id), reason: { code: "SPIRAL_JAM", message: "jammed" } },
    "vend-failed": { orderId: `ord-${id}`, slot: "A1", reason: { code: "SPIRAL_JAM", message: "jammed" }, evidence: null },
    credit: { orderId: `ord-${id}`, slot: "A1", creditId: `crd-${id}`, amountMsat: "1500000", paymentHash: hash(id), reason: { code: "DROP_NOT_SEEN", message: "no drop" } },
    fault: { fault: { code: "PUMP_DRY_RUN", message: "tank empty" }, active: true, severity: "critical" },
    door: { open: true },
    restock: { slot: "A1", previous: 0, stock: 10 },
  };
  return parsed(topics.event(machineId, type), { ...env({ id, ts: o.ts, seq: o.seq }), type, ...defaults[type], ...o.body });
}

export function reported(machineId: string, version: number, o: { status?: "applied" | "refused"; slots?: Record<string, { enabled: boolean; price: object }>; seq?: number } = {}): MqttMessage {
  return parsed(topics.reported(machineId), {
    ...env({ seq: o.seq ?? version }),
    version,
    status: o.status ?? "applied",
    error: o.status === "refused" ? { code: "BAD_PRICE", message: "refused" } : null,
    slots: o.slots ?? {},
    mode: "normal",
  });
}

export function commandResult(machineId: string, command: "test-vend" | "restock" | "reboot" | "rebirth" | "cancel-order", rid: string, o: { status?: "ok" | "error"; data?: Record<string, unknown> } = {}): MqttMessage {
  return parsed(topics.commandResult(machineId, command), {
    ...env({}),
    rid,
    status: o.status ?? "ok",
    ...(o.status === "error" ? { error: { code: "SPIRAL_JAM", message: "jammed" } } : { data: o.data ?? { vended: true } }),
  });
}
