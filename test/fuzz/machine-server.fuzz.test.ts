// Fuzz target of a live machine: real `Machine`s (sim board, sim Lightning node, the embedded MQTT broker, journal
// on disk) serving their HTTP API and WebSocket on loopback: one with its door open and a technician logged in (the
// service and demo routes), one closed and selling (orders, which create real invoices on the sim node). Random requests to `POST /api/orders`, the order routes,
// the service routes (with a real service token, a wrong one, or none) and the demo sim route, with mutated bodies,
// methods, content types and paths; random WebSocket frames. Every answer must be a 2xx, or a 4xx / 503 with
// `{error: {code, message}}` (never a 500, never a hang), and the server must stay up: it answers /api/health and a
// WebSocket ping after every input.
import { isUtf8 } from "node:buffer";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import WebSocket from "ws";
import { createLogger, hashPin, Machine } from "@zapvend/machine";
import { startEmbeddedBroker, type EmbeddedBroker } from "@zapvend/mqtt-bridge";
import { startSimNode, type SimNodeServer } from "@zapvend/payments/sim";
import { parseMachineConfig, parseValue, TestVendRequest } from "@zapvend/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundedAsync, mutatedJsonBytes, mutatedText, runAsyncTarget, TARGET_TIMEOUT_MS } from "./fuzz-kit.js";
import * as seeds from "./seeds.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PIN = "4321";

let broker: EmbeddedBroker;
let node: SimNodeServer;
const machines: Machine[] = [];
const dataDirs: string[] = [];
/** The technician's machine: door open, logged in; the service and demo routes go here. */
let serviceBase: URL;
/** The buyer's machine: door closed, selling; every other route goes here, so orders reach the Lightning node. */
let buyerBase: URL;
let token = "";
const logs: string[] = [];

async function startMachine(name: string): Promise<URL> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `zapvend-fuzz-${name}-`));
  dataDirs.push(dataDir);
  const parsed = parseMachineConfig({
    machineId: `fuzz-${name}-${process.pid}`,
    http: { host: "127.0.0.1", port: 0 },
    mqtt: { url: broker.url, telemetryIntervalMs: 60_000 },
    board: { kind: "sim", pinmap: path.join(repo, "hardware/pinmaps/snacks.json") },
    payments: { backend: { kind: "sim", url: node.url }, network: "regtest", invoiceExpirySec: 120 },
    pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" } },
    catalog: [
      { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 200, capacity: 1000 },
      { slot: "A2", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: "900000" }, stock: 200, capacity: 1000 },
    ],
    dataDir,
    servicePinHash: hashPin(PIN),
  });
  if (!parsed.ok) throw new Error(parsed.error.message);
  const machine = new Machine(parsed.value, { logger: createLogger(`machine:${name}`, { level: "warn", write: (line) => logs.push(line) }) });
  machines.push(machine);
  return new URL(await machine.start());
}

beforeAll(async () => {
  broker = await startEmbeddedBroker({ port: 0 });
  node = await startSimNode({ port: 0 });
  [serviceBase, buyerBase] = await Promise.all([startMachine("service"), startMachine("buyer")]);
  // The service menu needs the door open and the PIN: a real token lets the fuzzer past the login into each route.
  expect((await request({ method: "POST", path: "/api/demo/sim", headers: JSON_TYPE, body: Buffer.from('{"door":"open"}') })).status).toBe(200);
  const login = await request({ method: "POST", path: "/api/service/login", headers: JSON_TYPE, body: Buffer.from(JSON.stringify({ pin: PIN })) });
  token = (JSON.parse(login.text) as { token: string }).token;
  expect(token).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
  // The buyer's machine sells once its payments are up.
  const deadline = Date.now() + 30_000;
  while (!(JSON.parse((await request({ method: "GET", path: "/api/health" })).text) as { selling?: boolean }).selling) {
    if (Date.now() > deadline) throw new Error("the buyer's machine never started selling");
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  for (const m of machines) await m.stop();
  await node?.stop();
  await broker?.close();
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

/** The machine takes a POST only as JSON (a fuzzed request without it gets its coded 415). */
const JSON_TYPE = { "content-type": "application/json" };

interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Which authorization header to send; "token" is the service token current when the request is sent. */
  auth?: "token" | "none" | "wrong" | "malformed";
}

function authHeader(auth: Req["auth"]): Record<string, string> {
  if (auth === "token") return { authorization: `Bearer ${token}` };
  if (auth === "wrong") return { authorization: `Bearer ${"A".repeat(32)}` };
  if (auth === "malformed") return { authorization: "Basic Zm9vOmJhcg==" };
  return {};
}

/** One HTTP request on its own connection (no keep-alive: a refused request cannot poison the next one). */
function request(req: Req): Promise<{ status: number; text: string; contentType: string }> {
  const base = /^\/api\/(service|demo)\//.test(req.path) ? serviceBase : buyerBase;
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.path,
        // An explicit length: without it Node's client sends some methods' bodies in a way its own parser refuses (400).
        headers: {
          connection: "close",
          ...(req.body === undefined ? {} : { "content-length": String(req.body.length) }),
          ...authHeader(req.auth),
          ...req.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), contentType: String(res.headers["content-type"] ?? "") }));
        res.on("error", reject);
      },
    );
    r.on("error", reject);
    r.end(req.body === undefined ? undefined : Buffer.from(req.body));
  });
}

/** Bytes of a path as a client would send them: every byte outside a safe set percent-encoded. */
function encodePath(p: string): string {
  let out = "";
  for (const b of Buffer.from(p, "utf8")) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9/_.~:-]/.test(c) ? c : `%${b.toString(16).padStart(2, "0").toUpperCase()}`;
  }
  return out;
}

const ROUTES: Array<{ method: string; path: string; seeds: readonly unknown[] }> = [
  { method: "POST", path: "/api/orders", seeds: seeds.createOrderSeeds },
  { method: "GET", path: "/api/orders/ord_abcdefgh12345678", seeds: [] },
  { method: "POST", path: "/api/orders/ord_abcdefgh12345678/cancel", seeds: [{}] },
  { method: "GET", path: "/api/orders/current", seeds: [] },
  { method: "POST", path: "/api/service/login", seeds: seeds.serviceLoginSeeds },
  { method: "POST", path: "/api/service/mode", seeds: seeds.serviceModeSeeds },
  { method: "POST", path: "/api/service/restock", seeds: seeds.restockSeeds },
  { method: "POST", path: "/api/service/test-vend", seeds: seeds.testVendSeeds },
  { method: "GET", path: "/api/service/status", seeds: [] },
  { method: "POST", path: "/api/demo/sim", seeds: seeds.demoSimSeeds },
  { method: "GET", path: "/api/health", seeds: [] },
  { method: "GET", path: "/api/catalog", seeds: [] },
];

const headerValue = fc.oneof(
  fc.constantFrom("application/json", "text/plain", "application/json; charset=latin1", "multipart/form-data; boundary=x", "", "*/*"),
  fc.stringMatching(/^[\x20-\x7e]{0,64}$/),
  fc.integer({ min: 100, max: 4_000 }).map((n) => "a".repeat(n)),
);

const requestArb: fc.Arbitrary<Req> = fc.integer({ min: 0, max: ROUTES.length - 1 }).chain((i) => {
  const route = ROUTES[i]!;
  const routeSeeds = route.seeds.length > 0 ? route.seeds : [{}];
  return fc
    .record({
      method: fc.oneof({ weight: 6, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS") }),
      path: fc.oneof({ weight: 5, arbitrary: fc.constant(route.path) }, { weight: 1, arbitrary: mutatedText([route.path.slice("/api/".length)]).map((p) => `/api/${p}`) }),
      body: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 8, arbitrary: mutatedJsonBytes(routeSeeds) }),
      auth: fc.constantFrom("token", "token", "none", "wrong", "malformed"),
      contentType: fc.option(headerValue, { nil: undefined }),
      extraHeader: fc.option(fc.tuple(fc.constantFrom("x-fuzz", "accept", "btcpay-sig", "origin"), headerValue), { nil: undefined }),
    })
    .map(({ method, path: p, body, auth, contentType, extraHeader }) => {
      const headers: Record<string, string> = {};
      if (contentType !== undefined) headers["content-type"] = contentType;
      if (extraHeader !== undefined) headers[extraHeader[0]] = extraHeader[1];
      let b = body;
      // A valid test vend turns a real (simulated) spiral for seconds: aimed at a slot the machine does not have,
      // it still goes through the whole route to the controller's refusal, within the call bound.
      if (p === "/api/service/test-vend" && b !== undefined) {
        try {
          if (parseValue(TestVendRequest, JSON.parse(Buffer.from(b).toString("utf8"))).ok) b = Buffer.from('{"slot":"Z9"}');
        } catch {
          // not JSON: sent as it is
        }
      }
      return { method, path: encodePath(p), headers, auth, ...(b === undefined || method === "GET" || method === "HEAD" ? {} : { body: b }) };
    });
});

/**
 * After a fuzzed `/api/demo/sim` closed the door (which ends every service session), opens it and logs in again, so
 * the service routes stay reachable. A PIN lockout caused by fuzzed logins just leaves the old token (401s).
 */
async function restoreService(res: { status: number; text: string }): Promise<void> {
  if (res.status !== 200 || !res.text.includes('"door":"closed"')) return;
  await request({ method: "POST", path: "/api/demo/sim", headers: JSON_TYPE, body: Buffer.from('{"door":"open"}') });
  const login = await request({ method: "POST", path: "/api/service/login", headers: JSON_TYPE, body: Buffer.from(JSON.stringify({ pin: PIN })) });
  if (login.status === 200) token = (JSON.parse(login.text) as { token: string }).token;
}

/** The answer of a live server to one fuzzed request: no 500, coded errors, and JSON wherever the API answers. */
function checkAnswer(req: Req, res: { status: number; text: string; contentType: string }): void {
  const what = `${res.status} ${JSON.stringify(res.text.slice(0, 300))} for ${req.method} ${req.path.slice(0, 200)}${req.path.length > 200 ? `... (${req.path.length} chars)` : ""}`;
  // 503 (payments or hardware unavailable, out of service) and 501 (credit_not_supported) are coded answers of the
  // API; a 500 is a bug that reached the handler's last resort.
  if (res.status >= 500 && res.status !== 503 && res.status !== 501) throw new Error(`server error: ${what}`);
  // Node's HTTP parser answers a request head over its 16 KB limit with a bare 431 before the API sees it.
  const headBytes = req.path.length + 200 + Object.entries(req.headers ?? {}).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  if (res.status === 431 && headBytes > 15_000) return;
  if (req.method === "HEAD") return;
  if (res.status === 204) return;
  if (!res.contentType.startsWith("application/json")) throw new Error(`not JSON: ${what}`);
  const body = JSON.parse(res.text) as { error?: { code?: unknown; message?: unknown } };
  if (res.status >= 400) {
    if (typeof body.error?.code !== "string" || body.error.code.length === 0) throw new Error(`error without a code: ${what}`);
    if (typeof body.error.message !== "string") throw new Error(`error without a message: ${what}`);
  } else if (res.status < 200 || res.status > 299) {
    throw new Error(`unexpected status: ${what}`);
  }
}

async function healthy(): Promise<void> {
  for (const base of [serviceBase, buyerBase]) {
    const res = await boundedAsync("GET /api/health", () => fetch(new URL("/api/health", base)));
    if (res.status !== 200) throw new Error(`${base.href} is not healthy after the input: ${res.status} ${await res.text()}`);
  }
}

/** A WebSocket that has received its greeting (hello, status, catalog). */
function openSocket(): Promise<{ ws: WebSocket; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${buyerBase.host}/ws`);
    const messages: string[] = [];
    const onClose = () => reject(new Error("closed before the greeting"));
    const onMessage = (d: Buffer) => {
      messages.push(d.toString("utf8"));
      if (messages.length < 3) return;
      ws.off("message", onMessage);
      ws.off("close", onClose);
      const types = messages.map((m) => (JSON.parse(m) as { type?: string }).type).join(",");
      if (types !== "hello,status,catalog") reject(new Error(`greeting was ${types}`));
      else resolve({ ws, messages });
    };
    ws.on("message", onMessage);
    ws.on("error", () => undefined); // a refused frame's close also emits an error: the ping after it tells
    ws.on("close", onClose);
  });
}

/** Sends a ping and waits for its pong: the socket (and the server) still answer. Leaves no listener behind. */
function pingPong(ws: WebSocket, t: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      ws.off("message", onMessage);
      ws.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onMessage = (d: Buffer) => {
      const m = JSON.parse(d.toString("utf8")) as { type?: string; t?: number };
      if (m.type === "pong" && m.t === t) done();
    };
    const onClose = () => done(new Error("the socket closed instead of answering the ping"));
    ws.on("message", onMessage);
    ws.on("close", onClose);
    ws.send(JSON.stringify({ type: "ping", t }));
  });
}

describe("fuzz: a live machine's HTTP API and WebSocket", () => {
  it("random requests: coded 4xx (or 503), never a 500, and the server stays up", { timeout: TARGET_TIMEOUT_MS }, async () => {
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    const stats = await runAsyncTarget(
      "machine-http",
      requestArb,
      async (req) => {
        const res = await boundedAsync(`${req.method} ${req.path}`, () => request(req));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        checkAnswer(req, res);
        if (req.path === "/api/demo/sim") await restoreService(res);
        if (res.status >= 400 && res.text.startsWith("{")) {
          const code = String((JSON.parse(res.text) as { error: { code: string } }).error.code);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
        await healthy();
      },
      () => ({ statuses: Object.fromEntries(statuses), codes: Object.fromEntries(codes) }),
    );
    // The mix reached both sides of the API: requests it served and requests it refused.
    expect([...statuses.keys()].some((s) => s < 300), JSON.stringify([...statuses])).toBe(true);
    expect([...statuses.keys()].some((s) => s >= 400), JSON.stringify([...statuses])).toBe(true);
    expect(stats.runs).toBeGreaterThan(0);
    expect(logs.filter((l) => l.includes("http handler failed"))).toEqual([]);
  });

  it("random WebSocket frames: refused quietly, the socket or a new one still answers a ping", { timeout: TARGET_TIMEOUT_MS }, async () => {
    let sock = await openSocket();
    let t = 0;
    const frame = fc.oneof(
      { weight: 6, arbitrary: mutatedJsonBytes(seeds.kioskClientSeeds).map((b) => ({ binary: false, data: Buffer.from(b) })) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ binary: true, data: Buffer.from(b) })) },
      // Over the server's 4 KB frame limit: it closes that socket (1009), and a new socket must still work.
      { weight: 1, arbitrary: fc.integer({ min: 4_097, max: 70_000 }).map((n) => ({ binary: false, data: Buffer.from("x".repeat(n)) })) },
    );
    await runAsyncTarget("machine-ws", fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
      for (const f of frames) if (sock.ws.readyState === WebSocket.OPEN) sock.ws.send(f.data, { binary: f.binary });
      try {
        await boundedAsync("ws ping", () => pingPong(sock.ws, ++t));
      } catch (err) {
        // Only an oversized frame (1009) or a text frame that is not UTF-8 (1007, RFC 6455 section 8.1) may end a
        // socket; then the server must greet and answer a new one.
        if (!frames.some((f) => f.data.length > 4_096 || (!f.binary && !isUtf8(f.data)))) throw err;
        sock.ws.terminate();
        sock = await boundedAsync("ws reconnect", () => openSocket());
        await boundedAsync("ws ping after reconnect", () => pingPong(sock.ws, ++t));
      }
    });
    sock.ws.terminate();
    await healthy();
  });
});
