// Credentials for tests that call the fleet's API: an API token of a role (no cookie, so no CSRF token needed).
import type { FleetRole } from "@zapvend/protocol";
import type { AuthService } from "../auth/auth-service.js";

let n = 0;

/** `{authorization: "Bearer ..."}` of a fresh token with `role` (default admin). */
export async function bearer(auth: AuthService, role: FleetRole = "admin"): Promise<Record<string, string>> {
  const t = await auth.createToken(`test-${role}-${++n}`, role, { actor: "test", address: null });
  return { authorization: `Bearer ${t.secret}` };
}
