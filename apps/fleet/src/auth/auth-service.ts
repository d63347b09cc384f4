// Accounts, sessions, API tokens, TOTP and the audit trail of the fleet (issue #15): what the HTTP layer and the
// `zapvend-fleet user|token` commands call. Time is injected; nothing here knows about HTTP.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import * as OTPAuth from "otpauth";
import type { AuditEntry, FleetRole, FleetSecurity, SessionInfo, TokenCreated, TokenView, TotpEnrollment, UserView } from "@zapvend/protocol";
import { FleetError } from "../errors.js";
import type { AuditFilter, AuditInput, AuthStore } from "./auth-store.js";
import { PASSWORD_COST, dummyHash, generatePassword, hashPassword, needsRehash, verifyPassword, type ScryptCost } from "./passwords.js";
import { FailureCounter } from "./rate-limit.js";

export const AuthErrorCode = {
  UNAUTHENTICATED: "unauthenticated",
  BAD_CREDENTIALS: "bad_credentials",
  TOTP_REQUIRED: "totp_required",
  LOGIN_LOCKED: "login_locked",
  SESSION_EXPIRED: "session_expired",
  BAD_TOKEN: "bad_token",
  FORBIDDEN: "forbidden",
  USER_EXISTS: "user_exists",
  USER_NOT_FOUND: "user_not_found",
  TOKEN_NOT_FOUND: "token_not_found",
  LAST_ADMIN: "last_admin",
  WEAK_PASSWORD: "weak_password",
  BAD_TOTP: "bad_totp",
} as const;
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** Who a request acts as. */
export interface Principal {
  kind: "session" | "token";
  name: string;
  role: FleetRole;
  /** Cookie sessions only. */
  csrfToken: string | null;
  sessionIdHash: string | null;
  /** API tokens only. */
  tokenId?: string | null;
  expiresAt: number | null;
  totp: boolean;
}

export function actorOf(p: Principal | null): string {
  return p ? `${p.kind === "session" ? "user" : "token"}:${p.name}` : "anonymous";
}

export const sha256 = (s: string): string => createHash("sha256").update(s).digest("base64url");

/** Minimum length of a password chosen by a person (generated ones are 20 characters). */
export const MIN_PASSWORD_LENGTH = 12;
const TOTP_ISSUER = "zapvend fleet";
/** `last_seen` of a session is written at most this often (a busy console does not write on every request). */
const TOUCH_EVERY_MS = 60_000;

export interface AuthServiceOptions {
  store: AuthStore;
  security: Pick<FleetSecurity, "sessionIdleMs" | "sessionMaxMs" | "maxFailuresPerAccount" | "maxFailuresPerAddress" | "lockoutMs">;
  now: () => number;
  /** The scrypt cost of new hashes. Default `PASSWORD_COST`; tests that are not about the KDF pass a cheap one. */
  passwordCost?: ScryptCost;
}

export class AuthService {
  readonly store: AuthStore;
  /** Per account: counted in the store, shared by every fleet server on it (migration 9). */
  private readonly accountLimit: { max: number; windowMs: number; lockMs: number };
  /** Per client address: in this server's memory (an address reaches the servers of a load balancer in turn). */
  private readonly perAddress: FailureCounter;
  /** Last TOTP time step used per user: a code is good once (RFC 6238 section 5.2). */
  private readonly totpUsed = new Map<string, number>();
  private readonly cost: ScryptCost;

  constructor(private readonly opts: AuthServiceOptions) {
    this.store = opts.store;
    this.cost = opts.passwordCost ?? PASSWORD_COST;
    const s = opts.security;
    this.accountLimit = { max: s.maxFailuresPerAccount, windowMs: s.lockoutMs, lockMs: s.lockoutMs };
    this.perAddress = new FailureCounter({ max: s.maxFailuresPerAddress, windowMs: s.lockoutMs, lockMs: s.lockoutMs });
  }

  private now(): number {
    return this.opts.now();
  }

  audit(e: Omit<AuditInput, "at"> & { at?: number }): Promise<AuditEntry> {
    return this.store.appendAudit({ ...e, at: e.at ?? this.now() });
  }

  listAudit(f: AuditFilter): ReturnType<AuthStore["listAudit"]> {
    return this.store.listAudit(f);
  }

  // ---------------------------------------------------------------- login

  /**
   * Checks a login and opens a session. Wrong user and wrong password give the same error after the same work (an
   * unknown user is checked against a dummy hash). Every attempt is audited.
   */
  async login(req: { username: string; password: string; totp?: string | undefined }, address: string): Promise<{ sessionId: string; info: SessionInfo }> {
    const now = this.now();
    const accountKey = req.username.toLowerCase();
    const accountLocked = await this.store.accountLockedUntil(accountKey, now);
    const locked = Math.max(accountLocked > 0 ? accountLocked - now : 0, this.perAddress.lockedFor(address, now));
    if (locked > 0) {
      await this.audit({ actor: "anonymous", address, action: "login.failed", target: req.username, ok: false, detail: { reason: AuthErrorCode.LOGIN_LOCKED } });
      throw new FleetError(AuthErrorCode.LOGIN_LOCKED, `too many failed logins; try again in ${Math.ceil(locked / 1000)} s`, 429, { retryAfterS: Math.ceil(locked / 1000) });
    }
    const user = await this.store.getUser(req.username);
    const good = await verifyPassword(req.password, user?.passwordHash ?? (await dummyHash(this.cost)));
    const failed = async (reason: string, code: AuthErrorCode, message: string): Promise<never> => {
      const lockedNow = [await this.store.countAccountFailure(accountKey, now, this.accountLimit), this.perAddress.fail(address, now)].some(Boolean);
      await this.audit({ actor: "anonymous", address, action: "login.failed", target: req.username, ok: false, detail: { reason, ...(lockedNow ? { locked: true } : {}) } });
      throw new FleetError(code, message, 401);
    };
    if (!user || !good) return failed(AuthErrorCode.BAD_CREDENTIALS, AuthErrorCode.BAD_CREDENTIALS, "wrong username or password");
    if (user.totpSecret) {
      // Asked only after a right password, so it does not tell an attacker anything they did not know.
      if (!req.totp) throw new FleetError(AuthErrorCode.TOTP_REQUIRED, "this account needs its 6-digit authenticator code", 401);
      if (!this.checkTotp(user.name, user.totpSecret, req.totp, now)) return failed(AuthErrorCode.BAD_TOTP, AuthErrorCode.BAD_TOTP, "wrong or already used authenticator code");
    }
    await this.store.clearAccountFailures(accountKey);
    if (needsRehash(user.passwordHash, this.cost)) await this.store.updateUser(user.name, { passwordHash: await hashPassword(req.password, this.cost) });
    const sessionId = randomBytes(32).toString("base64url");
    const csrfToken = randomBytes(32).toString("base64url");
    const expiresAt = now + this.opts.security.sessionMaxMs;
    await this.store.createSession({ idHash: sha256(sessionId), user: user.name, csrfToken, createdAt: now, lastSeen: now, expiresAt, address });
    await this.store.recordLogin(user.name, now);
    await this.audit({ actor: `user:${user.name}`, address, action: "login", target: user.name, detail: { totp: user.totpSecret !== null } });
    return { sessionId, info: { user: user.name, role: user.role, csrfToken, via: "session", totp: user.totpSecret !== null, expiresAt } };
  }

  private checkTotp(user: string, secret: string, code: string, nowMs: number): boolean {
    const totp = new OTPAuth.TOTP({ issuer: TOTP_ISSUER, label: user, secret: OTPAuth.Secret.fromBase32(secret) });
    const delta = totp.validate({ token: code, timestamp: nowMs, window: 1 });
    if (delta === null) return false;
    const step = Math.floor(nowMs / 30_000) + delta;
    if ((this.totpUsed.get(user) ?? -1) >= step) return false;
    this.totpUsed.set(user, step);
    return true;
  }

  /** The principal of a session cookie value, or why there is none. */
  async sessionPrincipal(sessionId: string): Promise<Principal | { error: AuthErrorCode }> {
    const now = this.now();
    const idHash = sha256(sessionId);
    const s = await this.store.getSession(idHash);
    if (!s) return { error: AuthErrorCode.SESSION_EXPIRED };
    if (s.expiresAt <= now || s.lastSeen + this.opts.security.sessionIdleMs <= now) {
      await this.store.deleteSession(idHash);
      return { error: AuthErrorCode.SESSION_EXPIRED };
    }
    const user = await this.store.getUser(s.user);
    if (!user) return { error: AuthErrorCode.SESSION_EXPIRED };
    if (now - s.lastSeen >= TOUCH_EVERY_MS) await this.store.touchSession(idHash, now);
    return { kind: "session", name: user.name, role: user.role, csrfToken: s.csrfToken, sessionIdHash: idHash, expiresAt: s.expiresAt, totp: user.totpSecret !== null };
  }

  /** The principal of a bearer token, or null when it is unknown or revoked. */
  async tokenPrincipal(secret: string): Promise<Principal | null> {
    const t = await this.store.tokenBySecretHash(sha256(secret));
    if (!t || t.revokedAt !== null) return null;
    const now = this.now();
    if (t.lastUsedAt === null || now - t.lastUsedAt >= TOUCH_EVERY_MS) await this.store.touchToken(t.id, now);
    return { kind: "token", name: t.name, role: t.role, csrfToken: null, sessionIdHash: null, tokenId: t.id, expiresAt: null, totp: false };
  }

  /**
   * Whether what authenticated a long-lived connection (the console's WebSocket, checked once at its upgrade) still
   * holds: the session exists (not logged out, revoked, or removed with its user, possibly by another fleet server
   * on the same database) and is within its idle and absolute expiry; the token is not revoked. Touches nothing: an
   * open WebSocket alone does not keep a session alive.
   */
  async stillValid(p: { sessionIdHash: string | null; tokenId?: string | null | undefined }): Promise<boolean> {
    const now = this.now();
    if (p.sessionIdHash) {
      const s = await this.store.getSession(p.sessionIdHash);
      return s !== null && s.expiresAt > now && s.lastSeen + this.opts.security.sessionIdleMs > now && (await this.store.getUser(s.user)) !== null;
    }
    if (p.tokenId) {
      const t = await this.store.getToken(p.tokenId);
      return t !== null && t.revokedAt === null;
    }
    return false;
  }

  async logout(p: Principal, address: string | null): Promise<void> {
    if (p.sessionIdHash) await this.store.deleteSession(p.sessionIdHash);
    await this.audit({ actor: actorOf(p), address, action: "logout", target: p.name });
  }

  sessionInfo(p: Principal): SessionInfo {
    return { user: p.name, role: p.role, csrfToken: p.csrfToken, via: p.kind, totp: p.totp, expiresAt: p.expiresAt };
  }

  /** Deletes ended sessions' rows, and the login-failure counts that can no longer lock anything. */
  async pruneSessions(): Promise<number> {
    await this.store.pruneLoginFailures(this.now(), this.accountLimit.windowMs);
    return this.store.pruneSessions(this.now(), this.opts.security.sessionIdleMs);
  }

  // ---------------------------------------------------------------- users (admin, or the CLI)

  private static checkPassword(password: string): void {
    if (password.length < MIN_PASSWORD_LENGTH) throw new FleetError(AuthErrorCode.WEAK_PASSWORD, `a password needs at least ${MIN_PASSWORD_LENGTH} characters`, 400);
  }

  /** Adds a user; without a password one is generated and returned (shown once). */
  async addUser(name: string, role: FleetRole, password: string | undefined, by: { actor: string; address: string | null }): Promise<{ user: UserView; password?: string }> {
    const generated = password === undefined ? generatePassword() : undefined;
    const pw = password ?? generated!;
    AuthService.checkPassword(pw);
    const now = this.now();
    if (!(await this.store.addUser(name, role, await hashPassword(pw, this.cost), now))) throw new FleetError(AuthErrorCode.USER_EXISTS, `a user ${name} exists already`, 409);
    await this.audit({ ...by, action: "user.add", target: name, detail: { role } });
    const user: UserView = { name, role, totp: false, createdAt: now, lastLoginAt: null, sessions: 0 };
    return generated ? { user, password: generated } : { user };
  }

  listUsers(): Promise<UserView[]> {
    return this.store.listUsers(this.now());
  }

  private async requireUser(name: string) {
    const u = await this.store.getUser(name);
    if (!u) throw new FleetError(AuthErrorCode.USER_NOT_FOUND, `no user ${name}`, 404);
    return u;
  }

  /** Refuses to leave the fleet without an admin (nobody could manage users any more). */
  private async keepAnAdmin(name: string, newRole: FleetRole | null): Promise<void> {
    const u = await this.requireUser(name);
    if (u.role === "admin" && newRole !== "admin" && (await this.store.countAdmins()) <= 1) {
      throw new FleetError(AuthErrorCode.LAST_ADMIN, `${name} is the last admin`, 409);
    }
  }

  async removeUser(name: string, by: { actor: string; address: string | null }): Promise<void> {
    await this.keepAnAdmin(name, null);
    await this.store.removeUser(name);
    this.totpUsed.delete(name);
    await this.audit({ ...by, action: "user.remove", target: name });
  }

  /** Changes role and/or password. A new password ends every session of the user. */
  async updateUser(name: string, change: { role?: FleetRole | undefined; password?: string | undefined }, by: { actor: string; address: string | null }): Promise<UserView> {
    const before = await this.requireUser(name);
    if (change.role !== undefined) await this.keepAnAdmin(name, change.role);
    if (change.password !== undefined) AuthService.checkPassword(change.password);
    await this.store.updateUser(name, {
      ...(change.role !== undefined ? { role: change.role } : {}),
      ...(change.password !== undefined ? { passwordHash: await hashPassword(change.password, this.cost) } : {}),
    });
    if (change.password !== undefined) await this.store.deleteSessionsOf(name);
    const detail: Record<string, unknown> = {};
    if (change.role !== undefined) detail.role = { before: before.role, after: change.role };
    if (change.password !== undefined) detail.password = "changed";
    await this.audit({ ...by, action: "user.update", target: name, detail });
    return (await this.listUsers()).find((u) => u.name === name)!;
  }

  async revokeSessions(name: string, by: { actor: string; address: string | null }): Promise<number> {
    await this.requireUser(name);
    const n = await this.store.deleteSessionsOf(name);
    await this.audit({ ...by, action: "user.sessions.revoke", target: name, detail: { sessions: n } });
    return n;
  }

  // ---------------------------------------------------------------- TOTP

  /** Draws a secret for the user; it protects logins only after `confirmTotp` with a code from the app. */
  async enrollTotp(name: string, by: { actor: string; address: string | null }): Promise<TotpEnrollment> {
    await this.requireUser(name);
    const secret = new OTPAuth.Secret({ size: 20 });
    await this.store.updateUser(name, { totpPending: secret.base32 });
    await this.audit({ ...by, action: "user.totp.enroll", target: name });
    const totp = new OTPAuth.TOTP({ issuer: TOTP_ISSUER, label: name, secret });
    return { secret: secret.base32, uri: totp.toString() };
  }

  async confirmTotp(name: string, code: string, by: { actor: string; address: string | null }): Promise<void> {
    const u = await this.requireUser(name);
    if (!u.totpPending || !this.checkTotp(name, u.totpPending, code, this.now())) {
      await this.audit({ ...by, action: "user.totp.confirm", target: name, ok: false });
      throw new FleetError(AuthErrorCode.BAD_TOTP, "wrong authenticator code (enroll first, then send the app's current code)", 400);
    }
    await this.store.updateUser(name, { totpSecret: u.totpPending, totpPending: null });
    await this.audit({ ...by, action: "user.totp.confirm", target: name });
  }

  async disableTotp(name: string, by: { actor: string; address: string | null }): Promise<void> {
    await this.requireUser(name);
    await this.store.updateUser(name, { totpSecret: null, totpPending: null });
    await this.audit({ ...by, action: "user.totp.disable", target: name });
  }

  // ---------------------------------------------------------------- API tokens

  /** A new token; its secret is in this answer only (stored as a SHA-256 hash). */
  async createToken(name: string, role: FleetRole, by: { actor: string; address: string | null }): Promise<TokenCreated> {
    const secret = `zvf_${randomBytes(32).toString("base64url")}`;
    const token = { id: randomUUID(), name, role, createdAt: this.now(), createdBy: by.actor };
    await this.store.addToken({ ...token, secretHash: sha256(secret) });
    await this.audit({ ...by, action: "token.add", target: name, detail: { id: token.id, role } });
    return { token: { ...token, lastUsedAt: null, revokedAt: null }, secret };
  }

  listTokens(): Promise<TokenView[]> {
    return this.store.listTokens();
  }

  async revokeToken(idOrName: string, by: { actor: string; address: string | null }): Promise<TokenView[]> {
    const revoked = await this.store.revokeToken(idOrName, this.now());
    if (revoked.length === 0) throw new FleetError(AuthErrorCode.TOKEN_NOT_FOUND, `no live token ${idOrName}`, 404);
    await this.audit({ ...by, action: "token.revoke", target: idOrName, detail: { ids: revoked.map((t) => t.id) } });
    return revoked;
  }
}

