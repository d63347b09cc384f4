// Failed-login counting with lockout per client address (issue #15), in memory: a restart forgets the counts, which
// costs an attacker's guesses nothing but a wait, and each fleet server counts its own (an address spread over N
// servers by a load balancer gets N x the budget, still bounded). The per-account count, which an attacker with many
// addresses could otherwise multiply that way, is in the shared store (`AuthStore.countAccountFailure`).
export interface FailureLimit {
  /** Failures inside `windowMs` that lock the key. */
  max: number;
  windowMs: number;
  /** How long a locked key stays locked. */
  lockMs: number;
}

/** At most this many keys are tracked; the oldest are forgotten first (a flood of random names cannot grow memory). */
const MAX_KEYS = 20_000;

export class FailureCounter {
  private readonly keys = new Map<string, { failures: number[]; lockedUntil: number }>();

  constructor(private readonly limit: FailureLimit) {}

  /** ms until the key unlocks, 0 when it is not locked. */
  lockedFor(key: string, nowMs: number): number {
    const e = this.keys.get(key);
    return e && e.lockedUntil > nowMs ? e.lockedUntil - nowMs : 0;
  }

  /** Counts a failure; true when it locked the key. */
  fail(key: string, nowMs: number): boolean {
    let e = this.keys.get(key);
    if (!e) {
      if (this.keys.size >= MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
      e = { failures: [], lockedUntil: 0 };
    } else this.keys.delete(key); // re-inserted below: the Map's order is the least recently failed first
    this.keys.set(key, e);
    e.failures = e.failures.filter((t) => t > nowMs - this.limit.windowMs);
    e.failures.push(nowMs);
    if (e.failures.length >= this.limit.max) {
      e.lockedUntil = nowMs + this.limit.lockMs;
      e.failures = [];
      return true;
    }
    return false;
  }

  reset(key: string): void {
    this.keys.delete(key);
  }
}
