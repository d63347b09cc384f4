// The fleet's router. A route cannot be registered without saying who may use it (`public` or a role), and the
// router lists its routes with that access, so a test walks every route x every role and a route added later
// without a guard is caught (src/http-guard.test.ts).
import type http from "node:http";
import type { FleetRole } from "@zapvend/protocol";
import type { Principal } from "./auth/auth-service.js";
import { FleetError, FleetErrorCode } from "./errors.js";

/** `public`: anyone (the login and the console's static files only); a role: that role or a higher one. */
export type Access = FleetRole | "public";

export interface RouteContext {
  req: http.IncomingMessage;
  url: URL;
  params: string[];
  /** Set on every route but the public ones. */
  principal: Principal | null;
  /** The client's address (through trusted proxies). */
  address: string;
  /** The client reached the fleet over TLS (cookies get `Secure`). */
  secure: boolean;
}

export interface Reply {
  status: number;
  body: unknown;
  type?: string;
  filename?: string;
  headers?: Record<string, string>;
}

export type Handler = (ctx: RouteContext) => Promise<Reply>;

export interface RouteInfo {
  method: string;
  /** `/api/machines/:id`, as registered. */
  pattern: string;
  access: Access;
}

export interface RouteRegistrar {
  route(method: "GET" | "POST" | "PUT" | "DELETE", pattern: string, access: Access, handler: Handler): void;
}

interface Route extends RouteInfo {
  re: RegExp;
  handler: Handler;
}

export class Router implements RouteRegistrar {
  private readonly table: Route[] = [];

  route(method: "GET" | "POST" | "PUT" | "DELETE", pattern: string, access: Access, handler: Handler): void {
    if (access === undefined || access === null) throw new TypeError(`route ${method} ${pattern} has no access rule`);
    const re = new RegExp(`^${pattern.replace(/:([a-z]+)/g, "([^/]+)")}$`);
    this.table.push({ method, pattern, access, re, handler });
  }

  /** Every route with its access, in matching order. */
  routes(): RouteInfo[] {
    return this.table.map(({ method, pattern, access }) => ({ method, pattern, access }));
  }

  /** The first route of this method whose pattern matches, with its decoded params; 404/405 otherwise. */
  match(method: string, pathname: string): { route: Route; params: string[] } {
    let pathMatched = false;
    for (const r of this.table) {
      const m = r.re.exec(pathname);
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
      return { route: r, params };
    }
    if (pathMatched) throw new FleetError(FleetErrorCode.METHOD_NOT_ALLOWED, `${method} is not allowed on ${pathname}`, 405);
    throw new FleetError(FleetErrorCode.NOT_FOUND, `no route ${pathname}`, 404);
  }
}
