import { describe, expect, it } from "vitest";
import { parseFleetConfig } from "./index.js";

const base = { database: "/var/lib/zapvend/fleet.db", operatorKey: { keyId: "op", privateKeyPath: "/etc/zapvend/op.key" } };
const notifications = {
  channels: {
    "ops-hook": { type: "webhook", url: "https://ops.example.com/zapvend", secret: "0123456789abcdef0123" },
    "tech-mail": { type: "email", smtp: { host: "smtp.example.com" }, from: "fleet@example.com", to: ["tech@example.com"] },
    "tech-ntfy": { type: "ntfy", server: "https://ntfy.sh", topic: "zapvend-tech-7f3a" },
  },
  groups: { technicians: ["tech-mail", "tech-ntfy"], operator: ["ops-hook"] },
  routes: [
    { kinds: ["door-open"], when: "closed", to: ["technicians"] },
    { kinds: ["no-sales"], to: ["operator"] },
  ],
  quietHours: { tz: "Europe/Paris", days: { sat: ["00:00-24:00"] } },
};

describe("fleet notifications config (issue #18)", () => {
  it("is optional: a config without it parses as before", () => {
    const r = parseFleetConfig(base);
    expect(r.ok && r.value.notifications).toBeUndefined();
  });

  it("parses channels, groups, routes and quiet hours with their defaults", () => {
    const r = parseFleetConfig({ ...base, notifications });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const n = r.value.notifications!;
    expect(n).toMatchObject({ digestSeverities: ["info"], digestIntervalMs: 3_600_000, resolved: true, maxAttempts: 5, retryBaseMs: 2_000 });
    expect(n.channels["tech-mail"]).toMatchObject({ smtp: { port: 587, secure: false } });
    expect(n.routes[1]!.when).toBe("any");
  });

  it("refuses a group naming an unknown channel, a route to an unknown group, a short secret, an unknown kind", () => {
    const bad = (over: Record<string, unknown>) => parseFleetConfig({ ...base, notifications: { ...notifications, ...over } });
    const g = bad({ groups: { technicians: ["tech-pager"] } });
    expect(!g.ok && g.error.message).toContain('unknown channel "tech-pager"');
    expect(bad({ routes: [{ to: ["night-shift"] }] }).ok).toBe(false);
    expect(bad({ channels: { ...notifications.channels, "ops-hook": { type: "webhook", url: "https://x.example", secret: "short" } } }).ok).toBe(false);
    expect(bad({ routes: [{ kinds: ["door-ajar"], to: ["operator"] }] }).ok).toBe(false);
  });
});
