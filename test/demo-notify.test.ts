// The demo's alert receiver (scripts/demo-notify.mjs) against deliveries signed by the fleet's own signer
// (`signWebhook` of apps/fleet): what it prints, and what it refuses (a wrong secret, an old timestamp), over real
// HTTP on loopback. demo.test.ts shows it end to end on `npm start`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signWebhook } from "@zapvend/fleet";
import { startNotifyReceiver } from "../scripts/demo-notify.mjs";

const SECRET = "demo-secret-of-the-test-0123456789";
const printed: string[] = [];
const warned: string[] = [];
let receiver: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  receiver = await startNotifyReceiver({ port: 0, secret: SECRET, print: (l: string) => printed.push(l), warn: (l: string) => warned.push(l) });
});
afterAll(async () => {
  await receiver?.close();
});

const alert = (kind: string, machineId: string, severity: string, message: string, event = "raised") => ({ event, id: `a-${kind}`, machineId, kind, severity, message, raisedAt: 1, clearedAt: null, acknowledgedAt: null });

async function deliver(body: Record<string, unknown>, o: { secret?: string; ts?: number; id?: string } = {}): Promise<number> {
  const raw = JSON.stringify(body);
  const ts = String(o.ts ?? Date.now());
  const res = await fetch(receiver.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-zapvend-timestamp": ts, "x-zapvend-signature": signWebhook(o.secret ?? SECRET, ts, raw), "x-zapvend-delivery": o.id ?? String(body.id) },
    body: raw,
  });
  return res.status;
}

describe("the demo's webhook receiver", () => {
  it("prints each alert of a signed delivery as one line, once per delivery id", async () => {
    const body = { id: "m1", event: "raised", title: "CRITICAL: door-open on snacks-01", text: "...", severity: "critical", alerts: [alert("door-open", "snacks-01", "critical", "the door of snacks-01 is open outside service")], createdAt: 1 };
    expect(await deliver(body)).toBe(200);
    expect(printed).toEqual(["notify: raised critical door-open on snacks-01: the door of snacks-01 is open outside service (signature ok)"]);
    // A retry of the same delivery (its 200 was lost): answered, not printed again.
    expect(await deliver(body)).toBe(200);
    expect(printed).toHaveLength(1);
  });

  it("prints a digest as one line per alert, and a test message by its title", async () => {
    printed.length = 0;
    const digest = {
      id: "m2",
      event: "digest",
      title: "Digest: 2 alerts",
      text: "...",
      severity: "warning",
      alerts: [alert("low-stock", "snacks-01", "warning", "A4 (Nuts) has 1 left"), alert("no-sales", "drinks-01", "info", "no sale on drinks-01 for\n6 h", "resolved")],
      createdAt: 1,
    };
    expect(await deliver(digest)).toBe(200);
    expect(await deliver({ id: "m3", event: "test", title: "Test from the fleet", text: "a test\nof the channel", severity: "info", alerts: [], createdAt: 1 })).toBe(200);
    expect(printed).toEqual([
      "notify: raised warning low-stock on snacks-01: A4 (Nuts) has 1 left (signature ok)",
      "notify: resolved info no-sales on drinks-01: no sale on drinks-01 for 6 h (signature ok)",
      "notify: Test from the fleet: a test of the channel (signature ok)",
    ]);
  });

  it("refuses a delivery signed with another secret, or with an old timestamp, and prints nothing", async () => {
    printed.length = 0;
    const body = { id: "m4", event: "raised", title: "t", text: "t", severity: "critical", alerts: [alert("payments-down", "mdb-01", "critical", "forged")], createdAt: 1 };
    expect(await deliver(body, { secret: "another-secret-0123456789" })).toBe(401);
    // Signed right, but replayed 10 minutes later.
    expect(await deliver(body, { ts: Date.now() - 10 * 60_000, id: "m5" })).toBe(401);
    expect(printed).toEqual([]);
    expect(warned).toEqual([
      "a delivery with a bad or missing signature was refused (401)",
      expect.stringMatching(/^a delivery with an old timestamp \([0-9]+\) was refused \(401\)$/),
    ]);
    // Only POSTs to its path.
    expect((await fetch(receiver.url.replace("/zapvend-alerts", "/other"), { method: "POST", body: "{}" })).status).toBe(404);
  });
});
