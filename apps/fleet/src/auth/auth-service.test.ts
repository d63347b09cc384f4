// Accounts, sessions, tokens, TOTP, lockout and the append-only audit, on SQLite and PostgreSQL (TEST_PG_URL).
import * as OTPAuth from "otpauth";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TEST_PASSWORD_COST } from "../__fixtures__/auth.js";
import { engines } from "../__fixtures__/stores.js";
import type { FleetStore } from "../store/fleet-store.js";
import { AuthService } from "./auth-service.js";
import { AuthStore } from "./auth-store.js";
import { hashPassword, needsRehash, verifyPassword } from "./passwords.js";

const PW = "a long enough password";
const dump = (rows: unknown) => JSON.stringify(rows, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
const by = { actor: "test", address: "10.0.0.9" };
const security = { sessionIdleMs: 30 * 60_000, sessionMaxMs: 12 * 3_600_000, maxFailuresPerAccount: 5, maxFailuresPerAddress: 8, lockoutMs: 15 * 60_000 };

async function codeOf(p: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code: string; status: number; message: string };
    return { code: e.code, status: e.status, message: e.message };
  }
  throw new Error("expected a refusal");
}

describe("passwords", () => {
  it("hashes with scrypt at the stored cost, verifies, and refuses a wrong or malformed hash", async () => {
    const h = await hashPassword(PW);
    expect(h).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword(PW, h)).toBe(true);
    expect(await verifyPassword(`${PW}!`, h)).toBe(false);
    expect(await verifyPassword(PW, "plain")).toBe(false);
    expect(needsRehash(h)).toBe(false);
    expect(needsRehash(await hashPassword(PW, { N: 1024, r: 8, p: 1 }))).toBe(true);
    expect(await hashPassword(PW)).not.toBe(h); // salted
  });

  it("re-hashes a stored password of a lower cost at the next login", async () => {
    const { store, cleanup } = await engines[0]!.open();
    try {
      const weak = new AuthService({ store: new AuthStore(store.db), security, now: Date.now, passwordCost: TEST_PASSWORD_COST });
      await weak.addUser("old", "viewer", PW, by);
      expect((await weak.store.getUser("old"))!.passwordHash).toMatch(/^scrypt\$1024\$/);
      const current = new AuthService({ store: new AuthStore(store.db), security, now: Date.now });
      await current.login({ username: "old", password: PW }, "10.0.0.1");
      expect((await current.store.getUser("old"))!.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    } finally {
      await cleanup();
    }
  });
});

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`accounts on ${engine.name}`, () => {
    let store: FleetStore;
    let cleanup: () => Promise<void>;
    let auth: AuthService;
    let now: number;

    beforeEach(async () => {
      ({ store, cleanup } = await engine.open());
      now = Date.UTC(2026, 11, 7, 12, 0, 0);
      // A cheap KDF here: these tests are about sessions, lockout and TOTP (the real cost is tested above).
      auth = new AuthService({ store: new AuthStore(store.db), security, now: () => now, passwordCost: TEST_PASSWORD_COST });
      await auth.addUser("alice", "operator", PW, by);
    });
    afterEach(async () => cleanup());

    it("logs in, stores only hashes, and answers a wrong password and an unknown user the same way", async () => {
      const { sessionId, info } = await auth.login({ username: "alice", password: PW }, "10.0.0.1");
      expect(info).toMatchObject({ user: "alice", role: "operator", via: "session", totp: false });
      expect(info.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const rows = await store.db.all("SELECT * FROM sessions");
      expect(rows).toHaveLength(1);
      expect(dump(rows)).not.toContain(sessionId);
      expect(dump(await store.db.all("SELECT * FROM users"))).not.toContain(PW);
      const p = await auth.sessionPrincipal(sessionId);
      expect(p).toMatchObject({ kind: "session", name: "alice", role: "operator" });

      const wrong = await codeOf(auth.login({ username: "alice", password: "not the password" }, "10.0.0.1"));
      const unknown = await codeOf(auth.login({ username: "mallory", password: "not the password" }, "10.0.0.1"));
      expect(wrong).toEqual({ code: "bad_credentials", status: 401, message: "wrong username or password" });
      expect(unknown).toEqual(wrong);
      const audit = await auth.listAudit({ action: "login" });
      expect(audit.map((a) => [a.action, a.target, a.ok, a.address])).toEqual([
        ["login.failed", "mallory", false, "10.0.0.1"],
        ["login.failed", "alice", false, "10.0.0.1"],
        ["login", "alice", true, "10.0.0.1"],
      ]);
    });

    it("locks an account after 5 failures from any address, and an address after 8 (configured) failures on any account", async () => {
      for (let i = 0; i < 5; i++) await codeOf(auth.login({ username: "alice", password: `wrong-${i}` }, `10.1.0.${i}`));
      const locked = await codeOf(auth.login({ username: "alice", password: PW }, "10.9.9.9"));
      expect(locked).toMatchObject({ code: "login_locked", status: 429 });
      // An unknown name locks the same way (the lockout does not tell whether a user exists).
      for (let i = 0; i < 5; i++) await codeOf(auth.login({ username: "ghost", password: `wrong-${i}` }, `10.2.0.${i}`));
      expect((await codeOf(auth.login({ username: "ghost", password: "x" }, "10.9.9.8"))).code).toBe("login_locked");
      now += 15 * 60_000 + 1;
      expect((await auth.login({ username: "alice", password: PW }, "10.9.9.9")).info.user).toBe("alice");

      await auth.addUser("bob", "viewer", PW, by);
      for (let i = 0; i < 8; i++) await codeOf(auth.login({ username: `spray-${i}`, password: "123456" }, "192.0.2.7"));
      expect((await codeOf(auth.login({ username: "bob", password: PW }, "192.0.2.7"))).code).toBe("login_locked");
      expect((await auth.login({ username: "bob", password: PW }, "192.0.2.8")).info.user).toBe("bob");
    }, 60_000);

    it("counts an account's failures in the store: two fleet servers on one database give one budget, not two", async () => {
      const other = new AuthService({ store: new AuthStore(store.db), security, now: () => now, passwordCost: TEST_PASSWORD_COST });
      // 3 failures on this server and 2 on the other (each from fresh addresses): the 5th locks the account on both.
      for (let i = 0; i < 3; i++) expect((await codeOf(auth.login({ username: "alice", password: `wrong-${i}` }, `10.3.0.${i}`))).code).toBe("bad_credentials");
      for (let i = 3; i < 5; i++) expect((await codeOf(other.login({ username: "Alice", password: `wrong-${i}` }, `10.3.0.${i}`))).code).toBe("bad_credentials");
      for (const server of [auth, other]) {
        const e = await codeOf(server.login({ username: "alice", password: PW }, "10.3.1.1"));
        expect(e).toMatchObject({ code: "login_locked", status: 429 });
        expect(e.message).toMatch(/try again in 900 s/);
      }
      expect((await auth.listAudit({ action: "login.failed" })).filter((a) => a.detail.locked === true)).toHaveLength(1);
      now += 15 * 60_000;
      expect((await other.login({ username: "alice", password: PW }, "10.3.1.1")).info.user).toBe("alice");

      // A success forgets the count; failures spread over more than the window never lock.
      for (let i = 0; i < 12; i++) {
        await codeOf(auth.login({ username: "alice", password: `slow-${i}` }, `10.4.0.${i}`));
        now += 4 * 60_000; // 4 failures per 15 min at most
      }
      expect((await auth.login({ username: "alice", password: PW }, "10.4.1.1")).info.user).toBe("alice");

      // Counts that can no longer lock are pruned with the sessions (guessed names do not pile up); a live one stays.
      await codeOf(auth.login({ username: "ghost-1", password: "x" }, "10.5.0.1"));
      now += 15 * 60_000 + 1;
      await codeOf(other.login({ username: "ghost-2", password: "x" }, "10.5.0.2"));
      await auth.pruneSessions();
      expect((await store.db.all("SELECT account FROM login_failures ORDER BY account")).map((r) => r.account)).toEqual(["ghost-2"]);
    }, 60_000);

    it("ends a session after the idle time, after the absolute lifetime, on logout and when an admin revokes them", async () => {
      const a = await auth.login({ username: "alice", password: PW }, "10.0.0.1");
      now += 29 * 60_000;
      expect(await auth.sessionPrincipal(a.sessionId)).toMatchObject({ name: "alice" });
      now += 29 * 60_000; // used 29 min ago: still alive (idle is counted from the last use)
      expect(await auth.sessionPrincipal(a.sessionId)).toMatchObject({ name: "alice" });
      now += 31 * 60_000;
      expect(await auth.sessionPrincipal(a.sessionId)).toEqual({ error: "session_expired" });

      const b = await auth.login({ username: "alice", password: PW }, "10.0.0.1");
      for (let t = 0; t < 12 * 60; t += 20) {
        now += 20 * 60_000;
        await auth.sessionPrincipal(b.sessionId);
      }
      expect(await auth.sessionPrincipal(b.sessionId)).toEqual({ error: "session_expired" });

      const c = await auth.login({ username: "alice", password: PW }, "10.0.0.1");
      const d = await auth.login({ username: "alice", password: PW }, "10.0.0.2");
      const pc = await auth.sessionPrincipal(c.sessionId);
      if ("error" in pc) throw new Error("no session");
      await auth.logout(pc, "10.0.0.1");
      expect(await auth.sessionPrincipal(c.sessionId)).toEqual({ error: "session_expired" });
      expect(await auth.sessionPrincipal(d.sessionId)).toMatchObject({ name: "alice" });
      expect(await auth.revokeSessions("alice", by)).toBe(1);
      expect(await auth.sessionPrincipal(d.sessionId)).toEqual({ error: "session_expired" });
      // A role change applies to live sessions at once.
      const e = await auth.login({ username: "alice", password: PW }, "10.0.0.1");
      await auth.updateUser("alice", { role: "viewer" }, by);
      expect(await auth.sessionPrincipal(e.sessionId)).toMatchObject({ role: "viewer" });
    });

    it("asks for a TOTP code once enrolled and confirmed, refuses a wrong or replayed one", async () => {
      const { secret } = await auth.enrollTotp("alice", by);
      const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
      // Not active before it is confirmed.
      expect((await auth.login({ username: "alice", password: PW }, "10.0.0.1")).info.totp).toBe(false);
      expect((await codeOf(auth.confirmTotp("alice", "000000", by))).code).toBe("bad_totp");
      await auth.confirmTotp("alice", totp.generate({ timestamp: now }), by);
      now += 30_000;
      expect((await codeOf(auth.login({ username: "alice", password: PW }, "10.0.0.1"))).code).toBe("totp_required");
      // A wrong password is still just a wrong password (the TOTP question comes only after a right one).
      expect((await codeOf(auth.login({ username: "alice", password: "nope nope nope", totp: "123456" }, "10.0.0.1"))).code).toBe("bad_credentials");
      const code = totp.generate({ timestamp: now });
      const ok = await auth.login({ username: "alice", password: PW, totp: code }, "10.0.0.1");
      expect(ok.info.totp).toBe(true);
      expect((await codeOf(auth.login({ username: "alice", password: PW, totp: code }, "10.0.0.1"))).code).toBe("bad_totp");
      await auth.disableTotp("alice", by);
      expect((await auth.login({ username: "alice", password: PW }, "10.0.0.1")).info.totp).toBe(false);
    });

    it("shows a token's secret once, stores its hash, and refuses it once revoked", async () => {
      const t = await auth.createToken("ci-script", "technician", by);
      expect(t.secret).toMatch(/^zvf_/);
      expect(dump(await store.db.all("SELECT * FROM api_tokens"))).not.toContain(t.secret);
      expect(await auth.tokenPrincipal(t.secret)).toMatchObject({ kind: "token", name: "ci-script", role: "technician" });
      expect(await auth.tokenPrincipal(`${t.secret}x`)).toBeNull();
      expect(JSON.stringify(await auth.listTokens())).not.toContain(t.secret);
      await auth.revokeToken("ci-script", by);
      expect(await auth.tokenPrincipal(t.secret)).toBeNull();
      expect((await codeOf(auth.revokeToken("ci-script", by))).code).toBe("token_not_found");
    });

    it("keeps at least one admin, refuses short passwords and duplicate names", async () => {
      await auth.addUser("root", "admin", PW, by);
      expect((await codeOf(auth.removeUser("root", by))).code).toBe("last_admin");
      expect((await codeOf(auth.updateUser("root", { role: "viewer" }, by))).code).toBe("last_admin");
      expect((await codeOf(auth.addUser("short", "viewer", "2short", by))).code).toBe("weak_password");
      expect((await codeOf(auth.addUser("alice", "viewer", PW, by))).code).toBe("user_exists");
      const gen = await auth.addUser("gen", "viewer", undefined, by);
      expect(gen.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
      expect((await auth.login({ username: "gen", password: gen.password! }, "10.0.0.1")).info.role).toBe("viewer");
      await auth.removeUser("gen", by);
      expect((await auth.listUsers()).map((u) => [u.name, u.role])).toEqual([["alice", "operator"], ["root", "admin"]]);
    });

    it("keeps the audit append-only: the database refuses UPDATE and DELETE", async () => {
      await auth.audit({ actor: "user:alice", address: "10.0.0.1", action: "command", target: "snacks-01", detail: { name: "reboot", args: {} } });
      await expect(store.db.run("UPDATE audit SET actor = 'nobody'")).rejects.toThrow(/append-only/);
      await expect(store.db.run("DELETE FROM audit")).rejects.toThrow(/append-only/);
      const rows = await auth.listAudit({ action: "command" });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ actor: "user:alice", address: "10.0.0.1", target: "snacks-01", ok: true, detail: { name: "reboot", args: {} } });
      expect((await auth.listAudit({ action: "user" })).map((r) => r.action)).toEqual(["user.add"]);
      expect(await auth.listAudit({ actor: "nobody" })).toEqual([]);
    });
  });
}
