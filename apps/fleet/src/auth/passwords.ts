// Password hashing with node:crypto's scrypt (RFC 7914), a memory-hard KDF maintained with Node itself: no native
// add-on to build for the Pi's arm64/armv7. The cost is stored with each hash (`scrypt$N$r$p$salt$hash`), so it can
// be raised later: a login whose hash has a lower cost than the current one is re-hashed.
//
// Cost: N = 2^15, r = 8, p = 1 -> 128 * N * r = 32 MiB of memory per hash and about 100-160 ms on this project's
// 2-core CI machine under load (`npm run bench -- fleet-login`, goal p99 <= 300 ms). Why: OWASP's Password Storage
// Cheat Sheet lists N=2^15, r=8, p=3 among the equivalent minimum settings; we keep p = 1 (Node runs the p lanes one
// after the other, so p = 3 would triple the login time on a Pi) and rely on the login rate limit and lockout
// (auth-service.ts) for the rest. Memory: 32 MiB per hash in libuv's thread pool (never on the event loop, so the
// MQTT ingest is not slowed), and at most `MAX_CONCURRENT_HASHES` at once, so a login flood costs at most 64 MiB.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}
export const PASSWORD_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const MAX_CONCURRENT_HASHES = 2;

let running = 0;
const waiting: Array<() => void> = [];

function scryptAsync(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const opts: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 128 * cost.N * cost.r * cost.p + 4 * 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize("NFC"), salt, KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** At most MAX_CONCURRENT_HASHES at a time; the others wait in order. */
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export async function hashPassword(password: string, cost: ScryptCost = PASSWORD_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await limited(() => scryptAsync(password, salt, cost));
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

function parseHash(stored: string): { cost: ScryptCost; salt: Buffer; key: Buffer } | null {
  const m = /^scrypt\$([0-9]{1,8})\$([0-9]{1,3})\$([0-9]{1,3})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return null;
  return { cost: { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }, salt: Buffer.from(m[4]!, "base64url"), key: Buffer.from(m[5]!, "base64url") };
}

/** Whether `password` matches `stored`; a malformed stored hash never matches. Constant-time comparison. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  const key = await limited(() => scryptAsync(password, h.salt, h.cost));
  return key.length === h.key.length && timingSafeEqual(key, h.key);
}

/** Whether a stored hash was made with a lower cost than the current one (re-hash it at the next login). */
export function needsRehash(stored: string, cost: ScryptCost = PASSWORD_COST): boolean {
  const h = parseHash(stored);
  return !h || h.cost.N < cost.N || h.cost.r < cost.r || h.cost.p < cost.p;
}

const dummies = new Map<string, Promise<string>>();
/**
 * A hash of a random password with the given cost: a login for an unknown user is verified against it, so it
 * takes as long as one for a real user and the answer does not tell whether the user exists.
 */
export function dummyHash(cost: ScryptCost = PASSWORD_COST): Promise<string> {
  const key = `${cost.N}/${cost.r}/${cost.p}`;
  let d = dummies.get(key);
  if (!d) dummies.set(key, (d = hashPassword(randomBytes(18).toString("base64url"), cost)));
  return d;
}

/** A random password for `user add` without one: 20 characters of base64url (120 bits). */
export function generatePassword(): string {
  return randomBytes(15).toString("base64url");
}
