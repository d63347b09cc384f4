// The fleet's accounts, sessions, API tokens and audit trail as its HTTP API speaks them (issue #15). The console
// (a browser) and the server read the same schemas.
import { z } from "zod";
import { EpochMs, text } from "./common.js";
import { parseJson, type ParseResult } from "./result.js";

/**
 * Roles, each including the ones before it: `viewer` reads everything; `technician` also restocks, test-vends and
 * acknowledges alerts; `operator` also edits prices, slots and mode and sends every command; `admin` also manages
 * users, tokens and reads the audit.
 */
export const FleetRole = { VIEWER: "viewer", TECHNICIAN: "technician", OPERATOR: "operator", ADMIN: "admin" } as const;
export type FleetRole = (typeof FleetRole)[keyof typeof FleetRole];
export const FLEET_ROLES: readonly FleetRole[] = ["viewer", "technician", "operator", "admin"];
export const FleetRoleSchema = z.enum(["viewer", "technician", "operator", "admin"]);

/** Whether `role` includes `needed`. */
export function roleAtLeast(role: FleetRole, needed: FleetRole): boolean {
  return FLEET_ROLES.indexOf(role) >= FLEET_ROLES.indexOf(needed);
}

/** A user or token name: letters, digits, `.`, `_`, `-`; 1-64 characters. */
export const AccountName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "1-64 letters, digits, '.', '_' or '-'");

/** `POST /api/login`. `totp` is the 6-digit code of an account with a second factor. */
export const LoginRequest = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1_024),
  totp: z.string().regex(/^[0-9]{6}$/).optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

/** `GET /api/session` (and the answer of a login). */
export const SessionInfo = z.object({
  user: z.string(),
  role: FleetRoleSchema,
  /** Sent back as `X-CSRF-Token` on every POST/PUT/DELETE of a cookie session; null for a bearer token. */
  csrfToken: z.string().nullable(),
  /** `session` (a cookie) or `token` (`Authorization: Bearer`). */
  via: z.enum(["session", "token"]),
  totp: z.boolean(),
  expiresAt: EpochMs.nullable(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const UserView = z.object({
  name: z.string(),
  role: FleetRoleSchema,
  totp: z.boolean(),
  createdAt: EpochMs,
  lastLoginAt: EpochMs.nullable(),
  sessions: z.int().min(0),
});
export type UserView = z.infer<typeof UserView>;

/** `POST /api/users`: without `password` the server generates one and returns it once. */
export const UserCreate = z.strictObject({
  name: AccountName,
  role: FleetRoleSchema,
  password: z.string().min(12).max(1_024).optional(),
});
export type UserCreate = z.infer<typeof UserCreate>;

/** `PUT /api/users/:name`. */
export const UserUpdate = z.strictObject({
  role: FleetRoleSchema.optional(),
  password: z.string().min(12).max(1_024).optional(),
});
export type UserUpdate = z.infer<typeof UserUpdate>;

export const TokenView = z.object({
  id: z.string(),
  name: z.string(),
  role: FleetRoleSchema,
  createdAt: EpochMs,
  createdBy: z.string(),
  lastUsedAt: EpochMs.nullable(),
  revokedAt: EpochMs.nullable(),
});
export type TokenView = z.infer<typeof TokenView>;

/** `POST /api/tokens`. */
export const TokenCreate = z.strictObject({ name: AccountName, role: FleetRoleSchema });
export type TokenCreate = z.infer<typeof TokenCreate>;

/** The one answer that holds the token's secret. */
export const TokenCreated = z.object({ token: TokenView, secret: z.string() });
export type TokenCreated = z.infer<typeof TokenCreated>;

/** `POST /api/totp/enroll` -> a secret to confirm with `POST /api/totp/confirm {code}`. */
export const TotpEnrollment = z.object({ secret: z.string(), uri: z.string() });
export type TotpEnrollment = z.infer<typeof TotpEnrollment>;
export const TotpConfirm = z.strictObject({ code: z.string().regex(/^[0-9]{6}$/) });

/** One row of the append-only audit trail (`GET /api/audit`). */
export const AuditEntry = z.object({
  id: z.string(),
  at: EpochMs,
  /** `user:<name>`, `token:<name>`, `cli` or `anonymous` (a failed login names the username tried in `detail`). */
  actor: z.string(),
  address: z.string().nullable(),
  /** `login`, `login.failed`, `logout`, `command`, `desired.edit`, `alert.acknowledge`, `user.add`, ... */
  action: text(64),
  /** What it was done to: a machine id, an alert id, a user or token name. */
  target: z.string().nullable(),
  ok: z.boolean(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export function parseLoginRequest(body: string | Uint8Array): ParseResult<LoginRequest> {
  return parseJson(LoginRequest, body, { maxBytes: 4 * 1024 });
}
