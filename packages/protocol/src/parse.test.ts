import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  canonicalJson,
  msatString,
  parseCreateOrderRequest,
  parseKioskClientMessage,
  parseKioskServerMessage,
  parseMachineConfig,
  parseMqttMessage,
  parseSalesQuery,
  toMsat,
  topics,
  parseTopic,
  Product,
  parseValue,
  MAX_MQTT_PAYLOAD_BYTES,
} from "./index.js";

const envelope = { v: 1, id: "evt_0000000001", ts: 1_763_700_000_000, boot: 3, seq: 17 };
const hash = "a".repeat(64);

describe("HTTP bodies", () => {
  it("accepts a valid order request", () => {
    expect(parseCreateOrderRequest({ slot: "A1" })).toEqual({ ok: true, value: { slot: "A1" } });
    expect(parseCreateOrderRequest('{"slot":"B12"}')).toEqual({ ok: true, value: { slot: "B12" } });
  });

  it("says which field is missing or wrong", () => {
    expect(parseCreateOrderRequest({})).toMatchObject({ ok: false, error: { code: "missing_field", path: "slot" } });
    expect(parseCreateOrderRequest({ slot: 1 })).toMatchObject({ ok: false, error: { code: "invalid_type", path: "slot" } });
    expect(parseCreateOrderRequest({ slot: "A1", slott: "A2" })).toMatchObject({ ok: false, error: { code: "unknown_key" } });
    expect(parseCreateOrderRequest("{slot")).toMatchObject({ ok: false, error: { code: "bad_json" } });
    expect(parseCreateOrderRequest(null)).toMatchObject({ ok: false, error: { code: "invalid_type", path: "(root)" } });
  });

  it("refuses prototype-pollution keys, at any depth, before any schema sees them", () => {
    const r = parseCreateOrderRequest('{"slot":"A1","__proto__":{"admin":true}}');
    expect(r).toMatchObject({ ok: false, error: { code: "forbidden_key", path: "__proto__" } });
    const deep = parseMachineConfig(JSON.parse('{"machineId":"m1","catalog":[{"constructor":{"prototype":{}}}]}'));
    expect(deep).toMatchObject({ ok: false, error: { code: "forbidden_key", path: "catalog[0].constructor" } });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it("refuses huge and deeply nested input without crashing", () => {
    const huge = JSON.stringify({ slot: "A".repeat(10 * 1024 * 1024) });
    expect(parseCreateOrderRequest(huge)).toMatchObject({ ok: false, error: { code: "too_large" } });
    expect(parseCreateOrderRequest({ slot: "A".repeat(100_000) })).toMatchObject({ ok: false, error: { code: "too_long" } });
    let nested: unknown = "x";
    for (let i = 0; i < 100_000; i++) nested = [nested];
    expect(parseCreateOrderRequest({ slot: nested })).toMatchObject({ ok: false, error: { code: "too_deep" } });
  });

  it("bounds non-ASCII input by bytes, not characters", () => {
    const emoji = JSON.stringify({ slot: "🥤".repeat(5_000) }); // ~20 kB of UTF-8, ~10 k UTF-16 units
    expect(parseCreateOrderRequest(emoji)).toMatchObject({ ok: false, error: { code: "too_large" } });
  });

  it("parses sales queries and refuses unknown parameters", () => {
    expect(parseSalesQuery({ machine: "drinks-01", from: "1700000000000" })).toMatchObject({ ok: true });
    expect(parseSalesQuery({ machine: "../etc" })).toMatchObject({ ok: false, error: { code: "bad_format", path: "machine" } });
    expect(parseSalesQuery({ sort: "x" })).toMatchObject({ ok: false, error: { code: "unknown_key" } });
  });
});

describe("money", () => {
  it("is an integer msat decimal string on the wire", () => {
    const good = { ...envelope, type: "restock", slot: "A1", previous: 0, stock: 5 };
    expect(parseMqttMessage(topics.event("drinks-01", "restock"), JSON.stringify(good)).ok).toBe(true);
    const sale = (amountMsat: unknown) => ({
      ...envelope,
      type: "sale",
      orderId: "ord_00000001",
      slot: "A1",
      productName: "Cola",
      amountMsat,
      fiat: null,
      paymentHash: hash,
      hold: true,
      evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1800 },
      settledAt: envelope.ts,
    });
    const topic = topics.event("snacks-01", "sale");
    expect(parseMqttMessage(topic, JSON.stringify(sale("250000"))).ok).toBe(true);
    for (const bad of [250000, "250000.5", "-1", "0250", "1e6", " 1", "", "99999999999999999999", null]) {
      expect(parseMqttMessage(topic, JSON.stringify(sale(bad))), String(bad)).toMatchObject({
        ok: false,
        error: { code: bad === null ? "bad_money" : "bad_money", path: "amountMsat" },
      });
    }
  });

  it("converts between wire strings and bigint without loss", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2_100_000_000_000_000_000n }), (n) => toMsat(msatString(n)) === n),
    );
    expect(() => msatString(-1n)).toThrow(RangeError);
    expect(() => toMsat("1.5")).toThrow(RangeError);
  });

  it("refuses a float price in a product", () => {
    const p = { slot: "A1", name: "Water", kind: "spiral", price: { unit: "fiat", currency: "EUR", amountMinor: 1.5 }, stock: 1, capacity: 5 };
    expect(parseValue(Product, p)).toMatchObject({ ok: false, error: { path: "price.amountMinor" } });
  });
});

describe("MQTT", () => {
  it("builds and parses every topic of the tree", () => {
    expect(topics.status("drinks-01")).toBe("zapvend/v1/m/drinks-01/status");
    expect(topics.commandResult("drinks-01", "test-vend")).toBe("zapvend/v1/m/drinks-01/cmd/test-vend/res");
    expect(parseTopic("zapvend/v1/m/drinks-01/event/vend-failed")).toEqual({
      ok: true,
      value: { kind: "event", machineId: "drinks-01", eventType: "vend-failed" },
    });
    expect(parseTopic("zapvend/v1/m/drinks-01/cmd/reboot/res")).toMatchObject({ ok: true, value: { kind: "command-result" } });
    expect(parseTopic("zapvend/v1/fleet/state")).toEqual({ ok: true, value: { kind: "fleet-state" } });
  });

  it("never builds a topic from a machine id with wildcards or separators", () => {
    for (const id of ["+", "#", "a/b", "", "A1", "x".repeat(65), "-a"]) expect(() => topics.status(id), id).toThrow(RangeError);
    expect(parseTopic("zapvend/v1/m/+/status").ok).toBe(false);
    expect(parseTopic("zapvend/v1/m/drinks-01/event/free-beer").ok).toBe(false);
    expect(parseTopic("other/topic").ok).toBe(false);
  });

  it("validates payloads against the topic they arrived on", () => {
    const status = { ...envelope, state: "online" };
    expect(parseMqttMessage(topics.status("drinks-01"), JSON.stringify(status))).toMatchObject({ ok: true, value: { topic: { kind: "status" } } });
    expect(parseMqttMessage(topics.status("drinks-01"), JSON.stringify({ ...status, v: 2 }))).toMatchObject({ ok: false, error: { path: "v" } });
    const door = { ...envelope, type: "door", open: true };
    expect(parseMqttMessage(topics.event("drinks-01", "sale"), JSON.stringify(door))).toMatchObject({ ok: false, error: { path: "type" } });
    expect(parseMqttMessage(topics.status("drinks-01"), new Uint8Array(0))).toMatchObject({ ok: false, error: { code: "bad_json" } });
    expect(parseMqttMessage(topics.status("drinks-01"), new Uint8Array(MAX_MQTT_PAYLOAD_BYTES + 1))).toMatchObject({ ok: false, error: { code: "too_large" } });
  });

  it("carries the optional installation id on status, birth, events and event acks, and still parses without it", () => {
    const install = 2 ** 48 - 1;
    const status = { ...envelope, state: "lost" };
    const door = { ...envelope, type: "door", open: true };
    const ack = { ...envelope, from: 1, upTo: 4, seqs: [7] };
    const birth = {
      ...envelope,
      model: "zv-spiral",
      softwareVersion: "1.0.0",
      slots: [],
      capabilities: { holdInvoices: true, paymentsBackend: "sim", board: "sim" },
      configVersions: { desired: 0, catalog: "abc" },
    };
    const cases: Array<[string, object]> = [
      [topics.status("drinks-01"), status],
      [topics.birth("drinks-01"), birth],
      [topics.event("drinks-01", "door"), door],
      [topics.eventAck("drinks-01"), ack],
    ];
    for (const [topic, payload] of cases) {
      // Kept through validation (an unknown member would be stripped), so the receiver can compare it.
      expect(parseMqttMessage(topic, JSON.stringify({ ...payload, install })), topic).toMatchObject({ ok: true, value: { payload: { install } } });
      // Older machines and fleets leave it out.
      const old = parseMqttMessage(topic, JSON.stringify(payload));
      expect(old.ok, topic).toBe(true);
      expect(old.ok && "install" in old.value.payload, topic).toBe(false);
      for (const bad of [0, -1, 1.5, "12", Number.MAX_SAFE_INTEGER + 2]) {
        expect(parseMqttMessage(topic, JSON.stringify({ ...payload, install: bad })), `${topic} ${String(bad)}`).toMatchObject({ ok: false, error: { path: "install" } });
      }
    }
  });

  it("refuses a desired state keyed by a polluting or malformed slot", () => {
    const t = topics.desired("drinks-01");
    const ok = { ...envelope, version: 4, slots: { A1: { enabled: false } } };
    expect(parseMqttMessage(t, JSON.stringify(ok)).ok).toBe(true);
    expect(parseMqttMessage(t, '{"v":1,"id":"evt_0000000001","ts":1,"boot":0,"seq":0,"version":4,"slots":{"__proto__":{"enabled":false}}}')).toMatchObject({
      ok: false,
      error: { code: "forbidden_key" },
    });
    expect(parseMqttMessage(t, JSON.stringify({ ...ok, slots: { "a b": {} } })).ok).toBe(false);
  });

  it("signs over canonical JSON independent of key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, "x"], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[1,"x"]},"b":1}');
    fc.assert(
      fc.property(fc.jsonValue(), (v) => canonicalJson(JSON.parse(JSON.stringify(v))) === canonicalJson(structuredClone(v))),
    );
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
  });
});

describe("WebSocket messages", () => {
  it("parses what the machine pushes and refuses the rest", () => {
    expect(parseKioskServerMessage('{"type":"progress","orderId":"ord_00000001","progress":{"kind":"pour","pouredMl":120.5,"targetMl":250}}').ok).toBe(true);
    expect(parseKioskServerMessage('{"type":"launch-missiles"}')).toMatchObject({ ok: false, error: { code: "bad_value", path: "type" } });
    expect(parseKioskClientMessage('{"type":"ping","t":5}').ok).toBe(true);
    expect(parseKioskClientMessage("x".repeat(5_000))).toMatchObject({ ok: false, error: { code: "too_large" } });
  });
});

describe("machine config", () => {
  const base = {
    machineId: "drinks-01",
    board: { kind: "sim", pinmap: "hardware/pinmaps/drinks.json" },
    payments: { backend: { kind: "sim" }, network: "regtest" },
    catalog: [{ slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 250, price: { unit: "msat", amountMsat: "500000" }, stock: 40, capacity: 40 }],
    dataDir: "/var/lib/zapvend",
  };

  it("fills the embedded defaults", () => {
    const r = parseMachineConfig(base);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.http).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(r.value.mqtt.url).toBe("mqtt://127.0.0.1:1883");
    expect(r.value.payments.invoiceExpirySec).toBe(180);
    expect(r.value.payments.backend).toEqual({ kind: "sim", url: "http://127.0.0.1:8060" });
    expect(r.value.catalog[0]!.enabled).toBe(true);
  });

  it("points at the exact mistake", () => {
    expect(parseMachineConfig({ ...base, htpp: {} })).toMatchObject({ ok: false, error: { code: "unknown_key" } });
    expect(parseMachineConfig({ ...base, payments: { backend: { kind: "lnd" }, network: "regtest" } })).toMatchObject({
      ok: false,
      error: { code: "missing_field", path: "payments.backend.url" },
    });
    const pourWithoutVolume = { ...base, catalog: [{ ...base.catalog[0], volumeMl: undefined }] };
    expect(parseMachineConfig(pourWithoutVolume)).toMatchObject({ ok: false, error: { code: "missing_field", path: "catalog[0].volumeMl" } });
    const twice = { ...base, catalog: [base.catalog[0], base.catalog[0]] };
    expect(parseMachineConfig(twice)).toMatchObject({ ok: false, error: { code: "bad_value", path: "catalog[1].slot" } });
    expect(parseMachineConfig({ ...base, machineId: "Drinks 01" })).toMatchObject({ ok: false, error: { code: "bad_format", path: "machineId" } });
  });
});

describe("hostile input never throws", () => {
  it("any JSON value or any string yields a result", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.string({ maxLength: 500 })), (v) => {
        for (const r of [
          parseCreateOrderRequest(v),
          parseMachineConfig(v),
          parseKioskClientMessage(typeof v === "string" ? v : JSON.stringify(v)),
          parseMqttMessage(topics.event("m1", "sale"), typeof v === "string" ? v : JSON.stringify(v)),
        ]) {
          if (!r.ok) expect(r.error.code).toMatch(/^[a-z_]+$/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
