// The fleet's HTTP API (DESIGN.md "Fleet HTTP API" plus the console's routes), the live WebSocket and the
// console's static files. Every request passes the guard (http-guard.ts: Host, and for POST/PUT/DELETE JSON,
// Origin and the CSRF token of a cookie session) and its route's role; every body and query is validated with
// protocol's parsers at this edge; every error is answered as `{error: {code, message}}`. Operator actions are
// written to the audit trail. The operator key never leaves FleetService.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import {
  DEFAULT_FLEET_SECURITY,
  MAX_HTTP_BODY_BYTES,
  MachineId,
  parseCommandRequest,
  parseDesiredStateEdit,
  roleAtLeast,
  type DesiredView,
  type FleetSecurity,
  type FleetWsMessage,
  type MachineDetail,
} from "@zapvend/protocol";
import { AuthErrorCode, AuthService, type Principal } from "./auth/auth-service.js";
import { AuthStore } from "./auth/auth-store.js";
import { silentLogger, type Logger } from "./clock.js";
import { consoleFile, consoleHtml } from "./console-files.js";
import { FleetError, FleetErrorCode } from "./errors.js";
import type { FleetService } from "./fleet-service.js";
import { by, defineAuthRoutes } from "./http-auth-routes.js";
import {
  GuardErrorCode,
  MUTATING,
  checkContentType,
  checkCsrf,
  checkHost,
  checkOrigin,
  clientAddress,
  guardSettings,
  hostAllowed,
  resolvePrincipal,
  viaTls,
  type GuardSettings,
} from "./http-guard.js";
import { Router, type Reply, type RouteInfo } from "./http-routes.js";
import { DeliveryLog } from "./notify/delivery-log.js";
import type { Notifier } from "./notify/notifier.js";
import { defineNotifyRoutes } from "./notify/notify-routes.js";
import { NotifySettingsStore } from "./notify/settings.js";
import { CatalogService } from "./catalog/catalog-service.js";
import { defineCatalogRoutes } from "./catalog/catalog-routes.js";
import { defineOverviewRoutes } from "./overview.js";
import { definePicklistRoutes } from "./picklist/picklist-routes.js";
import { dexReport, reconciliationCsv, salesCsv } from "./reports.js";
import { limitOf, requestZone, salesFilter } from "./sales-query.js";
import { OverviewStore } from "./store/overview-store.js";

export interface FleetHttpOptions {
  service: FleetService;
  host?: string;
  /** 0 picks a free port. Default 8090. */
  port?: number;
  /** Folder with the built console (`console.js`); when missing, `/` says the console is not built. */
  consoleDir?: string;
  log?: Logger;
  now?: () => number;
  /** Origins, hosts, proxies, TLS, sessions and login limits. Default: protocol's `DEFAULT_FLEET_SECURITY`. */
  security?: FleetSecurity;
  /** Accounts and sessions; default: over the service's database. */
  auth?: AuthService;
  /** Alert notifications (their settings page); absent: those routes answer 503 `notifications_unavailable`. */
  notifier?: Notifier;
  /** The live relay between fleet servers, reported by `GET /api/health` as `live` (several servers only). */
  liveStats?: () => { connected: boolean; published: number; received: number; refused: number };
  /** The catalog (issue #18); default: over the service's database. */
  catalog?: CatalogService;
  /**
   * The operator's IANA time zone (periods.ts `operatorTimeZone`): the days and hours of the overview, the days of
   * `GET /api/reports/sales?group=day`, and the days a date-only `from=`/`to=` of the sales routes names (unless the
   * request gives `tz=`; src/sales-query.ts). Default UTC.
   */
  timeZone?: string;
  /** The zone of a machine's wall clock, for the DEX file's read-out date and time (periods.ts `machineTimeZone`). Default `timeZone`. */
  machineTimeZone?: (machineId: string) => string;
  /**
   * How often the open WebSockets' sessions and tokens are checked again, in ms (default 30 000): a session that
   * expires (idle or absolute), or is ended by another fleet server on the same database, closes its console's socket
   * with 4401 within this time, so the console goes back to its login page instead of showing a frozen fleet.
   */
  liveCheckMs?: number;
}

/** Commands a technician may send; every other one needs an operator. */
const TECHNICIAN_COMMANDS = ["test-vend", "restock"] as const;

interface LiveSocket {
  kind: "session" | "token";
  name: string;
  sessionIdHash: string | null;
  tokenId: string | null;
}

export class FleetHttpServer {
  readonly auth: AuthService;
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly clients = new Map<WebSocket, LiveSocket>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly router = new Router();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly security: FleetSecurity;
  private guard: GuardSettings | undefined;
  private liveTimer: ReturnType<typeof setInterval> | undefined;
  private checkingLive: Promise<void> | null = null;

  constructor(private readonly options: FleetHttpOptions) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.security = options.security ?? DEFAULT_FLEET_SECURITY;
    this.auth = options.auth ?? new AuthService({ store: new AuthStore(options.service.store.db), security: this.security, now: this.now });
    this.defineRoutes();
    defineOverviewRoutes(this.router, { store: new OverviewStore(options.service.store.db), timeZone: options.timeZone ?? "UTC", now: this.now });
    defineAuthRoutes(
      this.router,
      this.auth,
      { closeSockets: (match) => this.closeSockets(match), readBody: (req) => readBody(req), timeZone: options.timeZone ?? "UTC" },
      this.security.sessionMaxMs,
    );
    defineCatalogRoutes(this.router, options.catalog ?? new CatalogService({ service: options.service, clock: { now: this.now }, log: this.log }), this.auth);
  }

  /** Every route with the role it needs (`public`: the login and the console's files). */
  routes(): RouteInfo[] {
    return this.router.routes();
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error("not listening");
    return `${this.security.tls ? "https" : "http"}://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** The Host / Origin allow-lists in force (known once listening). */
  get guardSettings(): GuardSettings {
    if (!this.guard) throw new Error("not listening");
    return this.guard;
  }

  async start(): Promise<void> {
    const tls = this.security.tls;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    const server = tls
      ? https.createServer({ cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath), minVersion: "TLSv1.2" }, handler)
      : http.createServer(handler);
    this.server = server;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
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
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 8090, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.guard = guardSettings(this.security, { host, port: (server.address() as AddressInfo).port, tls: tls !== undefined });
    this.liveTimer = setInterval(() => void this.checkLiveSockets(), this.options.liveCheckMs ?? 30_000);
    this.liveTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.liveTimer);
    await this.checkingLive;
    for (const u of this.unsubscribe.splice(0)) u();
    for (const ws of this.clients.keys()) ws.terminate();
    this.clients.clear();
    await new Promise<void>((r) => (this.wss ? this.wss.close(() => r()) : r()));
    await new Promise<void>((r) => {
      if (!this.server) return r();
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
    this.server = undefined;
  }

  /** A WebSocket needs an allowed Host, an allowed Origin (a browser always sends one) and a session or token. */
  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const refuse = (status: number, code: string, message: string) => {
      const body = JSON.stringify({ error: { code, message } });
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ""}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    const g = this.guard;
    try {
      const url = new URL(req.url ?? "/", "http://fleet.invalid");
      if (!g || !this.wss) return refuse(503, "starting", "the fleet is starting");
      if (url.pathname !== "/ws") return refuse(404, FleetErrorCode.NOT_FOUND, `no WebSocket at ${url.pathname}`);
      if (!hostAllowed(g, req.headers.host)) return refuse(421, GuardErrorCode.BAD_HOST, "host not allowed");
      const principal = await resolvePrincipal(this.auth, req);
      if (!principal) return refuse(401, AuthErrorCode.UNAUTHENTICATED, "log in first");
      // A token-authenticated script may omit Origin; a cookie (what a browser on another site would replay) may not.
      checkOrigin(g, req, principal.kind === "session");
      const wss = this.wss;
      wss.handleUpgrade(req, socket, head, (ws) => void this.onConnection(ws, principal));
    } catch (err) {
      const e = err instanceof FleetError ? err : new FleetError(FleetErrorCode.INTERNAL, "internal error", 500);
      if (!(err instanceof FleetError)) this.log("fleet:ws", `upgrade failed: ${(err as Error).stack ?? String(err)}`);
      refuse(e.status, e.code, e.message);
    }
  }

  private closeSockets(match: (s: LiveSocket) => boolean): void {
    for (const [ws, who] of this.clients) {
      if (match(who)) {
        ws.close(4401, "session ended");
        this.clients.delete(ws);
      }
    }
  }

  /** Closes (4401) the sockets whose session or token no longer holds (see `liveCheckMs`). One run at a time. */
  checkLiveSockets(): Promise<void> {
    if (this.checkingLive) return this.checkingLive;
    const run = async () => {
      for (const [ws, who] of [...this.clients]) {
        let valid: boolean;
        try {
          valid = await this.auth.stillValid(who);
        } catch (err) {
          // The store is unavailable: keep the socket (it only pushes what the store already gave it) and retry.
          this.log("fleet:ws", `session check failed: ${(err as Error).message}`);
          return;
        }
        if (!valid && this.clients.delete(ws)) ws.close(4401, "session ended");
      }
    };
    // Cleared after it is set (a run without sockets finishes before the assignment).
    const p = run().finally(() => {
      if (this.checkingLive === p) this.checkingLive = null;
    });
    this.checkingLive = p;
    return p;
  }

  private async onConnection(ws: WebSocket, p: Principal): Promise<void> {
    this.clients.set(ws, { kind: p.kind, name: p.name, sessionIdHash: p.sessionIdHash, tokenId: p.tokenId ?? null });
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

  /** Live consoles connected to this server. */
  get liveClients(): number {
    return this.clients.size;
  }

  /** Sends a live message to every console connected here (the local service's, or another server's via the relay). */
  broadcast(msg: FleetWsMessage): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(msg);
    for (const ws of this.clients.keys()) {
      // A console that cannot keep up is dropped rather than buffering without bound; it reconnects and gets a
      // fresh hello.
      if (ws.bufferedAmount > 8 * 1024 * 1024) ws.terminate();
      else if (ws.readyState === ws.OPEN) ws.send(text);
    }
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
      if (e.status === 429 && typeof e.context?.retryAfterS === "number") reply.headers = { "retry-after": String(e.context.retryAfterS) };
    }
    const headers: Record<string, string> = {
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "same-origin",
      ...reply.headers,
    };
    if (this.security.tls) headers["strict-transport-security"] = "max-age=31536000";
    let data: string | Buffer;
    if (typeof reply.body === "string" || Buffer.isBuffer(reply.body)) {
      data = reply.body;
      headers["content-type"] = reply.type ?? "text/plain; charset=utf-8";
    } else {
      data = JSON.stringify(reply.body);
      headers["content-type"] = "application/json; charset=utf-8";
    }
    if (reply.type?.startsWith("text/html")) headers["content-security-policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";
    if (reply.filename) headers["content-disposition"] = `attachment; filename="${reply.filename}"`;
    res.writeHead(reply.status, headers);
    res.end(req.method === "HEAD" ? undefined : data);
  }

  /**
   * Host, route, then for POST/PUT/DELETE the JSON content type and the Origin, then who is asking and whether
   * their role may use the route, then the CSRF token of a cookie session. Each refusal has its own code.
   */
  private async dispatch(req: http.IncomingMessage, url: URL): Promise<Reply> {
    const g = this.guard;
    if (!g) throw new FleetError("starting", "the fleet is starting", 503);
    checkHost(g, req);
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    const { route, params } = this.router.match(method, url.pathname);
    const mutating = MUTATING.has(method);
    if (mutating) {
      checkContentType(req);
      checkOrigin(g, req, false);
    }
    const address = clientAddress(g, req);
    const secure = viaTls(g, req);
    let principal: Principal | null = null;
    if (route.access !== "public") {
      principal = await resolvePrincipal(this.auth, req);
      if (!principal) throw new FleetError(AuthErrorCode.UNAUTHENTICATED, "log in first (POST /api/login) or send Authorization: Bearer <token>", 401);
      if (mutating) {
        checkOrigin(g, req, principal.kind === "session");
        checkCsrf(principal, req);
      }
      if (!roleAtLeast(principal.role, route.access)) {
        throw new FleetError(AuthErrorCode.FORBIDDEN, `${method} ${route.pattern} needs the ${route.access} role (${principal.name} is ${principal.role})`, 403);
      }
    }
    return route.handler({ req, url, params, principal, address, secure });
  }

  private route(...a: Parameters<Router["route"]>): void {
    this.router.route(...a);
  }

  private defineRoutes(): void {
    const svc = this.options.service;
    const store = svc.store;

    this.route("GET", "/api/health", "viewer", async () => ({
      status: 200,
      body: { ok: true, boot: svc.boot, ingest: svc.stats, retention: svc.retentionStats, ...(this.options.liveStats ? { live: this.options.liveStats() } : {}) },
    }));
    this.route("GET", "/api/machines", "viewer", async () => ({ status: 200, body: await store.listMachines() }));
    this.route("GET", "/api/machines/:id", "viewer", async ({ params: [id] }) => {
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
    this.route("GET", "/api/machines/:id/commands", "viewer", async ({ params: [id] }) => ({ status: 200, body: await store.listCommands(machineIdOf(id)) }));
    // A technician's commands first (the router takes the first match), then every command for an operator.
    const command = (access: "technician" | "operator", fixed?: string) =>
      this.route("POST", `/api/machines/:id/commands/${fixed ?? ":name"}`, access, async (ctx) => {
        const id = machineIdOf(ctx.params[0]);
        const name = fixed ?? ctx.params[1]!;
        const body = parseCommandRequest(await readBody(ctx.req));
        if (!body.ok) throw new FleetError(body.error.code, `${body.error.path}: ${body.error.message}`, 400);
        try {
          const accepted = await svc.sendCommand(id, name, body.value);
          await this.auth.audit({ ...by(ctx), action: "command", target: id, detail: { name, args: body.value.args ?? {}, rid: accepted.rid } });
          return { status: 202, body: accepted };
        } catch (err) {
          const code = err instanceof FleetError ? err.code : FleetErrorCode.INTERNAL;
          await this.auth.audit({ ...by(ctx), action: "command", target: id, ok: false, detail: { name, args: body.value.args ?? {}, error: code } });
          throw err;
        }
      });
    for (const c of TECHNICIAN_COMMANDS) command("technician", c);
    command("operator");
    this.route("GET", "/api/machines/:id/desired", "viewer", async ({ params: [id] }) => ({ status: 200, body: await store.getDesired(machineIdOf(id)) }));
    this.route("PUT", "/api/machines/:id/desired", "operator", async (ctx) => {
      const id = machineIdOf(ctx.params[0]);
      const body = parseDesiredStateEdit(await readBody(ctx.req));
      if (!body.ok) throw new FleetError(body.error.code, `${body.error.path}: ${body.error.message}`, 400);
      const before = await store.getDesired(id);
      const after = await svc.editDesired(id, body.value);
      // The history of a machine's desired state: every edit with what it changed, who and when.
      await this.auth.audit({ ...by(ctx), action: "desired.edit", target: id, detail: { version: after.version, edit: body.value, diff: desiredDiff(before, after) } });
      return { status: 202, body: after };
    });
    this.route("GET", "/api/machines/:id/desired/history", "viewer", async (ctx) => {
      const id = machineIdOf(ctx.params[0]);
      return { status: 200, body: await this.auth.listAudit({ action: "desired.edit", target: id, limit: 200 }) };
    });

    // A date-only `from=`/`to=` is a local day of `tz=` or the operator's zone (src/sales-query.ts).
    const zone = this.options.timeZone ?? "UTC";
    this.route("GET", "/api/sales", "viewer", async ({ url }) => ({ status: 200, body: await store.listSales(salesFilter(url, { withLimit: true, timeZone: zone })) }));
    this.route("GET", "/api/sales.csv", "viewer", async ({ url }) => ({
      status: 200,
      body: salesCsv(await store.listSales({ ...salesFilter(url, { withLimit: true, timeZone: zone }), limit: limitOf(url, 1_000_000) })),
      type: "text/csv; charset=utf-8",
      filename: "zapvend-sales.csv",
    }));

    this.route("GET", "/api/alerts", "viewer", async ({ url }) => {
      const all = url.searchParams.get("all");
      const machine = url.searchParams.get("machine");
      return {
        status: 200,
        body: await store.listAlerts({ includeCleared: all === "1" || all === "true", ...(machine ? { machineId: machineIdOf(machine) } : {}) }),
      };
    });
    this.route("POST", "/api/alerts/:id/acknowledge", "technician", async (ctx) => {
      const id = ctx.params[0]!;
      const alert = await svc.acknowledgeAlert(id);
      await this.auth.audit({ ...by(ctx), action: "alert.acknowledge", target: id, detail: { machineId: alert.machineId, kind: alert.kind } });
      return { status: 200, body: alert };
    });

    // Issue #18: every attempt to deliver an alert message. Operator: it names the channels and their errors.
    const deliveries = new DeliveryLog(store.db);
    this.route("GET", "/api/notifications/deliveries", "operator", async ({ url }) => {
      for (const k of url.searchParams.keys()) {
        if (k !== "alert" && k !== "channel" && k !== "limit") throw new FleetError("unknown_key", `unknown query key "${k}" (alert, channel, limit)`, 400);
      }
      const alert = url.searchParams.get("alert");
      const channel = url.searchParams.get("channel");
      const limit = url.searchParams.get("limit");
      if (alert !== null && !/^[A-Za-z0-9-]{1,64}$/.test(alert)) throw new FleetError("bad_value", "alert must be an alert id", 400);
      if (channel !== null && !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(channel)) throw new FleetError("bad_value", "channel must be a channel name", 400);
      if (limit !== null && !/^[0-9]{1,4}$/.test(limit)) throw new FleetError("bad_value", "limit must be 1..1000", 400);
      return {
        status: 200,
        body: await deliveries.list({ ...(alert !== null ? { alertId: alert } : {}), ...(channel !== null ? { channel } : {}), ...(limit !== null ? { limit: Number(limit) } : {}) }),
      };
    });

    // Up to 100 routes and their channels: more than the 16 KiB of other bodies.
    defineNotifyRoutes(this.router, { notifier: this.options.notifier, settings: new NotifySettingsStore(store.db), auth: this.auth, readBody: (req) => readBody(req, 64 * 1024), now: this.now });
    // Issue #18: par levels, the pick list, issued pick lists and their shrinkage (src/picklist/).
    definePicklistRoutes(this.router, { db: store.db, audit: (e) => this.auth.audit(e), readBody, now: this.now });

    this.route("GET", "/api/reports/sales", "viewer", async ({ url }) => {
      const group = url.searchParams.get("group") ?? "day";
      if (group !== "machine" && group !== "slot" && group !== "day") throw new FleetError("bad_value", "group must be machine, slot or day", 400);
      const f = salesFilter(url, { withLimit: false, timeZone: zone, extraKeys: ["group"] });
      // Days are the operator's local days unless the query names another IANA zone (`tz=UTC` for UTC days).
      return { status: 200, body: await store.salesReport(group, f, { timeZone: requestZone(url, zone) }) };
    });
    this.route("GET", "/api/reports/reconciliation", "viewer", async ({ url }) => {
      const f = salesFilter(url, { withLimit: false, timeZone: zone, extraKeys: ["format"] });
      const entries = await store.reconciliation(f);
      if (url.searchParams.get("format") === "csv") return { status: 200, body: reconciliationCsv(entries), type: "text/csv; charset=utf-8", filename: "zapvend-reconciliation.csv" };
      return { status: 200, body: entries };
    });
    this.route("GET", "/api/reports/dex/:id", "viewer", async ({ params: [id] }) => {
      const machine = await store.getMachine(machineIdOf(id));
      if (!machine) throw new FleetError(FleetErrorCode.MACHINE_NOT_FOUND, `no machine ${id}`, 404);
      return { status: 200, body: dexReport(machine, await store.dexCounters(machine.id), this.now(), this.options.machineTimeZone?.(machine.id) ?? this.options.timeZone ?? "UTC"), type: "text/plain; charset=us-ascii", filename: `${machine.id}.dex` };
    });

    this.route("GET", "/", "public", async () => ({ status: 200, body: await consoleHtml(this.options.consoleDir), type: "text/html; charset=utf-8" }));
    this.route("GET", "/console.js", "public", async () => {
      const f = await consoleFile(this.options.consoleDir, "console.js");
      return { status: 200, body: f.body, type: "text/javascript; charset=utf-8" };
    });
    // Chunks split off by the console build (lazy pages, shared code): content-hashed names, cached for good.
    this.route("GET", "/chunks/:file", "public", async ({ params: [file] }) => {
      const f = await consoleFile(this.options.consoleDir, file ?? "");
      return { status: 200, body: f.body, type: "text/javascript; charset=utf-8", headers: { "cache-control": "public, max-age=31536000, immutable" } };
    });
  }
}

/** What an edit changed: per slot and field, and the mode, `{before, after}`. */
export function desiredDiff(before: DesiredView | null, after: DesiredView): Record<string, unknown> {
  const diff: Record<string, unknown> = {};
  const slots: Record<string, Record<string, { before: unknown; after: unknown }>> = {};
  for (const slot of new Set([...Object.keys(before?.slots ?? {}), ...Object.keys(after.slots)])) {
    const b = (before?.slots[slot] ?? {}) as Record<string, unknown>;
    const a = (after.slots[slot] ?? {}) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if (JSON.stringify(b[k]) !== JSON.stringify(a[k])) (slots[slot] ??= {})[k] = { before: b[k] ?? null, after: a[k] ?? null };
    }
  }
  if (Object.keys(slots).length) diff.slots = slots;
  if ((before?.mode ?? null) !== after.mode) diff.mode = { before: before?.mode ?? null, after: after.mode };
  // The catalog's products (issue #18), per product that changed.
  const products: Record<string, { before: unknown; after: unknown }> = {};
  for (const id of new Set([...Object.keys(before?.products ?? {}), ...Object.keys(after.products ?? {})])) {
    const b = before?.products?.[id] ?? null;
    const a = after.products?.[id] ?? null;
    if (JSON.stringify(b) !== JSON.stringify(a)) products[id] = { before: b, after: a };
  }
  if (Object.keys(products).length) diff.products = products;
  return diff;
}

function machineIdOf(id: string | undefined): string {
  const r = MachineId.safeParse(id);
  if (!r.success) throw new FleetError("bad_value", "not a machine id", 400);
  return r.data;
}

async function readBody(req: http.IncomingMessage, maxBytes = MAX_HTTP_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new FleetError("too_large", `the body is larger than ${maxBytes} bytes`, 413);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? "{}" : text;
}
