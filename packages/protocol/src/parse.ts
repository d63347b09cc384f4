// One function per boundary: unknown input in, a typed value or a coded error out. Never throws.
import type { z } from "zod";
import { parseJson, parseValue, type EdgeLimits, type ParseResult } from "./result.js";
import { CreateOrderRequest, KioskClientMessage, KioskServerMessage } from "./kiosk-api.js";
import { CommandRequest, SalesQuery } from "./fleet-api.js";
import { FleetConfig, MachineConfig } from "./config.js";
import { HarnessReport } from "./harness.js";
import {
  BirthPayload,
  CommandPayload,
  CommandResultPayload,
  DesiredStatePayload,
  EventAckPayload,
  EventPayload,
  FleetStatePayload,
  ReportedStatePayload,
  StatusPayload,
  TelemetryPayload,
} from "./mqtt-payloads.js";
import { parseTopic, type ParsedTopic } from "./mqtt-topics.js";

/** Largest MQTT payload either end accepts. */
export const MAX_MQTT_PAYLOAD_BYTES = 64 * 1024;
/** Largest HTTP JSON body the machine and fleet accept. */
export const MAX_HTTP_BODY_BYTES = 16 * 1024;
/** Largest config file. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

type Input = string | Uint8Array;

/** `POST /api/orders` body (already JSON-decoded, or as text). */
export function parseCreateOrderRequest(body: unknown): ParseResult<CreateOrderRequest> {
  return decode(CreateOrderRequest, body, { maxBytes: MAX_HTTP_BODY_BYTES });
}

/** `POST /api/machines/:id/commands/:name` body. */
export function parseCommandRequest(body: unknown): ParseResult<CommandRequest> {
  return decode(CommandRequest, body, { maxBytes: MAX_HTTP_BODY_BYTES });
}

/** `GET /api/sales` query string parameters (an object of strings, e.g. from `URLSearchParams`). */
export function parseSalesQuery(query: unknown): ParseResult<SalesQuery> {
  return parseValue(SalesQuery, query, { maxDepth: 2 });
}

/** A message the kiosk receives on the machine's WebSocket. */
export function parseKioskServerMessage(data: Input): ParseResult<KioskServerMessage> {
  return parseJson(KioskServerMessage, data, { maxBytes: MAX_MQTT_PAYLOAD_BYTES });
}

/** A message the machine receives from a kiosk on its WebSocket. */
export function parseKioskClientMessage(data: Input): ParseResult<KioskClientMessage> {
  return parseJson(KioskClientMessage, data, { maxBytes: 4 * 1024 });
}

/** `zapvend-machine --config` file content (JSON text or an already-parsed object). */
export function parseMachineConfig(input: unknown): ParseResult<MachineConfig> {
  return decode(MachineConfig, input, { maxBytes: MAX_CONFIG_BYTES });
}

/** `zapvend-fleet --config` file content. */
export function parseFleetConfig(input: unknown): ParseResult<FleetConfig> {
  return decode(FleetConfig, input, { maxBytes: MAX_CONFIG_BYTES });
}

/** `zapvend-harness --json` output. */
export function parseHarnessReport(input: unknown): ParseResult<HarnessReport> {
  return decode(HarnessReport, input, { maxBytes: MAX_CONFIG_BYTES });
}

export type MqttMessage =
  | { topic: ParsedTopic & { kind: "fleet-state" }; payload: FleetStatePayload }
  | { topic: ParsedTopic & { kind: "status" }; payload: StatusPayload }
  | { topic: ParsedTopic & { kind: "birth" }; payload: BirthPayload }
  | { topic: ParsedTopic & { kind: "telemetry" }; payload: TelemetryPayload }
  | { topic: ParsedTopic & { kind: "event" }; payload: EventPayload }
  | { topic: ParsedTopic & { kind: "desired" }; payload: DesiredStatePayload }
  | { topic: ParsedTopic & { kind: "reported" }; payload: ReportedStatePayload }
  | { topic: ParsedTopic & { kind: "command" }; payload: CommandPayload }
  | { topic: ParsedTopic & { kind: "command-result" }; payload: CommandResultPayload }
  | { topic: ParsedTopic & { kind: "event-ack" }; payload: EventAckPayload };

const schemaOf = {
  "fleet-state": FleetStatePayload,
  status: StatusPayload,
  birth: BirthPayload,
  telemetry: TelemetryPayload,
  event: EventPayload,
  desired: DesiredStatePayload,
  reported: ReportedStatePayload,
  command: CommandPayload,
  "command-result": CommandResultPayload,
  "event-ack": EventAckPayload,
} as const;

/**
 * An MQTT message as received: the topic says which payload schema applies. Also checks that an event's `type`
 * matches its topic and a command's `name` matches its topic, so a payload cannot claim to be what its topic is not.
 * An empty payload (a cleared retained message) is reported as `bad_json`.
 */
export function parseMqttMessage(topic: string, payload: Input): ParseResult<MqttMessage> {
  const t = parseTopic(topic);
  if (!t.ok) return t;
  const parsed = parseJson(schemaOf[t.value.kind], payload, { maxBytes: MAX_MQTT_PAYLOAD_BYTES });
  if (!parsed.ok) return parsed;
  const value = parsed.value as { type?: string; name?: string };
  if (t.value.kind === "event" && value.type !== t.value.eventType) {
    return { ok: false, error: { code: "bad_value", message: `event type "${value.type}" does not match its topic`, path: "type" } };
  }
  if ((t.value.kind === "command" || t.value.kind === "command-result") && "name" in value && value.name !== t.value.command) {
    return { ok: false, error: { code: "bad_value", message: `command "${value.name}" does not match its topic`, path: "name" } };
  }
  return { ok: true, value: { topic: t.value, payload: parsed.value } as MqttMessage };
}

function decode<S extends z.ZodType>(schema: S, input: unknown, limits: EdgeLimits): ParseResult<z.output<S>> {
  if (typeof input === "string" || input instanceof Uint8Array) return parseJson(schema, input, limits);
  return parseValue(schema, input, limits);
}
