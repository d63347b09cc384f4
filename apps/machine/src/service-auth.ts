// The technician's PIN for the kiosk service menu. The config holds only a scrypt hash; a login gives a short-lived
// bearer token. Repeated wrong PINs lock the menu for a while: a 4-6 digit PIN must not be guessable at the screen.
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

const N = 16_384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

/** `scrypt$N$r$p$salt$hash` (base64url), as `zapvend-machine hash-pin` prints it. */
export function hashPin(pin: string): string {
  if (!/^[0-9]{4,12}$/.test(pin)) throw new RangeError("a PIN is 4 to 12 digits");
  const salt = randomBytes(16);
  const hash = scryptSync(pin, salt, KEY_LEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

export function verifyPin(pin: string, stored: string): boolean {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (!n || !r || !p || n > 1 << 20) return false;
  const salt = Buffer.from(parts[4]!, "base64url");
  const expected = Buffer.from(parts[5]!, "base64url");
  if (expected.length !== KEY_LEN || pin.length > 64) return false;
  const actual = scryptSync(pin, salt, KEY_LEN, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  return timingSafeEqual(actual, expected);
}

export interface ServiceAuthOptions {
  pinHash: string | undefined;
  now: () => number;
  /** Token lifetime, ms. Default 10 minutes. */
  tokenTtlMs?: number;
  /** Wrong PINs before a lockout. Default 5. */
  maxFailures?: number;
  /** Lockout, ms. Default 5 minutes. */
  lockoutMs?: number;
  /**
   * Each lockout in a row (no right PIN between them) lasts twice the one before, up to `maxLockoutMs`. For a menu
   * the PIN alone opens (an MDB machine with `serviceAccess: "pin"`): without a door in front of the PIN pad, a fixed
   * 5 minutes would let anyone at the screen try 1,440 PINs a day. Default false.
   */
  escalate?: boolean;
  /** Longest escalated lockout, ms. Default 24 hours. */
  maxLockoutMs?: number;
}

export type LoginResult = { ok: true; token: string; expiresAt: number } | { ok: false; code: "no_pin_configured" | "wrong_pin" | "locked"; retryAt?: number };

export class ServiceAuth {
  private readonly tokens = new Map<string, number>();
  private failures = 0;
  private lockedUntil = 0;
  /** Lockouts in a row since the last right PIN. */
  private lockouts = 0;

  constructor(private readonly opts: ServiceAuthOptions) {}

  login(pin: string): LoginResult {
    const now = this.opts.now();
    if (!this.opts.pinHash) return { ok: false, code: "no_pin_configured" };
    if (now < this.lockedUntil) return { ok: false, code: "locked", retryAt: this.lockedUntil };
    if (!verifyPin(pin, this.opts.pinHash)) {
      this.failures++;
      if (this.failures >= (this.opts.maxFailures ?? 5)) {
        this.failures = 0;
        const base = this.opts.lockoutMs ?? 300_000;
        const ms = this.opts.escalate ? Math.min(base * 2 ** this.lockouts, this.opts.maxLockoutMs ?? 86_400_000) : base;
        this.lockouts++;
        this.lockedUntil = now + ms;
        return { ok: false, code: "locked", retryAt: this.lockedUntil };
      }
      return { ok: false, code: "wrong_pin" };
    }
    this.failures = 0;
    this.lockouts = 0;
    const token = randomBytes(24).toString("base64url");
    const expiresAt = now + (this.opts.tokenTtlMs ?? 600_000);
    this.tokens.set(token, expiresAt);
    return { ok: true, token, expiresAt };
  }

  /** True when the `Authorization: Bearer <token>` header carries a live token. */
  check(authorization: string | undefined): boolean {
    const m = /^Bearer ([A-Za-z0-9_-]{16,64})$/.exec(authorization ?? "");
    if (!m) return false;
    const exp = this.tokens.get(m[1]!);
    if (exp === undefined) return false;
    if (this.opts.now() >= exp) {
      this.tokens.delete(m[1]!);
      return false;
    }
    return true;
  }

  /** Ends every session (the door closed). */
  revokeAll(): void {
    this.tokens.clear();
  }

  logout(authorization: string | undefined): void {
    const m = /^Bearer (.+)$/.exec(authorization ?? "");
    if (m) this.tokens.delete(m[1]!);
  }
}
