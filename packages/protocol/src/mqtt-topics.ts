import { MachineId } from "./common.js";
import type { ParseResult } from "./result.js";

/** The root of every zapvend topic. The version is in the path so a v2 can run beside v1 on one broker. */
export const TOPIC_ROOT = "zapvend/v1";

export const EventType = {
  SALE: "sale",
  REFUND: "refund",
  VEND_FAILED: "vend-failed",
  CREDIT: "credit",
  FAULT: "fault",
  DOOR: "door",
  RESTOCK: "restock",
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];
const EVENT_TYPES: readonly string[] = Object.values(EventType);

export const CommandName = {
  TEST_VEND: "test-vend",
  RESTOCK: "restock",
  REBOOT: "reboot",
  REBIRTH: "rebirth",
  CANCEL_ORDER: "cancel-order",
} as const;
export type CommandName = (typeof CommandName)[keyof typeof CommandName];
const COMMAND_NAMES: readonly string[] = Object.values(CommandName);

/** Builds every topic of DESIGN.md. Machine ids are validated: a `+`, `#` or `/` can never reach a topic. */
export const topics = {
  fleetState: () => `${TOPIC_ROOT}/fleet/state`,
  status: (machineId: string) => `${machine(machineId)}/status`,
  birth: (machineId: string) => `${machine(machineId)}/birth`,
  telemetry: (machineId: string) => `${machine(machineId)}/telemetry`,
  event: (machineId: string, type: EventType) => `${machine(machineId)}/event/${type}`,
  desired: (machineId: string) => `${machine(machineId)}/state/desired`,
  reported: (machineId: string) => `${machine(machineId)}/state/reported`,
  command: (machineId: string, name: CommandName) => `${machine(machineId)}/cmd/${name}`,
  commandResult: (machineId: string, name: CommandName) => `${machine(machineId)}/cmd/${name}/res`,
  /**
   * fleet -> machine, QoS 1, not retained: the events of this machine that the fleet has committed to its store
   * (`EventAckPayload`). Only a fleet that announces `acks: true` in `fleet/state` publishes it.
   */
  eventAck: (machineId: string) => `${machine(machineId)}/event-ack`,
  /** Everything one machine publishes (for the fleet) — MQTT wildcard filter. */
  machineFilter: (machineId: string | "+") => `${TOPIC_ROOT}/m/${machineId === "+" ? "+" : MachineId.parse(machineId)}/#`,
  /** Everything the fleet ingests from all machines. */
  allMachinesFilter: () => `${TOPIC_ROOT}/m/+/#`,
  /** What a machine subscribes to: its desired state, commands and event acknowledgements, and the fleet's state. */
  machineInboxFilters: (machineId: string) => [
    `${machine(machineId)}/state/desired`,
    `${machine(machineId)}/cmd/+`,
    `${machine(machineId)}/event-ack`,
    `${TOPIC_ROOT}/fleet/state`,
  ],
  /**
   * fleet -> machines, retained, QoS 1 (issue #18): a catalog picture; the payload is the raw image bytes (not JSON),
   * which a machine checks against the hash in the topic. Not below `m/`, so `parseTopic` does not know it: use
   * `parsePictureTopic`.
   */
  picture: (sha256: string) => {
    if (!SHA256_RE.test(sha256)) throw new RangeError(`not a sha256: ${JSON.stringify(String(sha256).slice(0, 80))}`);
    return `${TOPIC_ROOT}/pictures/${sha256}`;
  },
  /** Every picture: the fleet's broker ACL (write) and the machines' (read). */
  picturesFilter: () => `${TOPIC_ROOT}/pictures/#`,
  /** A shared subscription (MQTT 5 and most 3.1.1 brokers) so several fleet servers split the load. */
  shared: (group: string, filter: string) => `$share/${group}/${filter}`,
};

const SHA256_RE = /^[0-9a-f]{64}$/;

/** The hash named by a picture topic (`topics.picture`), or a coded error for any other topic. */
export function parsePictureTopic(topic: string): ParseResult<{ sha256: string }> {
  const prefix = `${TOPIC_ROOT}/pictures/`;
  if (typeof topic !== "string" || !topic.startsWith(prefix)) {
    return { ok: false, error: { code: "bad_value", message: "not a picture topic", path: "topic" } };
  }
  const sha256 = topic.slice(prefix.length);
  if (!SHA256_RE.test(sha256)) return { ok: false, error: { code: "bad_value", message: "bad sha256 in picture topic", path: "topic" } };
  return { ok: true, value: { sha256 } };
}

function machine(machineId: string): string {
  const r = MachineId.safeParse(machineId);
  if (!r.success) throw new RangeError(`not a valid machine id: ${JSON.stringify(machineId.slice(0, 80))}`);
  return `${TOPIC_ROOT}/m/${machineId}`;
}

export type ParsedTopic =
  | { kind: "fleet-state" }
  | { kind: "status" | "birth" | "telemetry" | "desired" | "reported" | "event-ack"; machineId: string }
  | { kind: "event"; machineId: string; eventType: EventType }
  | { kind: "command"; machineId: string; command: CommandName }
  | { kind: "command-result"; machineId: string; command: CommandName };

/** Parses a topic received from the broker. Anything not of the tree is a coded error, never a throw. */
export function parseTopic(topic: string): ParseResult<ParsedTopic> {
  const bad = (message: string) => ({ ok: false as const, error: { code: "bad_value" as const, message, path: "topic" } });
  if (typeof topic !== "string" || topic.length > 256) return bad("topic missing or longer than 256 characters");
  if (topic === `${TOPIC_ROOT}/fleet/state`) return { ok: true, value: { kind: "fleet-state" } };
  const prefix = `${TOPIC_ROOT}/m/`;
  if (!topic.startsWith(prefix)) return bad(`not a zapvend v1 topic: ${topic.slice(0, 80)}`);
  const [machineId, ...rest] = topic.slice(prefix.length).split("/");
  if (machineId === undefined || !MachineId.safeParse(machineId).success) return bad("bad machine id in topic");
  const path = rest.join("/");
  switch (path) {
    case "status":
    case "birth":
    case "telemetry":
    case "event-ack":
      return { ok: true, value: { kind: path, machineId } };
    case "state/desired":
      return { ok: true, value: { kind: "desired", machineId } };
    case "state/reported":
      return { ok: true, value: { kind: "reported", machineId } };
  }
  if (rest.length === 2 && rest[0] === "event" && EVENT_TYPES.includes(rest[1]!)) {
    return { ok: true, value: { kind: "event", machineId, eventType: rest[1] as EventType } };
  }
  if ((rest.length === 2 || (rest.length === 3 && rest[2] === "res")) && rest[0] === "cmd" && COMMAND_NAMES.includes(rest[1]!)) {
    const command = rest[1] as CommandName;
    return { ok: true, value: rest.length === 2 ? { kind: "command", machineId, command } : { kind: "command-result", machineId, command } };
  }
  return bad(`unknown topic below machine ${machineId}: ${path.slice(0, 80)}`);
}
