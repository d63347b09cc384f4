// The checks every fleet HTTP request and WebSocket upgrade goes through before a route sees it (issue #15):
// Host on an allow-list (DNS rebinding), and for POST/PUT/DELETE `content-type: application/json` (a form or a
// text/plain POST from another site is refused before it is read), an `Origin` on an allow-list, and for cookie
// sessions an `X-CSRF-Token` equal to the session's. The route's role is checked by the router (http-server.ts),
// which cannot register a route without one.
import { timingSafeEqual } from "node:crypto";
import type http from "node:http";
import { isIP } from "node:net";
import os from "node:os";
import type { FleetSecurity } from "@zapvend/protocol";
import { AuthErrorCode, type AuthService, type Principal } from "./auth/auth-service.js";
import { FleetError } from "./errors.js";

export const GuardErrorCode = {
  BAD_HOST: "bad_host",
  BAD_ORIGIN: "bad_origin",
  ORIGIN_REQUIRED: "origin_required",
  UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
  BAD_CSRF: "bad_csrf",
} as const;

export const SESSION_COOKIE = "zapvend_session";
export const MUTATING = new Set(["POST", "PUT", "DELETE", "PATCH"]);

const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"];
const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/** `[v6]` for IPv6 literals, lower case otherwise. */
function hostLiteral(h: string): string {
  const l = h.toLowerCase();
  return isIP(l) === 6 ? `[${l}]` : l;
}

/** The host part of a Host header or origin authority (`a.b:8090` -> `a.b`, `[::1]:8090` -> `[::1]`). */
function hostOnly(authority: string): string {
  const a = authority.toLowerCase();
  if (a.startsWith("[")) return a.slice(0, a.indexOf("]") + 1);
  const i = a.lastIndexOf(":");
  return i === -1 ? a : a.slice(0, i);
}

export interface GuardSettings {
  /** Host names (lower case, IPv6 in brackets) and `host:port` entries the fleet answers to. */
  hosts: Set<string>;
  /** Exact origins (`scheme://host[:port]`, lower case). */
  origins: Set<string>;
  trustedProxies: Set<string>;
  tls: boolean;
}

/**
 * The allow-lists of a listening fleet: the configured ones, else its own name(s): the bound host and loopback (and
 * with a wildcard bind, the machine's host name and every interface address) on the port it listens on.
 */
export function guardSettings(security: Pick<FleetSecurity, "allowedHosts" | "allowedOrigins" | "trustedProxies">, bound: { host: string; port: number; tls: boolean }): GuardSettings {
  let hosts: string[];
  if (security.allowedHosts) hosts = security.allowedHosts.map((h) => h.toLowerCase());
  else {
    hosts = [...LOOPBACK_HOSTS];
    if (WILDCARDS.has(bound.host)) {
      hosts.push(os.hostname().toLowerCase());
      for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) hosts.push(hostLiteral(i.address.replace(/%.*$/, "")));
    } else hosts.push(hostLiteral(bound.host));
  }
  const scheme = bound.tls ? "https" : "http";
  const defaultPort = bound.tls ? 443 : 80;
  const origins = security.allowedOrigins
    ? security.allowedOrigins.map((o) => o.toLowerCase())
    : hosts.filter((h) => !h.includes(":") || h.startsWith("[")).map((h) => `${scheme}://${h}${bound.port === defaultPort ? "" : `:${bound.port}`}`);
  return { hosts: new Set(hosts), origins: new Set(origins), trustedProxies: new Set(security.trustedProxies.map((p) => p.replace(/^::ffff:/, ""))), tls: bound.tls };
}

export function hostAllowed(g: GuardSettings, hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const h = hostHeader.toLowerCase();
  return g.hosts.has(h) || g.hosts.has(hostOnly(h));
}

export function checkHost(g: GuardSettings, req: http.IncomingMessage): void {
  // 421 Misdirected Request: this server is not the one that name should reach (a rebinding attack's page).
  if (!hostAllowed(g, req.headers.host)) throw new FleetError(GuardErrorCode.BAD_HOST, `host ${JSON.stringify(req.headers.host ?? "")} is not one this fleet answers to`, 421);
}

/**
 * The client's address: the socket's peer, or, when that peer is a trusted proxy, the last address in
 * `X-Forwarded-For` that is not itself a trusted proxy (the first ones are whatever the client wrote).
 */
export function clientAddress(g: GuardSettings, req: http.IncomingMessage): string {
  const peer = (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  if (!g.trustedProxies.has(peer)) return peer;
  const xff = req.headers["x-forwarded-for"];
  const list = (Array.isArray(xff) ? xff.join(",") : (xff ?? "")).split(",").map((s) => s.trim()).filter(Boolean);
  for (let i = list.length - 1; i >= 0; i--) if (!g.trustedProxies.has(list[i]!)) return list[i]!;
  return peer;
}

/** Whether the client reached us over TLS (ours, or a trusted proxy's `X-Forwarded-Proto: https`). */
export function viaTls(g: GuardSettings, req: http.IncomingMessage): boolean {
  if (g.tls) return true;
  const peer = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
  return g.trustedProxies.has(peer) && String(req.headers["x-forwarded-proto"] ?? "").split(",")[0]!.trim() === "https";
}

export function checkContentType(req: http.IncomingMessage): void {
  const ct = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (ct !== "application/json") {
    throw new FleetError(GuardErrorCode.UNSUPPORTED_MEDIA_TYPE, `${req.method} needs content-type: application/json (got ${JSON.stringify(ct || "none")})`, 415);
  }
}

/** `Origin`, when sent, must be on the list; a cookie session must send one (a browser always does on a POST). */
export function checkOrigin(g: GuardSettings, req: http.IncomingMessage, required: boolean): void {
  const origin = req.headers.origin;
  if (origin === undefined) {
    if (required) throw new FleetError(GuardErrorCode.ORIGIN_REQUIRED, "a request with a session cookie must carry an Origin header", 403);
    return;
  }
  if (!g.origins.has(origin.toLowerCase())) throw new FleetError(GuardErrorCode.BAD_ORIGIN, `origin ${JSON.stringify(origin)} is not allowed`, 403);
}

export function checkCsrf(p: Principal, req: http.IncomingMessage): void {
  if (p.kind !== "session") return;
  const sent = req.headers["x-csrf-token"];
  const want = Buffer.from(p.csrfToken ?? "");
  const got = Buffer.from(typeof sent === "string" ? sent : "");
  if (got.length !== want.length || want.length === 0 || !timingSafeEqual(got, want)) {
    throw new FleetError(GuardErrorCode.BAD_CSRF, "missing or wrong X-CSRF-Token (GET /api/session gives it)", 403);
  }
}

export function cookieValue(req: http.IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i !== -1 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * Who the request acts as: a bearer token wins over a cookie. Null without either; a bad token or an expired
 * session is an error (401) rather than anonymous, so a script sees why.
 */
export async function resolvePrincipal(auth: AuthService, req: http.IncomingMessage): Promise<Principal | null> {
  const authz = req.headers.authorization;
  if (authz !== undefined) {
    const m = /^Bearer\s+([A-Za-z0-9_.~+/=-]{16,200})$/i.exec(authz.trim());
    const p = m ? await auth.tokenPrincipal(m[1]!) : null;
    if (!p) throw new FleetError(AuthErrorCode.BAD_TOKEN, "the bearer token is unknown, revoked or malformed", 401);
    return p;
  }
  const sid = cookieValue(req, SESSION_COOKIE);
  if (sid === undefined || sid === "") return null;
  const r = await auth.sessionPrincipal(sid);
  if ("error" in r) throw new FleetError(r.error, "the session has expired or was ended; log in again", 401);
  return r;
}

export function sessionCookie(value: string, opts: { secure: boolean; maxAgeS: number }): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${opts.maxAgeS}${opts.secure ? "; Secure" : ""}`;
}
