// The service PIN's lockout: fixed for a menu behind the door, escalating where the PIN alone opens it.
import { describe, expect, it } from "vitest";
import { ServiceAuth, hashPin } from "./service-auth.js";

const PIN = "482916";
const pinHash = hashPin(PIN);

function wrongFive(auth: ServiceAuth): string[] {
  return Array.from({ length: 5 }, () => {
    const r = auth.login("0000");
    return r.ok ? "ok" : r.code;
  });
}

describe("ServiceAuth lockout", () => {
  it("locks for 5 minutes after the fifth wrong PIN, every time (behind a door)", () => {
    let now = 1_000_000;
    const auth = new ServiceAuth({ pinHash, now: () => now });
    expect(wrongFive(auth)).toEqual(["wrong_pin", "wrong_pin", "wrong_pin", "wrong_pin", "locked"]);
    expect(auth.login(PIN)).toMatchObject({ ok: false, code: "locked", retryAt: now + 300_000 });
    now += 300_000;
    expect(wrongFive(auth).at(-1)).toBe("locked");
    expect(auth.login(PIN)).toMatchObject({ ok: false, code: "locked", retryAt: now + 300_000 });
  });

  it("escalate: each lockout in a row doubles, up to the cap; a right PIN starts over", () => {
    let now = 1_000_000;
    const auth = new ServiceAuth({ pinHash, now: () => now, escalate: true, maxLockoutMs: 1_200_000 });
    const lockouts: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(wrongFive(auth).at(-1)).toBe("locked");
      const r = auth.login(PIN);
      if (r.ok || r.retryAt === undefined) throw new Error("expected a lockout");
      lockouts.push(r.retryAt - now);
      now = r.retryAt;
    }
    expect(lockouts).toEqual([300_000, 600_000, 1_200_000, 1_200_000]);
    expect(auth.login(PIN).ok).toBe(true);
    expect(wrongFive(auth).at(-1)).toBe("locked");
    const r = auth.login(PIN);
    expect(r.ok ? 0 : (r.retryAt ?? 0) - now).toBe(300_000);
  });
});
