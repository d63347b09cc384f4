// The fleet's account routes (issue #15): login, logout, session, TOTP, and the admin's users, tokens and audit.
// Registered through the same router as every other route, so each declares its role (see http-server.ts).
import type http from "node:http";
import {
  AccountName,
  TokenCreate,
  TotpConfirm,
  UserCreate,
  UserUpdate,
  parseJson,
  parseLoginRequest,
  type AuditEntry,
  type FleetRole,
} from "@zapvend/protocol";
import type { z } from "zod";
import { actorOf, type AuthService } from "./auth/auth-service.js";
import type { AuditFilter } from "./auth/auth-store.js";
import { FleetError } from "./errors.js";
import { boundOf, requestZone } from "./sales-query.js";
import { sessionCookie } from "./http-guard.js";
import type { RouteContext, RouteRegistrar } from "./http-routes.js";
import { csvField } from "./reports.js";

export function by(ctx: RouteContext): { actor: string; address: string } {
  return { actor: actorOf(ctx.principal), address: ctx.address };
}

function parseBody<S extends z.ZodType>(schema: S, text: string): z.output<S> {
  const r = parseJson(schema, text, { maxBytes: 16 * 1024 });
  if (!r.ok) throw new FleetError(r.error.code, `${r.error.path}: ${r.error.message}`, 400);
  return r.value;
}

function nameOf(s: string | undefined): string {
  const r = AccountName.safeParse(s);
  if (!r.success) throw new FleetError("bad_value", "not a user or token name", 400);
  return r.data;
}

function auditFilter(url: URL, timeZone: string): AuditFilter {
  const f: AuditFilter = {};
  const known = new Set(["actor", "action", "target", "from", "to", "tz", "before", "limit", "format"]);
  for (const k of url.searchParams.keys()) if (!known.has(k)) throw new FleetError("unknown_key", `unknown parameter ${k} (known: ${[...known].join(", ")})`, 400);
  const q = (k: string) => url.searchParams.get(k) ?? undefined;
  // As the sales routes read them: a date is a whole local day of `tz=` or the operator's zone (sales-query.ts).
  const zone = requestZone(url, timeZone);
  const time = (k: "from" | "to") => {
    const s = q(k);
    if (s === undefined || s === "") return undefined;
    return boundOf(s, k, zone);
  };
  if (q("actor")) f.actor = q("actor")!;
  if (q("action")) f.action = q("action")!;
  if (q("target")) f.target = q("target")!;
  const from = time("from");
  const to = time("to");
  if (from !== undefined) f.fromMs = from;
  if (to !== undefined) f.toMs = to;
  if (q("before")) f.beforeSeq = Number(q("before"));
  const limit = Number(q("limit") ?? (q("format") === "csv" ? 100_000 : 500));
  if (!Number.isInteger(limit) || limit < 1) throw new FleetError("bad_value", "limit must be a positive integer", 400);
  f.limit = limit;
  return f;
}

export function auditCsv(rows: readonly AuditEntry[]): string {
  const header = ["at", "actor", "address", "action", "target", "ok", "detail"];
  const lines = rows.map((r) => [new Date(r.at).toISOString(), r.actor, r.address, r.action, r.target, r.ok, JSON.stringify(r.detail)].map(csvField).join(","));
  return [header.join(","), ...lines].join("\r\n") + "\r\n";
}

export interface AuthRouteHooks {
  /** Closes the live WebSockets of ended sessions (logout, revoke, password change, removal) or of revoked tokens. */
  closeSockets(match: (p: { kind: "session" | "token"; name: string; sessionIdHash: string | null }) => boolean): void;
  readBody(req: http.IncomingMessage): Promise<string>;
  /** The operator's zone: the day a date-only `from=`/`to=` of the audit log names. */
  timeZone: string;
}

export function defineAuthRoutes(r: RouteRegistrar, auth: AuthService, hooks: AuthRouteHooks, sessionMaxMs: number): void {
  r.route("POST", "/api/login", "public", async (ctx) => {
    const parsed = parseLoginRequest(await hooks.readBody(ctx.req));
    if (!parsed.ok) throw new FleetError(parsed.error.code, `${parsed.error.path}: ${parsed.error.message}`, 400);
    const { sessionId, info } = await auth.login(parsed.value, ctx.address);
    return { status: 200, body: info, headers: { "set-cookie": sessionCookie(sessionId, { secure: ctx.secure, maxAgeS: Math.floor(sessionMaxMs / 1000) }) } };
  });
  r.route("POST", "/api/logout", "viewer", async (ctx) => {
    const p = ctx.principal!;
    await auth.logout(p, ctx.address);
    if (p.sessionIdHash) hooks.closeSockets((s) => s.sessionIdHash === p.sessionIdHash);
    return { status: 200, body: { ok: true }, headers: { "set-cookie": sessionCookie("", { secure: ctx.secure, maxAgeS: 0 }) } };
  });
  r.route("GET", "/api/session", "viewer", async (ctx) => ({ status: 200, body: auth.sessionInfo(ctx.principal!) }));

  // A user's own second factor (cookie sessions only: a token has no password to protect).
  r.route("POST", "/api/totp/enroll", "viewer", async (ctx) => {
    if (ctx.principal!.kind !== "session") throw new FleetError("session_required", "enroll a second factor from a logged-in console session", 403);
    return { status: 200, body: await auth.enrollTotp(ctx.principal!.name, by(ctx)) };
  });
  r.route("POST", "/api/totp/confirm", "viewer", async (ctx) => {
    if (ctx.principal!.kind !== "session") throw new FleetError("session_required", "confirm a second factor from a logged-in console session", 403);
    const body = parseBody(TotpConfirm, await hooks.readBody(ctx.req));
    await auth.confirmTotp(ctx.principal!.name, body.code, by(ctx));
    return { status: 200, body: { ok: true } };
  });

  // ---------------------------------------------------------------- admin
  r.route("GET", "/api/users", "admin", async () => ({ status: 200, body: await auth.listUsers() }));
  r.route("POST", "/api/users", "admin", async (ctx) => {
    const body = parseBody(UserCreate, await hooks.readBody(ctx.req));
    return { status: 201, body: await auth.addUser(body.name, body.role as FleetRole, body.password, by(ctx)) };
  });
  r.route("PUT", "/api/users/:name", "admin", async (ctx) => {
    const name = nameOf(ctx.params[0]);
    const body = parseBody(UserUpdate, await hooks.readBody(ctx.req));
    const user = await auth.updateUser(name, body, by(ctx));
    if (body.password !== undefined) hooks.closeSockets((s) => s.kind === "session" && s.name === name);
    return { status: 200, body: user };
  });
  r.route("DELETE", "/api/users/:name", "admin", async (ctx) => {
    const name = nameOf(ctx.params[0]);
    await auth.removeUser(name, by(ctx));
    hooks.closeSockets((s) => s.kind === "session" && s.name === name);
    return { status: 200, body: { ok: true } };
  });
  r.route("POST", "/api/users/:name/revoke-sessions", "admin", async (ctx) => {
    const name = nameOf(ctx.params[0]);
    const n = await auth.revokeSessions(name, by(ctx));
    hooks.closeSockets((s) => s.kind === "session" && s.name === name);
    return { status: 200, body: { revoked: n } };
  });
  r.route("DELETE", "/api/users/:name/totp", "admin", async (ctx) => {
    await auth.disableTotp(nameOf(ctx.params[0]), by(ctx));
    return { status: 200, body: { ok: true } };
  });

  r.route("GET", "/api/tokens", "admin", async () => ({ status: 200, body: await auth.listTokens() }));
  r.route("POST", "/api/tokens", "admin", async (ctx) => {
    const body = parseBody(TokenCreate, await hooks.readBody(ctx.req));
    return { status: 201, body: await auth.createToken(body.name, body.role as FleetRole, by(ctx)) };
  });
  r.route("DELETE", "/api/tokens/:id", "admin", async (ctx) => {
    const id = ctx.params[0]!;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new FleetError("bad_value", "not a token id or name", 400);
    const revoked = await auth.revokeToken(id, by(ctx));
    const names = new Set(revoked.map((t) => t.name));
    hooks.closeSockets((s) => s.kind === "token" && names.has(s.name));
    return { status: 200, body: revoked };
  });

  r.route("GET", "/api/audit", "admin", async (ctx) => {
    const f = auditFilter(ctx.url, hooks.timeZone);
    const rows = await auth.listAudit(f);
    if (ctx.url.searchParams.get("format") === "csv") return { status: 200, body: auditCsv(rows), type: "text/csv; charset=utf-8", filename: "zapvend-audit.csv" };
    return { status: 200, body: rows };
  });
}

