// The fleet API as an operator's tools use it: real HTTP on 127.0.0.1, a real WebSocket, a real SQLite file.
import { verify } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { canonicalJson, parseFleetWsMessage, parseMqttMessage, type FleetWsMessage } from "@zapvend/protocol";
import { bearer } from "./__fixtures__/auth.js";
import { birth, commandResult, reported, sale, status, telemetry } from "./__fixtures__/messages.js";
import { RecordingLink, testSigner } from "./__fixtures__/recording-link.js";
import { engines } from "./__fixtures__/stores.js";
import { FleetService } from "./fleet-service.js";
import { FleetHttpServer } from "./http-server.js";
import { num } from "./store/db.js";

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

describe("fleet HTTP API and WebSocket", () => {
  let service: FleetService;
  let http: FleetHttpServer;
  let link: RecordingLink;
  let publicKeyPem: string;
  let cleanup: () => Promise<void>;
  let base: string;
  let auth: Record<string, string>;

  beforeEach(async () => {
    const opened = await engines[0]!.open();
    cleanup = opened.cleanup;
    const keys = testSigner();
    link = new RecordingLink(keys.signer);
    publicKeyPem = keys.publicKeyPem;
    service = new FleetService({ store: opened.store, link, liveIntervalMs: 20, alertIntervalMs: 60_000 });
    await service.start();
    http = new FleetHttpServer({ service, port: 0 });
    await http.start();
    base = http.url;
    auth = await bearer(http.auth);
    await service.ingest([
      birth("snacks-01", { slots: [{ slot: "A1", stock: 5 }, { slot: "A2", stock: 1 }] }),
      status("snacks-01", "online", { boot: 1, seq: 1 }),
      sale("snacks-01", { seq: 1, slot: "A1", settledAt: T0, amountMsat: "1500000" }),
      sale("snacks-01", { seq: 2, slot: "A2", settledAt: T0 + 60_000, amountMsat: "2000000" }),
      birth("drinks-01", { slots: [{ slot: "P1" }] }),
      sale("drinks-01", { seq: 1, slot: "P1", settledAt: T0 + 120_000, amountMsat: "2500000" }),
    ]);
  });

  afterEach(async () => {
    await http.stop();
    await service.stop();
    await cleanup();
  });

  const get = async (path: string) => {
    const r = await fetch(base + path, { headers: auth });
    return { status: r.status, type: r.headers.get("content-type"), body: r.headers.get("content-type")?.startsWith("application/json") ? await r.json() : await r.text() };
  };
  const send = async (method: string, path: string, body: unknown) => {
    const r = await fetch(base + path, { method, headers: { ...auth, "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  function openWs(): Promise<{ ws: WebSocket; messages: FleetWsMessage[]; next: (pred: (m: FleetWsMessage) => boolean) => Promise<FleetWsMessage> }> {
    const ws = new WebSocket(base.replace("http", "ws") + "/ws", { headers: auth });
    const messages: FleetWsMessage[] = [];
    const waiters: Array<{ pred: (m: FleetWsMessage) => boolean; resolve: (m: FleetWsMessage) => void }> = [];
    ws.on("message", (data) => {
      const r = parseFleetWsMessage(data.toString());
      if (!r.ok) throw new Error(`bad ws message: ${r.error.message}`);
      messages.push(r.value);
      for (const w of [...waiters]) if (w.pred(r.value)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r.value);
      }
    });
    const next = (pred: (m: FleetWsMessage) => boolean) =>
      new Promise<FleetWsMessage>((resolve) => {
        const found = messages.find(pred);
        if (found) resolve(found);
        else waiters.push({ pred, resolve });
      });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve({ ws, messages, next }));
      ws.once("error", reject);
    });
  }

  it("lists machines with status, stock and missing events", async () => {
    const r = await get("/api/machines");
    expect(r.status).toBe(200);
    const snacks = (r.body as Array<Record<string, unknown>>).find((m) => m.id === "snacks-01")!;
    expect(snacks).toMatchObject({ status: "online", boot: 1, model: "zapvend test", missingEvents: 0 });
    expect(snacks.stock).toEqual([
      { slot: "A1", name: "Product A1", stock: 4, capacity: 10 },
      { slot: "A2", name: "Product A2", stock: 0, capacity: 10 },
    ]);
    const detail = await get("/api/machines/snacks-01");
    expect(detail.body).toMatchObject({ machine: { id: "snacks-01" }, gaps: [], desired: null });
    expect((await get("/api/machines/nope-01")).body).toEqual({ error: { code: "machine_not_found", message: "no machine nope-01" } });
    expect((await get("/api/machines/NOT%20AN%20ID")).status).toBe(400);
  });

  it("filters sales by machine and time (epoch ms or ISO) and refuses unknown parameters with a code", async () => {
    const all = await get("/api/sales");
    expect((all.body as unknown[]).length).toBe(3);
    const one = await get(`/api/sales?machine=snacks-01&from=${T0 + 1}&to=${new Date(T0 + 3_600_000).toISOString()}`);
    expect((one.body as Array<{ slot: string; amountMsat: string }>).map((s) => [s.slot, s.amountMsat])).toEqual([["A2", "2000000"]]);
    const bad = await get("/api/sales?machine=snacks-01&colour=red");
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { code: string } }).error.code).toBe("unknown_key");
    expect(((await get("/api/sales?from=yesterday")).body as { error: { code: string } }).error.code).toBe("bad_value");
  });

  it("exports CSV, reports per day/slot/machine, reconciliation and a DEX file", async () => {
    const csv = await get("/api/sales.csv?machine=snacks-01");
    expect(csv.type).toMatch(/^text\/csv/);
    const lines = (csv.body as string).trim().split("\r\n");
    expect(lines[0]).toBe("settled_at,machine_id,event_id,seq,order_id,slot,selection,product,amount_msat,amount_sat,fiat_currency,fiat_amount_minor,payment_hash,hold_invoice");
    expect(lines).toHaveLength(3);
    // A direct-drive sale has no VMC selection: the column is empty.
    expect(lines.some((l) => l.includes(",A2,,Product A2,2000000,2000.000,EUR,150,"))).toBe(true);

    const bySlot = await get("/api/reports/sales?group=slot&machine=snacks-01");
    expect((bySlot.body as Array<{ key: string; count: number; amountMsat: string }>).map((r) => [r.key, r.count, r.amountMsat])).toEqual([
      ["snacks-01/A1", 1, "1500000"],
      ["snacks-01/A2", 1, "2000000"],
    ]);
    const byDay = await get("/api/reports/sales?group=day");
    expect(byDay.body).toEqual([{ key: "2026-11-20", machineId: null, slot: null, day: "2026-11-20", timeZone: "UTC", count: 3, amountMsat: "6000000", fiat: [{ currency: "EUR", amountMinor: 450 }] }]);
    expect((await get("/api/reports/sales?group=week")).status).toBe(400);

    const rec = await get("/api/reports/reconciliation?format=csv");
    expect((rec.body as string).split("\r\n")[0]).toBe("at,machine_id,event_id,kind,order_id,slot,payment_hash,amount_msat,amount_sat,state");
    expect((rec.body as string)).toContain(",settled\r\n");

    const dex = await get("/api/reports/dex/snacks-01");
    const segs = (dex.body as string).trim().split("\r\n");
    expect(segs[0]).toMatch(/^DXS\*/);
    expect(segs).toContain("PA1*A1*1500*Product A1");
    expect(segs).toContain("PA2*1*1500*1*1500");
    expect(segs).toContain("VA1*3500*2*3500*2");
    expect(segs.at(-1)).toBe("DXE*1*1");
  });

  it("counts report days in the operator's zone (or tz=), and dates the DEX read-out on the machine's clock", async () => {
    const now = Date.UTC(2026, 2, 29, 1, 30); // 03:30 CEST in Paris, 30 minutes after the clocks went forward; 07:00 in Kolkata
    const paris = new FleetHttpServer({ service, port: 0, timeZone: "Europe/Paris", now: () => now, machineTimeZone: (id) => (id === "drinks-01" ? "Asia/Kolkata" : "Europe/Paris") });
    await paris.start();
    try {
      const headers = await bearer(paris.auth);
      const json = async (path: string) => {
        const r = await fetch(paris.url + path, { headers });
        return { status: r.status, body: (await r.json()) as Array<{ day: string; count: number; timeZone?: string }> & { error?: { code: string; message: string } } };
      };
      await service.ingest([
        sale("snacks-01", { seq: 3, slot: "A1", settledAt: Date.UTC(2026, 9, 24, 21, 30), amountMsat: "1000" }), // 23:30 CEST, Saturday 24 October
        sale("snacks-01", { seq: 4, slot: "A1", settledAt: Date.UTC(2026, 9, 24, 22, 30), amountMsat: "1000" }), // 00:30 CEST, Sunday 25 October
        sale("snacks-01", { seq: 5, slot: "A1", settledAt: Date.UTC(2026, 9, 25, 22, 30), amountMsat: "1000" }), // 23:30 CET, still Sunday 25 October
      ]);
      const q = `from=${Date.UTC(2026, 9, 1)}&to=${Date.UTC(2026, 10, 1)}`;
      const local = await json(`/api/reports/sales?group=day&${q}`);
      expect(local.status).toBe(200);
      expect(local.body.map((r) => [r.day, r.count, r.timeZone])).toEqual([
        ["2026-10-24", 1, "Europe/Paris"],
        ["2026-10-25", 2, "Europe/Paris"],
      ]);
      const utc = await json(`/api/reports/sales?group=day&${q}&tz=UTC`);
      expect(utc.body.map((r) => [r.day, r.count, r.timeZone])).toEqual([
        ["2026-10-24", 2, "UTC"],
        ["2026-10-25", 1, "UTC"],
      ]);
      const bad = await json("/api/reports/sales?group=day&tz=Mars%2FOlympus");
      expect(bad.status).toBe(400);
      expect(bad.body.error?.code).toBe("bad_value");
      expect(bad.body.error?.message).toContain('unknown time zone "Mars/Olympus"');

      const dexLine = async (id: string) => ((await (await fetch(`${paris.url}/api/reports/dex/${id}`, { headers })).text()).split("\r\n").find((l) => l.startsWith("EA3*")));
      expect(await dexLine("snacks-01")).toBe("EA3**260329*0330");
      expect(await dexLine("drinks-01")).toBe("EA3**260329*0700");
    } finally {
      await paris.stop();
    }
  });

  it("reads a date-only from=/to= of the audit log as a local day of the operator's zone (or tz=)", async () => {
    // 00:30 on Monday 26 October in Paris (CET), still Sunday 25 October in UTC.
    const at = Date.UTC(2026, 9, 25, 23, 30);
    const paris = new FleetHttpServer({ service, port: 0, timeZone: "Europe/Paris", now: () => at });
    await paris.start();
    try {
      const headers = await bearer(paris.auth); // audited: token.add, at `at`
      const added = async (query: string) => {
        const r = await fetch(`${paris.url}/api/audit?action=token.add&${query}`, { headers });
        expect(r.status).toBe(200);
        return ((await r.json()) as Array<{ at: number }>).filter((e) => e.at === at).length;
      };
      expect(await added("from=2026-10-26&to=2026-10-26")).toBe(1);
      expect(await added("from=2026-10-25&to=2026-10-25")).toBe(0);
      expect(await added("from=2026-10-25&to=2026-10-25&tz=UTC")).toBe(1);
      expect(await added(`from=${at}&to=${at + 1}`)).toBe(1);
      const bad = await fetch(`${paris.url}/api/audit?from=2026-02-30`, { headers });
      expect(bad.status).toBe(400);
    } finally {
      await paris.stop();
    }
  });

  it("reads a date-only from=/to= as a whole local day of the operator's zone (or tz=), 23 h and 25 h on the daylight saving Sundays", async () => {
    const paris = new FleetHttpServer({ service, port: 0, timeZone: "Europe/Paris" });
    await paris.start();
    try {
      const headers = await bearer(paris.auth);
      const json = async <T>(path: string) => {
        const r = await fetch(paris.url + path, { headers });
        return { status: r.status, body: (await r.json()) as T };
      };
      let seq = 10;
      const at = (ms: number) => sale("snacks-01", { seq: seq++, slot: "A1", settledAt: ms, amountMsat: String(1000 + seq) });
      await service.ingest([
        at(Date.UTC(2026, 2, 28, 22, 59)), // 23:59 CET, Saturday 28 March
        at(Date.UTC(2026, 2, 28, 23, 0)), // 00:00 CET, Sunday 29 March (clocks go forward at 02:00)
        at(Date.UTC(2026, 2, 29, 21, 59)), // 23:59 CEST, Sunday 29 March
        at(Date.UTC(2026, 2, 29, 22, 0)), // 00:00 CEST, Monday 30 March
        at(Date.UTC(2026, 9, 24, 21, 59)), // 23:59 CEST, Saturday 24 October
        at(Date.UTC(2026, 9, 24, 22, 0)), // 00:00 CEST, Sunday 25 October (clocks go back at 03:00)
        at(Date.UTC(2026, 9, 25, 22, 59)), // 23:59 CET, Sunday 25 October
        at(Date.UTC(2026, 9, 25, 23, 0)), // 00:00 CET, Monday 26 October
      ]);
      const times = (rows: Array<{ settledAt: number }>) => rows.map((r) => r.settledAt).sort((a, b) => a - b);

      const spring = await json<Array<{ settledAt: number }>>("/api/sales?machine=snacks-01&from=2026-03-29&to=2026-03-29");
      expect(spring.status).toBe(200);
      expect(times(spring.body)).toEqual([Date.UTC(2026, 2, 28, 23, 0), Date.UTC(2026, 2, 29, 21, 59)]);
      const fall = await json<Array<{ settledAt: number }>>("/api/sales?machine=snacks-01&from=2026-10-25&to=2026-10-25");
      expect(times(fall.body)).toEqual([Date.UTC(2026, 9, 24, 22, 0), Date.UTC(2026, 9, 25, 22, 59)]);
      // tz= names another zone: UTC days.
      const utc = await json<Array<{ settledAt: number }>>("/api/sales?machine=snacks-01&from=2026-10-25&to=2026-10-25&tz=UTC");
      expect(times(utc.body)).toEqual([Date.UTC(2026, 9, 25, 22, 59), Date.UTC(2026, 9, 25, 23, 0)]);
      // A full timestamp keeps its meaning, `to` exclusive.
      const exact = await json<Array<{ settledAt: number }>>(`/api/sales?machine=snacks-01&from=2026-10-24T22:00:00Z&to=${Date.UTC(2026, 9, 25, 22, 59)}`);
      expect(times(exact.body)).toEqual([Date.UTC(2026, 9, 24, 22, 0)]);

      // The report per day and the CSV take the same days.
      const days = await json<Array<{ day: string; count: number }>>("/api/reports/sales?group=day&machine=snacks-01&from=2026-03-28&to=2026-03-30");
      expect(days.body.map((r) => [r.day, r.count])).toEqual([
        ["2026-03-28", 1],
        ["2026-03-29", 2],
        ["2026-03-30", 1],
      ]);
      const oneDay = await json<Array<{ day: string; count: number }>>("/api/reports/sales?group=day&from=2026-10-25&to=2026-10-25");
      expect(oneDay.body.map((r) => [r.day, r.count])).toEqual([["2026-10-25", 2]]);
      const csv = await (await fetch(`${paris.url}/api/sales.csv?machine=snacks-01&from=2026-10-25&to=2026-10-25`, { headers })).text();
      expect(csv.trim().split("\r\n").slice(1).map((l) => l.split(",")[0]).sort()).toEqual(["2026-10-24T22:00:00.000Z", "2026-10-25T22:59:00.000Z"]);
      const rec = await json<unknown[]>("/api/reports/reconciliation?machine=snacks-01&from=2026-03-29&to=2026-03-29");
      expect(rec.body).toHaveLength(2);

      const bad = await json<{ error: { code: string; message: string } }>("/api/sales?from=2026-02-30");
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe("bad_value");
      expect((await json<{ error: { code: string } }>("/api/sales?from=2026-02-01&tz=Mars%2FOlympus")).body.error.code).toBe("bad_value");
    } finally {
      await paris.stop();
    }
  });

  it("an MDB machine: kind mdb, sales carrying the VMC's selection, DEX with the VMC's selection ids", async () => {
    await service.ingest([
      birth("mdb-01", { board: "mdb", slots: [{ slot: "S9", name: "Water" }, { slot: "S12", name: "Cola" }] }),
      sale("mdb-01", { seq: 1, selection: 12, settledAt: T0 + 200_000, amountMsat: "1500000" }),
      sale("mdb-01", { seq: 2, selection: 44, settledAt: T0 + 260_000, amountMsat: "1200000" }),
    ]);
    const machines = (await get("/api/machines")).body as Array<{ id: string; kind?: string }>;
    expect(machines.find((m) => m.id === "mdb-01")?.kind).toBe("mdb");
    expect(machines.find((m) => m.id === "snacks-01")?.kind).toBe("direct");
    const sales = (await get("/api/sales?machine=mdb-01")).body as Array<{ slot: string; selection?: number; evidence: { kind: string } }>;
    expect(sales.map((s) => [s.slot, s.selection, s.evidence.kind]).sort()).toEqual([
      ["S12", 12, "mdb"],
      ["S44", 44, "mdb"],
    ]);
    // The sales CSV carries the selection beside the slot.
    const csv = ((await get("/api/sales.csv?machine=mdb-01")).body as string).trim().split("\r\n");
    const header = csv[0]!.split(",");
    const col = (name: string) => header.indexOf(name);
    expect(col("selection")).toBe(col("slot") + 1);
    const rows = csv.slice(1).map((l) => l.split(","));
    expect(rows.map((r) => [r[col("slot")], r[col("selection")], r[col("product")]]).sort()).toEqual([
      ["S12", "12", "Product S12"],
      ["S44", "44", "Product S44"],
    ]);
    const segs = ((await get("/api/reports/dex/mdb-01")).body as string).trim().split("\r\n");
    const pa1 = segs.filter((s) => s.startsWith("PA1*"));
    // The VMC's own selection ids, in numeric order; an unmapped selection is counted under its id too.
    expect(pa1).toEqual(["PA1*9*1500*Water", "PA1*12*1500*Cola", "PA1*44**Selection 44"]);
    expect(segs).toContain("VA1*2700*2*2700*2");
    // A direct-drive machine keeps its slots as product ids.
    expect(((await get("/api/reports/dex/snacks-01")).body as string)).toContain("PA1*A1*1500*Product A1");
  });

  it("signs and publishes a command, answers CommandAccepted, and pushes and stores the result", async () => {
    const { ws, next } = await openWs();
    await next((m) => m.type === "hello");
    const r = await send("POST", "/api/machines/snacks-01/commands/test-vend", { args: { slot: "A1" } });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe("sent");
    const rid = r.body.rid as string;

    expect(link.published).toHaveLength(1);
    const pub = link.published[0]!;
    expect(pub).toMatchObject({ topic: "zapvend/v1/m/snacks-01/cmd/test-vend", qos: 1, retain: false });
    // What a machine receives parses with protocol and verifies with the operator's public key.
    const parsed = parseMqttMessage(pub.topic, JSON.stringify(pub.payload));
    expect(parsed.ok).toBe(true);
    const { sig, ...unsigned } = pub.payload;
    expect(verify(null, Buffer.from(canonicalJson(unsigned)), publicKeyPem, Buffer.from(sig as string, "base64url"))).toBe(true);
    expect(unsigned).toMatchObject({ rid, aud: "snacks-01", keyId: "test-operator", args: { slot: "A1" } });
    // Tampering breaks the signature.
    expect(verify(null, Buffer.from(canonicalJson({ ...unsigned, aud: "drinks-01" })), publicKeyPem, Buffer.from(sig as string, "base64url"))).toBe(false);

    await service.ingest([commandResult("snacks-01", "test-vend", rid, { data: { dropSeen: true } })]);
    const pushed = await next((m) => m.type === "command" && m.command.status === "ok");
    expect(pushed).toMatchObject({ command: { rid, data: { dropSeen: true } } });
    const row = (await service.store.db.all("SELECT status, data FROM commands WHERE rid = ?", [rid]))[0]!;
    expect(row).toEqual({ status: "ok", data: '{"dropSeen":true}' });
    ws.close();
  });

  it("refuses bad commands with codes and sends nothing when the broker is down", async () => {
    expect((await send("POST", "/api/machines/snacks-01/commands/self-destruct", {})).body).toMatchObject({ error: { code: "unknown_command" } });
    expect((await send("POST", "/api/machines/snacks-01/commands/test-vend", { args: {} })).body).toMatchObject({ error: { code: "missing_field" } });
    expect((await send("POST", "/api/machines/snacks-01/commands/test-vend", "{not json")).body).toMatchObject({ error: { code: "bad_json" } });
    expect((await send("POST", "/api/machines/ghost-01/commands/reboot", {})).status).toBe(404);
    link.connected = false;
    const down = await send("POST", "/api/machines/snacks-01/commands/reboot", {});
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ error: { code: "link_down" } });
    link.connected = true;
    link.failNext = true;
    expect((await send("POST", "/api/machines/snacks-01/commands/reboot", {})).body).toMatchObject({ error: { code: "publish_failed" } });
    expect(link.published).toHaveLength(0);
    expect(num((await service.store.db.all("SELECT COUNT(*) AS n FROM commands"))[0]!.n)).toBe(0);
  });

  it("publishes desired state retained with a version and shows it pending until the machine reports it", async () => {
    const { ws, next } = await openWs();
    const r = await send("PUT", "/api/machines/snacks-01/desired", { slots: { A1: { price: { unit: "msat", amountMsat: "1800000" } }, A2: { enabled: false } } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ version: 1, pending: true });
    const pub = link.published.at(-1)!;
    expect(pub).toMatchObject({ topic: "zapvend/v1/m/snacks-01/state/desired", retain: true, qos: 1 });
    expect(pub.payload).toMatchObject({ version: 1, slots: { A1: { price: { unit: "msat", amountMsat: "1800000" } }, A2: { enabled: false } } });
    expect(parseMqttMessage(pub.topic, JSON.stringify(pub.payload)).ok).toBe(true);
    const { sig, ...unsigned } = pub.payload;
    expect(verify(null, Buffer.from(canonicalJson(unsigned)), publicKeyPem, Buffer.from(sig as string, "base64url"))).toBe(true);

    expect((await send("PUT", "/api/machines/snacks-01/desired", { slots: { Z9: { enabled: false } } })).body).toMatchObject({ error: { code: "unknown_slot" } });
    // A second edit does not overwrite silently: the history keeps both, who made them and what each changed.
    expect((await send("PUT", "/api/machines/snacks-01/desired", { slots: { A1: { price: { unit: "msat", amountMsat: "1900000" } } }, mode: "maintenance" })).status).toBe(202);
    const history = (await get("/api/machines/snacks-01/desired/history")).body as Array<{ actor: string; detail: { version: number; diff: Record<string, unknown> } }>;
    expect(history.map((h) => h.detail.version)).toEqual([2, 1]);
    expect(history[0]!.actor).toMatch(/^token:test-admin-/);
    expect(history[0]!.detail.diff).toEqual({
      slots: { A1: { price: { before: { unit: "msat", amountMsat: "1800000" }, after: { unit: "msat", amountMsat: "1900000" } } } },
      mode: { before: null, after: "maintenance" },
    });
    expect(history[1]!.detail.diff).toEqual({
      slots: { A1: { price: { before: null, after: { unit: "msat", amountMsat: "1800000" } } }, A2: { enabled: { before: null, after: false } } },
    });
    await send("PUT", "/api/machines/snacks-01/desired", { mode: "normal" });
    expect((await get("/api/machines/snacks-01")).body).toMatchObject({ desired: { version: 3, pending: true } });

    await service.ingest([
      reported("snacks-01", 3, { slots: { A1: { enabled: true, price: { unit: "msat", amountMsat: "1900000" } }, A2: { enabled: false, price: { unit: "msat", amountMsat: "1500000" } } } }),
    ]);
    await next((m) => m.type === "desired" && !m.desired.pending);
    const detail = (await get("/api/machines/snacks-01")).body as { desired: { pending: boolean }; slots: Array<{ slot: string; enabled: boolean; price: unknown }> };
    expect(detail.desired.pending).toBe(false);
    expect(detail.slots.find((s) => s.slot === "A2")!.enabled).toBe(false);
    ws.close();
  });

  it("pushes live machine updates and sales on the WebSocket", async () => {
    const { ws, next } = await openWs();
    const hello = await next((m) => m.type === "hello");
    expect(hello.type === "hello" && hello.machines.map((m) => m.id)).toEqual(["drinks-01", "snacks-01"]);
    service.push(telemetry("snacks-01", { ts: T0 + 500_000, stock: [{ slot: "A1", stock: 9 }] }));
    service.push(sale("snacks-01", { seq: 3, slot: "A1", settledAt: T0 + 600_000 }));
    const sold = await next((m) => m.type === "sale" && m.sale.seq === 3);
    expect(sold.type === "sale" && sold.sale.machineId).toBe("snacks-01");
    const upd = await next((m) => m.type === "machine" && m.machine.stock.some((s) => s.slot === "A1" && s.stock === 8));
    expect(upd.type).toBe("machine");
    ws.close();
  });

  it("acknowledges alerts", async () => {
    await service.tick(true);
    const alerts = (await get("/api/alerts")).body as Array<{ id: string; kind: string; acknowledgedAt: number | null }>;
    const low = alerts.find((a) => a.kind === "low-stock")!;
    expect(low).toBeDefined();
    const ack = await send("POST", `/api/alerts/${low.id}/acknowledge`, {});
    expect(ack.status).toBe(200);
    expect(typeof ack.body.acknowledgedAt).toBe("number");
    expect((await send("POST", "/api/alerts/nope-nope-nope/acknowledge", {})).status).toBe(404);
    // The acknowledgement and the refused command are in the audit, filterable and as CSV.
    const acks = (await get("/api/audit?action=alert")).body as Array<{ action: string; target: string; actor: string }>;
    expect(acks.map((a) => [a.action, a.target])).toEqual([["alert.acknowledge", low.id]]);
    const csv = await get(`/api/audit?target=${low.id}&format=csv`);
    expect(csv.type).toMatch(/^text\/csv/);
    const lines = (csv.body as string).trim().split("\r\n");
    expect(lines[0]).toBe("at,actor,address,action,target,ok,detail");
    expect(lines[1]).toContain(`,127.0.0.1,alert.acknowledge,${low.id},true,`);
    expect((await get("/api/audit?colour=red")).body).toMatchObject({ error: { code: "unknown_key" } });
    expect((await get("/api/nothing")).status).toBe(404);
    expect((await send("DELETE", "/api/machines", {})).status).toBe(405);
  });
});
