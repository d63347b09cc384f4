// A console's WebSocket is authenticated once, at its upgrade; its session or token is checked again while it is open
// (issue #15): an expired session, one ended by another fleet server on the same database, or a revoked token closes
// the socket with 4401 (the console then shows its login page). Real HTTP and WebSocket on 127.0.0.1, real SQLite.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEFAULT_FLEET_SECURITY } from "@zapvend/protocol";
import { TEST_PASSWORD_COST } from "./__fixtures__/auth.js";
import { raw } from "./__fixtures__/raw-http.js";
import { engines } from "./__fixtures__/stores.js";
import { AuthService } from "./auth/auth-service.js";
import { AuthStore } from "./auth/auth-store.js";
import { FleetService } from "./fleet-service.js";
import { FleetHttpServer } from "./http-server.js";

const PASSWORD = "correct horse battery staple";
const security = { ...DEFAULT_FLEET_SECURITY, sessionIdleMs: 30 * 60_000, sessionMaxMs: 12 * 3_600_000 };

describe("the console's WebSocket follows its session", () => {
  let service: FleetService;
  let http: FleetHttpServer;
  /** Another fleet server's accounts over the same database (as behind a load balancer). */
  let other: AuthService;
  let cleanup: () => Promise<void>;
  let base: string;
  let now = Date.now();

  beforeAll(async () => {
    const opened = await engines[0]!.open();
    cleanup = opened.cleanup;
    service = new FleetService({ store: opened.store, alertIntervalMs: 60_000 });
    await service.start();
    const auth = new AuthService({ store: new AuthStore(opened.store.db), security, now: () => now, passwordCost: TEST_PASSWORD_COST });
    other = new AuthService({ store: new AuthStore(opened.store.db), security, now: () => now, passwordCost: TEST_PASSWORD_COST });
    // The timer's own check is exercised by the first case; the others call the check directly (no waiting on time).
    http = new FleetHttpServer({ service, port: 0, auth, security, now: () => now, liveCheckMs: 100 });
    await http.start();
    base = http.url;
    await auth.addUser("watcher", "viewer", PASSWORD, { actor: "test", address: null });
  }, 60_000);

  afterAll(async () => {
    await http?.stop();
    await service?.stop();
    await cleanup?.();
  });

  async function openConsole(headers?: Record<string, string>): Promise<{ ws: WebSocket; closed: () => number | null; cookie: string }> {
    let cookie = "";
    if (!headers) {
      const r = await raw(base, "POST", "/api/login", { "content-type": "application/json", origin: base }, JSON.stringify({ username: "watcher", password: PASSWORD }));
      expect(r.status, r.text).toBe(200);
      cookie = String(r.headers["set-cookie"]?.[0] ?? "").split(";")[0]!;
    }
    const ws = new WebSocket(base.replace("http", "ws") + "/ws", { headers: headers ?? { origin: base, cookie } });
    let code: number | null = null;
    ws.on("close", (c) => (code = c));
    await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
    return { ws, closed: () => code, cookie };
  }

  it("closes the socket with 4401 once the session is idle for longer than allowed, by its own timer", async () => {
    const c = await openConsole();
    await http.checkLiveSockets();
    expect(c.closed()).toBeNull();
    now += 30 * 60_000 + 1; // only the WebSocket was used: nothing touched the session
    await expect.poll(() => c.closed(), { timeout: 10_000 }).toBe(4401);
    const after = await raw(base, "GET", "/api/session", { cookie: c.cookie });
    expect(after.status).toBe(401);
  });

  it("closes the socket at the session's absolute expiry even while it is used", async () => {
    const c = await openConsole();
    for (let used = 0; used < 12 * 60; used += 20) {
      now += 20 * 60_000;
      await raw(base, "GET", "/api/session", { cookie: c.cookie }); // keeps it from idling
      await http.checkLiveSockets();
      if (c.closed() !== null) break;
    }
    await expect.poll(() => c.closed()).toBe(4401);
  });

  it("closes the socket when another fleet server ends the session, and keeps the others open", async () => {
    const a = await openConsole();
    const token = await other.createToken("wall-display", "viewer", { actor: "test", address: null });
    const t = await openConsole({ authorization: `Bearer ${token.secret}` });
    await other.revokeSessions("watcher", { actor: "test", address: null });
    await http.checkLiveSockets();
    await expect.poll(() => a.closed()).toBe(4401);
    expect(t.closed()).toBeNull();

    // A token revoked on the other server closes its socket here too.
    await other.revokeToken(token.token.id, { actor: "test", address: null });
    await http.checkLiveSockets();
    await expect.poll(() => t.closed()).toBe(4401);
  });
});
