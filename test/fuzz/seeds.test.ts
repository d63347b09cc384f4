// Every seed is valid as it is: a fuzz target that mutates a refused seed only ever tests the first refusal.
import {
  DemoSimRequest,
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
  RestockRequest,
  ServiceLoginRequest,
  ServiceModeRequest,
  TestVendRequest,
  type ParseResult,
} from "@zapvend/protocol";
import { describe, expect, it } from "vitest";
import * as seeds from "./seeds.js";

const ok = (r: ParseResult<unknown>, what: string) => expect(r.ok ? "ok" : `${what}: ${r.error.code} at ${r.error.path}: ${r.error.message}`).toBe("ok");

describe("fuzz seeds", () => {
  it("are accepted by their decoder", () => {
    for (const [topic, payload] of seeds.mqttSeeds) ok(parseMqttMessage(topic, JSON.stringify(payload)), topic);
    for (const s of seeds.createOrderSeeds) ok(parseCreateOrderRequest(s), "order");
    for (const s of seeds.commandRequestSeeds) ok(parseCommandRequest(s), "command");
    for (const s of seeds.salesQuerySeeds) ok(parseSalesQuery(s), "sales");
    for (const s of seeds.serviceLoginSeeds) ok(parseValue(ServiceLoginRequest, s), "login");
    for (const s of seeds.restockSeeds) ok(parseValue(RestockRequest, s), "restock");
    for (const s of seeds.testVendSeeds) ok(parseValue(TestVendRequest, s), "test-vend");
    for (const s of seeds.serviceModeSeeds) ok(parseValue(ServiceModeRequest, s), "mode");
    for (const s of seeds.demoSimSeeds) ok(parseValue(DemoSimRequest, s), "demo sim");
    for (const s of seeds.kioskClientSeeds) ok(parseKioskClientMessage(JSON.stringify(s)), "ws client");
    for (const s of seeds.kioskServerSeeds) ok(parseKioskServerMessage(JSON.stringify(s)), "ws server");
    for (const s of seeds.machineConfigSeeds) ok(parseMachineConfig(s), "machine config");
    for (const s of seeds.fleetConfigSeeds) ok(parseFleetConfig(s), "fleet config");
    for (const s of seeds.harnessReportSeeds) ok(parseHarnessReport(s), "harness report");
  });
});
