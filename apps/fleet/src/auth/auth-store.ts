// The accounts, API tokens, sessions and audit trail in the fleet's database (migration 4), over the same SqlDb as
// the fleet store so it runs on SQLite and PostgreSQL alike. Secrets are stored only as hashes: passwords with
// scrypt (passwords.ts), session ids and token secrets with SHA-256 (they are 256-bit random values, so a fast hash
// is enough: nothing to brute-force).
import { randomUUID } from "node:crypto";
import type { AuditEntry, FleetRole, TokenView, UserView } from "@zapvend/protocol";
import { num, numOrNull, str, strOrNull, type Row, type SqlDb, type SqlValue } from "../store/db.js";

export interface UserRecord {
  name: string;
  role: FleetRole;
  passwordHash: string;
  totpSecret: string | null;
  totpPending: string | null;
  createdAt: number;
  lastLoginAt: number | null;
}

export interface TokenRecord extends TokenView {
  secretHash: string;
}

export interface SessionRecord {
  idHash: string;
  user: string;
  csrfToken: string;
  createdAt: number;
  lastSeen: number;
  expiresAt: number;
  address: string | null;
}

export interface AuditInput {
  at: number;
  actor: string;
  address: string | null;
  action: string;
  target?: string | null;
  ok?: boolean;
  detail?: Record<string, unknown>;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  fromMs?: number;
  toMs?: number;
  /** Rows with `seq` below this (paging, newest first). */
  beforeSeq?: number;
  limit?: number;
}

function userOf(r: Row): UserRecord {
  return {
    name: str(r.name),
    role: str(r.role) as FleetRole,
    passwordHash: str(r.password_hash),
    totpSecret: strOrNull(r.totp_secret),
    totpPending: strOrNull(r.totp_pending),
    createdAt: num(r.created_at),
    lastLoginAt: numOrNull(r.last_login_at),
  };
}

function tokenOf(r: Row): TokenRecord {
  return {
    id: str(r.id),
    name: str(r.name),
    role: str(r.role) as FleetRole,
    secretHash: str(r.secret_hash),
    createdAt: num(r.created_at),
    createdBy: str(r.created_by),
    lastUsedAt: numOrNull(r.last_used_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

function sessionOf(r: Row): SessionRecord {
  return {
    idHash: str(r.id_hash),
    user: str(r.user_name),
    csrfToken: str(r.csrf_token),
    createdAt: num(r.created_at),
    lastSeen: num(r.last_seen),
    expiresAt: num(r.expires_at),
    address: strOrNull(r.address),
  };
}

export class AuthStore {
  constructor(readonly db: SqlDb) {}

  // ---------------------------------------------------------------- users

  /** false when the name is taken. */
  async addUser(name: string, role: FleetRole, passwordHash: string, nowMs: number): Promise<boolean> {
    const r = await this.db.run("INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING", [name, role, passwordHash, nowMs]);
    return r.changes === 1;
  }

  async getUser(name: string): Promise<UserRecord | null> {
    const rows = await this.db.all("SELECT * FROM users WHERE name = ?", [name]);
    return rows[0] ? userOf(rows[0]) : null;
  }

  async listUsers(nowMs: number): Promise<UserView[]> {
    const rows = await this.db.all(
      "SELECT u.*, (SELECT COUNT(*) FROM sessions s WHERE s.user_name = u.name AND s.expires_at > ?) AS n FROM users u ORDER BY u.name",
      [nowMs],
    );
    return rows.map((r) => {
      const u = userOf(r);
      return { name: u.name, role: u.role, totp: u.totpSecret !== null, createdAt: u.createdAt, lastLoginAt: u.lastLoginAt, sessions: num(r.n) };
    });
  }

  async countAdmins(): Promise<number> {
    return num((await this.db.all("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'"))[0]!.n);
  }

  async updateUser(name: string, change: { role?: FleetRole; passwordHash?: string; totpSecret?: string | null; totpPending?: string | null }): Promise<boolean> {
    const sets: string[] = [];
    const params: SqlValue[] = [];
    if (change.role !== undefined) {
      sets.push("role = ?");
      params.push(change.role);
    }
    if (change.passwordHash !== undefined) {
      sets.push("password_hash = ?");
      params.push(change.passwordHash);
    }
    if (change.totpSecret !== undefined) {
      sets.push("totp_secret = ?");
      params.push(change.totpSecret);
    }
    if (change.totpPending !== undefined) {
      sets.push("totp_pending = ?");
      params.push(change.totpPending);
    }
    if (sets.length === 0) return (await this.getUser(name)) !== null;
    const r = await this.db.run(`UPDATE users SET ${sets.join(", ")} WHERE name = ?`, [...params, name]);
    return r.changes === 1;
  }

  async recordLogin(name: string, nowMs: number): Promise<void> {
    await this.db.run("UPDATE users SET last_login_at = ? WHERE name = ?", [nowMs, name]);
  }

  /** Removes the user and every session of theirs (the audit keeps their name). */
  async removeUser(name: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.run("DELETE FROM sessions WHERE user_name = ?", [name]);
      return (await tx.run("DELETE FROM users WHERE name = ?", [name])).changes === 1;
    });
  }

  // ---------------------------------------------------------------- tokens

  async addToken(t: Omit<TokenRecord, "lastUsedAt" | "revokedAt">): Promise<void> {
    await this.db.run("INSERT INTO api_tokens (id, name, role, secret_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)", [
      t.id,
      t.name,
      t.role,
      t.secretHash,
      t.createdAt,
      t.createdBy,
    ]);
  }

  async tokenBySecretHash(secretHash: string): Promise<TokenRecord | null> {
    const rows = await this.db.all("SELECT * FROM api_tokens WHERE secret_hash = ?", [secretHash]);
    return rows[0] ? tokenOf(rows[0]) : null;
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const rows = await this.db.all("SELECT * FROM api_tokens WHERE id = ?", [id]);
    return rows[0] ? tokenOf(rows[0]) : null;
  }

  async listTokens(): Promise<TokenView[]> {
    return (await this.db.all("SELECT * FROM api_tokens ORDER BY created_at, id")).map((r) => {
      const { secretHash: _s, ...view } = tokenOf(r);
      return view;
    });
  }

  /** Revokes by id, or by name (every live token of that name). Returns the tokens revoked. */
  async revokeToken(idOrName: string, nowMs: number): Promise<TokenView[]> {
    const rows = await this.db.all("SELECT * FROM api_tokens WHERE (id = ? OR name = ?) AND revoked_at IS NULL", [idOrName, idOrName]);
    for (const r of rows) await this.db.run("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [nowMs, str(r.id)]);
    return rows.map((r) => {
      const { secretHash: _s, ...view } = tokenOf(r);
      return { ...view, revokedAt: nowMs };
    });
  }

  async touchToken(id: string, nowMs: number): Promise<void> {
    await this.db.run("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [nowMs, id]);
  }

  // ---------------------------------------------------------------- sessions

  async createSession(s: SessionRecord): Promise<void> {
    await this.db.run("INSERT INTO sessions (id_hash, user_name, csrf_token, created_at, last_seen, expires_at, address) VALUES (?, ?, ?, ?, ?, ?, ?)", [
      s.idHash,
      s.user,
      s.csrfToken,
      s.createdAt,
      s.lastSeen,
      s.expiresAt,
      s.address,
    ]);
  }

  async getSession(idHash: string): Promise<SessionRecord | null> {
    const rows = await this.db.all("SELECT * FROM sessions WHERE id_hash = ?", [idHash]);
    return rows[0] ? sessionOf(rows[0]) : null;
  }

  async touchSession(idHash: string, nowMs: number): Promise<void> {
    await this.db.run("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", [nowMs, idHash]);
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.run("DELETE FROM sessions WHERE id_hash = ?", [idHash]);
  }

  async deleteSessionsOf(user: string): Promise<number> {
    return (await this.db.run("DELETE FROM sessions WHERE user_name = ?", [user])).changes;
  }

  /** Deletes sessions past their absolute expiry or idle for longer than `idleMs`. */
  async pruneSessions(nowMs: number, idleMs: number): Promise<number> {
    return (await this.db.run("DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?", [nowMs, nowMs - idleMs])).changes;
  }

  // ---------------------------------------------------------------- login failures (per account, shared by every fleet server)

  /** Until when the account is locked (epoch ms), 0 when it is not. */
  async accountLockedUntil(account: string, nowMs: number): Promise<number> {
    const rows = await this.db.all("SELECT locked_until FROM login_failures WHERE account = ?", [account]);
    const until = rows[0] ? num(rows[0].locked_until) : 0;
    return until > nowMs ? until : 0;
  }

  /**
   * Counts a failed login of `account` in one atomic upsert (two fleet servers counting at once both count): the
   * `limit.max`-th failure inside a window of `limit.windowMs` (begun by the window's first failure) locks the account
   * for `limit.lockMs` and starts the count afresh. True when this failure locked it.
   */
  async countAccountFailure(account: string, nowMs: number, limit: { max: number; windowMs: number; lockMs: number }): Promise<boolean> {
    const lockAt = nowMs + limit.lockMs;
    const cut = nowMs - limit.windowMs;
    // `n`: this failure's number in its window (the window restarts when the last one began before `cut`).
    const n = "(CASE WHEN login_failures.window_start <= ? THEN 1 ELSE login_failures.failures + 1 END)";
    const first = limit.max <= 1;
    // In a transaction: the SQLite adapter's plain `all` is not serialised with the ingest's open transaction.
    const rows = await this.db.transaction((tx) => tx.all(
      `INSERT INTO login_failures (account, failures, window_start, locked_until) VALUES (?, ?, ?, ?)
       ON CONFLICT (account) DO UPDATE SET
         locked_until = CASE WHEN ${n} >= ? THEN ? ELSE login_failures.locked_until END,
         failures = CASE WHEN ${n} >= ? THEN 0 ELSE ${n} END,
         window_start = CASE WHEN login_failures.window_start <= ? THEN ? ELSE login_failures.window_start END
       RETURNING locked_until`,
      [account, first ? 0 : 1, nowMs, first ? lockAt : 0, cut, limit.max, lockAt, cut, limit.max, cut, cut, nowMs],
    ));
    return rows[0] !== undefined && num(rows[0].locked_until) === lockAt;
  }

  /** A successful login forgets the account's failures. */
  async clearAccountFailures(account: string): Promise<void> {
    await this.db.run("DELETE FROM login_failures WHERE account = ?", [account]);
  }

  /** Deletes counts that can no longer lock anything (unlocked, window over): guessed names do not pile up. */
  async pruneLoginFailures(nowMs: number, windowMs: number): Promise<number> {
    return (await this.db.run("DELETE FROM login_failures WHERE locked_until <= ? AND window_start <= ?", [nowMs, nowMs - windowMs])).changes;
  }

  // ---------------------------------------------------------------- audit

  async appendAudit(e: AuditInput): Promise<AuditEntry> {
    const id = randomUUID();
    const detail = e.detail ?? {};
    const ok = e.ok ?? true;
    await this.db.run("INSERT INTO audit (id, at, actor, address, action, target, ok, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
      id,
      e.at,
      e.actor,
      e.address,
      e.action,
      e.target ?? null,
      ok ? 1 : 0,
      JSON.stringify(detail),
    ]);
    return { id, at: e.at, actor: e.actor, address: e.address, action: e.action, target: e.target ?? null, ok, detail };
  }

  /** Newest first. `action` matches a prefix (`user` matches `user.add`, `user.remove`, ...). */
  async listAudit(f: AuditFilter = {}): Promise<Array<AuditEntry & { seq: number }>> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (f.actor !== undefined) {
      where.push("actor = ?");
      params.push(f.actor);
    }
    if (f.action !== undefined) {
      where.push("(action = ? OR action LIKE ?)");
      params.push(f.action, `${f.action.replace(/[%_]/g, "")}.%`);
    }
    if (f.target !== undefined) {
      where.push("target = ?");
      params.push(f.target);
    }
    if (f.fromMs !== undefined) {
      where.push("at >= ?");
      params.push(f.fromMs);
    }
    if (f.toMs !== undefined) {
      where.push("at < ?");
      params.push(f.toMs);
    }
    if (f.beforeSeq !== undefined) {
      where.push("seq < ?");
      params.push(f.beforeSeq);
    }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    const rows = await this.db.all(sql, [...params, Math.max(1, Math.min(f.limit ?? 500, 100_000))]);
    return rows.map((r) => ({
      seq: num(r.seq),
      id: str(r.id),
      at: num(r.at),
      actor: str(r.actor),
      address: strOrNull(r.address),
      action: str(r.action),
      target: strOrNull(r.target),
      ok: num(r.ok) === 1,
      detail: JSON.parse(str(r.detail)) as Record<string, unknown>,
    }));
  }
}
