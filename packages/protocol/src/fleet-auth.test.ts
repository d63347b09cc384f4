import { describe, expect, it } from "vitest";
import { FLEET_ROLES, parseFleetConfig, parseLoginRequest, roleAtLeast } from "./index.js";

const base = { database: "/var/lib/zapvend/fleet.db", operatorKey: { keyId: "op", privateKeyPath: "/etc/zapvend/op.key" } };

describe("fleet accounts in protocol", () => {
  it("orders the roles viewer < technician < operator < admin", () => {
    expect(FLEET_ROLES).toEqual(["viewer", "technician", "operator", "admin"]);
    expect(roleAtLeast("admin", "operator")).toBe(true);
    expect(roleAtLeast("technician", "operator")).toBe(false);
    expect(roleAtLeast("viewer", "viewer")).toBe(true);
  });

  it("gives a fleet config safe security defaults and refuses a malformed origin with a code", () => {
    const ok = parseFleetConfig(base);
    expect(ok.ok && ok.value.security).toEqual({ trustedProxies: [], sessionIdleMs: 1_800_000, sessionMaxMs: 43_200_000, maxFailuresPerAccount: 5, maxFailuresPerAddress: 20, lockoutMs: 900_000 });
    const bad = parseFleetConfig({ ...base, security: { allowedOrigins: ["https://fleet.example.com/path"] } });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error.path).toBe("security.allowedOrigins[0]");
    expect(parseFleetConfig({ ...base, security: { tls: { certPath: "/c.pem" } } }).ok).toBe(false);
  });

  it("parses a login body and refuses extra keys, a bad TOTP code and oversize input", () => {
    expect(parseLoginRequest('{"username":"a","password":"b","totp":"123456"}')).toMatchObject({ ok: true });
    expect(parseLoginRequest('{"username":"a","password":"b","admin":true}')).toMatchObject({ ok: false });
    expect(parseLoginRequest('{"username":"a","password":"b","totp":"12345x"}')).toMatchObject({ ok: false });
    expect(parseLoginRequest(JSON.stringify({ username: "a", password: "x".repeat(5000) }))).toMatchObject({ ok: false, error: { code: "too_large" } });
  });
});
