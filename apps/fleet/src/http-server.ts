// The fleet's HTTP API (DESIGN.md "Fleet HTTP API" plus the console's routes), the live WebSocket and the
// console's static files. Every body and query is validated with protocol's parsers at this edge; every error
// is answered as `{error: {code, message}}`. The operator key never leaves FleetService.
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { WebSocketServer, type WebSocket } from "ws";
import {
  MAX_HTTP_BODY_BYTES,
  MachineId,
  parseCommandRequest,
  parseDesiredStateEdit,
  parseSalesQuery,
  type FleetWsMessage,
  type MachineDetail,
} from "@zapvend/protocol";
import { silentLogger, type Logger } from "./clock.js";
import { FleetError, FleetErrorCode } from "./errors.js";
import type { FleetService } from "./fleet-service.js";
import { dexReport, reconciliationCsv, salesCsv } from "./reports.js";
import type { SalesFilter } from "./store/fleet-store.js";

export interface FleetHttpOptions {
  service: FleetService;
  host?: string;
  /** 0 picks a free port. Default 8090. */
  port?: number;
  /** Folder with the built console (`console.js`); when missing, `/` says the console is not built. */
  consoleDir?: string;
  log?: Logger;
  now?: () => number;
}

const CONSOLE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>zapvend fleet</title>
<style>html,body{margin:0;background:#0f1115;color:#e6e6e6;font:14px system-ui,sans-serif}</style>
</head><body><zv-fleet-app></zv-fleet-app><script type="module" src="/console.js"></script></body></html>
`;

type Handler = (req: http.IncomingMessage, url: URL, params: string[]) => Promise<Reply>;
interface Reply {
  status: number;
  body: unknown;
  type?: string;
  filename?: string;
}

export class FleetHttpServer {
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly clients = new Set<WebSocket>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly routes: Array<{ method: string; re: RegExp; handler: Handler }> = [];
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly options: FleetHttpOptions) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.defineRoutes();
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error("not listening");
    return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    this.wss = new WebSocketServer({ server, path: "/ws", maxPayload: 4096 });
    this.wss.on("connection", (ws) => void this.onConnection(ws));
    const s = this.options.service;
    const on = <K extends "machine" | "sale" | "alert" | "command" | "desired" | "telemetry">(event: K, fn: (...a: never[]) => void) => {
      s.on(event, fn as never);
      this.unsubscribe.push(() => s.off(event, fn as never));
    };
    on("machine", (machine: never) => this.broadcast({ type: "machine", machine }));
    on("sale", (sale: never) => this.broadcast({ type: "sale", sale }));
    on("alert", (alert: never) => this.broadcast({ type: "alert", alert }));
    on("command", (command: never) => this.broadcast({ type: "command", command }));
    on("desired", (machineId: never, desired: never) => this.broadcast({ type: "desired", machineId, desired }));
    on("telemetry", (machineId: never, sample: never) => this.broadcast({ type: "telemetry", machineId, sample }));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 8090, this.options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
    await new Promise<void>((r) => (this.wss ? this.wss.close(() => r()) : r()));
    await new Promise<void>((r) => {
      if (!this.server) return r();
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
    this.server = undefined;
  }

  private async onConnection(ws: WebSocket): Promise<void> {
    this.clients.add(ws);
    ws.on("close", () => this.clients.delete(ws));
    ws.on("error", () => this.clients.delete(ws));
    // The console only listens; anything it sends is ignored.
    try {
      const s = this.options.service.store;
      const hello: FleetWsMessage = { type: "hello", machines: await s.listMachines(), alerts: await s.listAlerts() };
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(hello));
    } catch (err) {
      this.log("fleet:ws", `hello failed: ${(err as Error).message}`);
      ws.close(1011, "store unavailable");
    }
  }

  private broadcast(msg: FleetWsMessage): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(msg);
    for (const ws of this.clients) {
      // A console that cannot keep up is dropped rather than buffering without bound; it reconnects and gets a
      // fresh hello.
      if (ws.bufferedAmount > 8 * 1024 * 1024) ws.terminate();
      else if (ws.readyState === ws.OPEN) ws.send(text);
    }
  }

  private route(method: string, pattern: string, handler: Handler): void {
    const re = new RegExp(`^${pattern.replace(/:([a-z]+)/g, "([^/]+)")}$`);
    this.routes.push({ method, re, handler });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fleet.invalid");
    let reply: Reply;
    try {
      reply = await this.dispatch(req, url);
    } catch (err) {
      const e = err instanceof FleetError ? err : new FleetError(FleetErrorCode.INTERNAL, "internal error", 500);
      if (!(err instanceof FleetError)) this.log("fleet:http", `${req.method} ${url.pathname} failed: ${(err as Error).stack ?? String(err)}`);
      reply = { status: e.status, body: { error: { code: e.code, message: e.message } } };
    }
    const headers: Record<string, string> = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
    let data: string | Buffer;
    if (typeof reply.body === "string" || Buffer.isBuffer(reply.body)) {
      data = reply.body;
      headers["content-type"] = reply.type ?? "text/plain; charset=utf-8";
    } else {
      data = JSON.stringify(reply.body);
      headers["content-type"] = "application/json; charset=utf-8";
    }
    if (reply.filename) headers["content-disposition"] = `attachment; filename="${reply.filename}"`;
    res.writeHead(reply.status, headers);
    res.end(req.method === "HEAD" ? undefined : data);
  }

  private async dispatch(req: http.IncomingMessage, url: URL): Promise<Reply> {
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const params = m.slice(1).map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          throw new FleetError(FleetErrorCode.BAD_REQUEST, "bad escape in the path", 400);
        }
      });
      return r.handler(req, url, params);
    }
    if (pathMatched) throw new FleetError(FleetErrorCode.METHOD_NOT_ALLOWED, `${method} is not allowed on ${url.pathname}`, 405);
    throw new FleetError(FleetErrorCode.NOT_FOUND, `no route ${url.pathname}`, 404);
  }

  private defineRoutes(): void {
    const svc = this.options.service;
    const store = svc.store;

    this.route("GET", "/api/health", async () => ({ status: 200, body: { ok: true, boot: svc.boot, ingest: svc.stats, retention: svc.retentionStats } }));
    this.route("GET", "/api/machines", async () => ({ status: 200, body: await store.listMachines() }));
    this.route("GET", "/api/machines/:id", async (_req, _url, [id]) => {
      const machine = await store.getMachine(machineIdOf(id));
      if (!machine) throw new FleetError(FleetErrorCode.MACHINE_NOT_FOUND, `no machine ${id}`, 404);
      const detail: MachineDetail = {
        machine,
        slots: await store.slots(machine.id),
        telemetry: await store.latestTelemetry(machine.id),
        history: await store.telemetryHistory(machine.id),
        desired: await store.getDesired(machine.id),
        events: await store.recentEvents(machine.id),
        gaps: await store.gaps(machine.id),
        commands: await store.listCommands(machine.id),
        sales: await store.listSales({ machineId: machine.id, limit: 50 }),
      };
      return { status: 200, body: detail };
    });
    this.route("GET", "/api/machines/:id/commands", async (_req, _url, [id]) => ({ status: 200, body: await store.listCommands(machineIdOf(id)) }));
    this.route("POST", "/api/machines/:id/commands/:name", async (req, _url, [id, name]) => {
      const body = parseCommandRequest(await readBody(req));
      if (!body.ok) throw new FleetError(body.error.code, `${body.error.path}: ${body.error.message}`, 400);
      return { status: 202, body: await svc.sendCommand(machineIdOf(id), name!, body.value) };
    });
    this.route("GET", "/api/machines/:id/desired", async (_req, _url, [id]) => ({ status: 200, body: await store.getDesired(machineIdOf(id)) }));
    this.route("PUT", "/api/machines/:id/desired", async (req, _url, [id]) => {
      const body = parseDesiredStateEdit(await readBody(req));
      if (!body.ok) throw new FleetError(body.error.code, `${body.error.path}: ${body.error.message}`, 400);
      return { status: 202, body: await svc.editDesired(machineIdOf(id), body.value) };
    });

    this.route("GET", "/api/sales", async (_req, url) => ({ status: 200, body: await store.listSales(salesFilter(url, true)) }));
    this.route("GET", "/api/sales.csv", async (_req, url) => ({
      status: 200,
      body: salesCsv(await store.listSales({ ...salesFilter(url, true), limit: limitOf(url, 1_000_000) })),
      type: "text/csv; charset=utf-8",
      filename: "zapvend-sales.csv",
    }));

    this.route("GET", "/api/alerts", async (_req, url) => {
      const all = url.searchParams.get("all");
      const machine = url.searchParams.get("machine");
      return {
        status: 200,
        body: await store.listAlerts({ includeCleared: all === "1" || all === "true", ...(machine ? { machineId: machineIdOf(machine) } : {}) }),
      };
    });
    this.route("POST", "/api/alerts/:id/acknowledge", async (_req, _url, [id]) => ({ status: 200, body: await svc.acknowledgeAlert(id!) }));

    this.route("GET", "/api/reports/sales", async (_req, url) => {
      const group = url.searchParams.get("group") ?? "day";
      if (group !== "machine" && group !== "slot" && group !== "day") throw new FleetError("bad_value", "group must be machine, slot or day", 400);
      const f = salesFilter(url, false, ["group"]);
      return { status: 200, body: await store.salesReport(group, f) };
    });
    this.route("GET", "/api/reports/reconciliation", async (_req, url) => {
      const f = salesFilter(url, false, ["format"]);
      const entries = await store.reconciliation(f);
      if (url.searchParams.get("format") === "csv") return { status: 200, body: reconciliationCsv(entries), type: "text/csv; charset=utf-8", filename: "zapvend-reconciliation.csv" };
      return { status: 200, body: entries };
    });
    this.route("GET", "/api/reports/dex/:id", async (_req, _url, [id]) => {
      const machine = await store.getMachine(machineIdOf(id));
      if (!machine) throw new FleetError(FleetErrorCode.MACHINE_NOT_FOUND, `no machine ${id}`, 404);
      return { status: 200, body: dexReport(machine, await store.dexCounters(machine.id), this.now()), type: "text/plain; charset=us-ascii", filename: `${machine.id}.dex` };
    });

    this.route("GET", "/", async () => ({ status: 200, body: CONSOLE_HTML, type: "text/html; charset=utf-8" }));
    this.route("GET", "/console.js", async () => {
      const dir = this.options.consoleDir;
      if (!dir) throw new FleetError(FleetErrorCode.NOT_FOUND, "the console is not built (npm run build)", 404);
      try {
        return { status: 200, body: await readFile(path.join(dir, "console.js")), type: "text/javascript; charset=utf-8" };
      } catch {
        throw new FleetError(FleetErrorCode.NOT_FOUND, "the console is not built (npm run build)", 404);
      }
    });
  }
}

function machineIdOf(id: string | undefined): string {
  const r = MachineId.safeParse(id);
  if (!r.success) throw new FleetError("bad_value", "not a machine id", 400);
  return r.data;
}

function timeOf(s: string | undefined, name: string): number | undefined {
  if (s === undefined || s === "") return undefined;
  const ms = /^[0-9]{1,16}$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(ms)) throw new FleetError("bad_value", `${name} must be epoch ms or an ISO 8601 date`, 400);
  return ms;
}

function limitOf(url: URL, max: number): number {
  const l = url.searchParams.get("limit");
  return l === null ? max : Math.min(max, Number(l));
}

/** `machine`, `from`, `to`, `limit` through protocol's `parseSalesQuery` (which refuses unknown keys). */
function salesFilter(url: URL, withLimit: boolean, extraKeys: string[] = []): SalesFilter {
  const q: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!extraKeys.includes(k)) q[k] = v;
  const parsed = parseSalesQuery(q);
  if (!parsed.ok) throw new FleetError(parsed.error.code, `${parsed.error.path}: ${parsed.error.message}`, 400);
  const p = parsed.value;
  const f: SalesFilter = {};
  if (p.machine) f.machineId = p.machine;
  const from = timeOf(p.from, "from");
  const to = timeOf(p.to, "to");
  if (from !== undefined) f.fromMs = from;
  if (to !== undefined) f.toMs = to;
  if (withLimit) f.limit = Math.min(10_000, p.limit ? Number(p.limit) : 1000);
  return f;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_HTTP_BODY_BYTES) throw new FleetError("too_large", `the body is larger than ${MAX_HTTP_BODY_BYTES} bytes`, 413);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? "{}" : text;
}
