// Fuzz targets of the decoders that take outside input in `protocol`: MQTT payloads (with their topics), the HTTP
// bodies of the machine and the fleet, the kiosk's WebSocket messages both ways, and the config files. Each mutates
// valid seeds (structure, then bytes) and asserts the decoder returns a coded result within the call bound, never
// throws. Budget and seed: see fuzz-kit.ts.
import fc from "fast-check";
import {
  DemoSimRequest,
  LoginRequest,
  UserCreate,
  parseCommandRequest,
  parseCreateOrderRequest,
  parseFleetConfig,
  parseHarnessReport,
  parseKioskClientMessage,
  parseKioskServerMessage,
  parseMachineConfig,
  parseMqttMessage,
  parseSalesQuery,
  parseValue,
  ProtocolErrorCode,
  RestockRequest,
  ServiceLoginRequest,
  ServiceModeRequest,
  TestVendRequest,
  type ParseResult,
} from "@zapvend/protocol";
import { describe, expect, it } from "vitest";
import { assertCodedResult, bounded, mutatedJsonBytes, mutatedText, mutatedValue, nastyValue, runTarget, TARGET_TIMEOUT_MS } from "./fuzz-kit.js";
import * as seeds from "./seeds.js";

const CODES: ReadonlySet<string> = new Set(Object.values(ProtocolErrorCode));

/** A decoder called on `input`: a coded result, in time, no throw. */
function coded(what: string, decode: () => ParseResult<unknown>): boolean {
  return assertCodedResult(bounded(what, decode), CODES, what);
}

/** Input for a decoder that takes a parsed value or JSON text: a mutated value, mutated JSON bytes/text, or junk. */
function valueOrText(s: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: mutatedValue(s) },
    { weight: 3, arbitrary: mutatedJsonBytes(s) },
    { weight: 2, arbitrary: mutatedJsonBytes(s).map((b) => Buffer.from(b).toString("utf8")) },
    { weight: 1, arbitrary: nastyValue },
  );
}

describe("fuzz: protocol decoders", () => {
  it("MQTT payloads and topics", { timeout: TARGET_TIMEOUT_MS }, () => {
    const topicSeeds = seeds.mqttSeeds.map(([t]) => t);
    const input = fc.oneof(
      // The payload mutated under its own topic (deep checks), or under another topic.
      { weight: 6, arbitrary: fc.constantFrom(...seeds.mqttSeeds).chain(([t, p]) => fc.tuple(fc.constant(t), mutatedJsonBytes([p]))) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...topicSeeds), mutatedJsonBytes(seeds.mqttSeeds.map(([, p]) => p))) },
      // A mutated topic (wildcards, other ids, levels) with a valid payload.
      { weight: 2, arbitrary: fc.tuple(mutatedText(topicSeeds), fc.constantFrom(...seeds.mqttSeeds).map(([, p]) => Buffer.from(JSON.stringify(p)))) },
    );
    let accepted = 0;
    const stats = runTarget("mqtt-payload", input, ([topic, payload]) => {
      if (coded(`parseMqttMessage(${topic.slice(0, 80)})`, () => parseMqttMessage(topic, payload))) accepted++;
      if (coded("parseMqttMessage(text)", () => parseMqttMessage(topic, Buffer.from(payload).toString("utf8")))) accepted++;
    });
    expect(accepted).toBeGreaterThan(0); // the mutator also yields valid payloads: the target is not all rejections
    expect(stats.runs).toBeGreaterThan(0);
  });

  it("HTTP bodies of the machine and the fleet", { timeout: TARGET_TIMEOUT_MS }, () => {
    const routes: Array<[string, readonly unknown[], (b: unknown) => ParseResult<unknown>]> = [
      ["POST /api/orders", seeds.createOrderSeeds, parseCreateOrderRequest],
      ["POST /api/machines/:id/commands/:name", seeds.commandRequestSeeds, parseCommandRequest],
      ["POST /api/service/login", seeds.serviceLoginSeeds, (b) => parseValue(ServiceLoginRequest, b)],
      ["POST /api/service/restock", seeds.restockSeeds, (b) => parseValue(RestockRequest, b)],
      ["POST /api/service/test-vend", seeds.testVendSeeds, (b) => parseValue(TestVendRequest, b)],
      ["POST /api/service/mode", seeds.serviceModeSeeds, (b) => parseValue(ServiceModeRequest, b)],
      ["POST /api/demo/sim", seeds.demoSimSeeds, (b) => parseValue(DemoSimRequest, b)],
      ["POST /api/login (fleet)", seeds.fleetLoginSeeds, (b) => parseValue(LoginRequest, b)],
      ["POST /api/users (fleet)", seeds.fleetUserSeeds, (b) => parseValue(UserCreate, b)],
    ];
    const input = fc.integer({ min: 0, max: routes.length - 1 }).chain((i) => fc.tuple(fc.constant(i), valueOrText(routes[i]![1])));
    runTarget("http-bodies", input, ([i, body]) => {
      const [route, , decode] = routes[i]!;
      coded(route, () => decode(body));
    });
  });

  it("the fleet's sales query, as its HTTP server builds it from the URL", { timeout: TARGET_TIMEOUT_MS }, () => {
    const queries = seeds.salesQuerySeeds.map((q) => new URLSearchParams(q as Record<string, string>).toString());
    runTarget("sales-query", mutatedText(queries), (search) => {
      // As apps/fleet's salesFilter builds it (plain assignment: a `__proto__` parameter sets nothing there).
      const q: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(search)) q[k] = v;
      coded("parseSalesQuery", () => parseSalesQuery(q));
    });
  });

  it("WebSocket messages, kiosk to machine and machine to kiosk", { timeout: TARGET_TIMEOUT_MS }, () => {
    const input = fc.tuple(fc.boolean(), fc.oneof(mutatedJsonBytes(seeds.kioskClientSeeds), mutatedJsonBytes(seeds.kioskServerSeeds)));
    runTarget("ws-messages", input, ([asText, bytes]) => {
      const data = asText ? Buffer.from(bytes).toString("utf8") : bytes;
      coded("parseKioskClientMessage", () => parseKioskClientMessage(data));
      coded("parseKioskServerMessage", () => parseKioskServerMessage(data));
    });
  });

  it("config files (machine, fleet) and the harness report", { timeout: TARGET_TIMEOUT_MS }, () => {
    const input = fc.oneof(
      fc.tuple(fc.constant(0), valueOrText(seeds.machineConfigSeeds)),
      fc.tuple(fc.constant(1), valueOrText(seeds.fleetConfigSeeds)),
      fc.tuple(fc.constant(2), valueOrText(seeds.harnessReportSeeds)),
    );
    const decoders = [parseMachineConfig, parseFleetConfig, parseHarnessReport] as const;
    runTarget("config-files", input, ([i, file]) => {
      coded(["parseMachineConfig", "parseFleetConfig", "parseHarnessReport"][i]!, () => decoders[i]!(file));
    });
  });
});
