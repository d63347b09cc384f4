// Credentials for tests that call the fleet's API: an API token of a role (no cookie, so no CSRF token needed), and
// an AuthService with a cheap scrypt cost for suites that are about the guard, not the KDF (the KDF's own cost is
// tested in auth/auth-service.test.ts and measured in bench/fleet-login.bench.mjs).
import { DEFAULT_FLEET_SECURITY, type FleetRole, type FleetSecurity } from "@zapvend/protocol";
import { AuthService } from "../auth/auth-service.js";
import { AuthStore } from "../auth/auth-store.js";
import type { ScryptCost } from "../auth/passwords.js";
import type { FleetService } from "../fleet-service.js";

/** 1 MiB, about 2 ms: test logins stay fast on a loaded CI machine. Never a production setting. */
export const TEST_PASSWORD_COST: ScryptCost = { N: 2 ** 10, r: 8, p: 1 };

export function testAuth(service: FleetService, security: FleetSecurity = DEFAULT_FLEET_SECURITY): AuthService {
  return new AuthService({ store: new AuthStore(service.store.db), security, now: Date.now, passwordCost: TEST_PASSWORD_COST });
}

let n = 0;

/** `{authorization: "Bearer ..."}` of a fresh token with `role` (default admin). */
export async function bearer(auth: AuthService, role: FleetRole = "admin"): Promise<Record<string, string>> {
  const t = await auth.createToken(`test-${role}-${++n}`, role, { actor: "test", address: null });
  return { authorization: `Bearer ${t.secret}` };
}
