// End to end on one fleet: a machine reports its door open, the alert engine raises `door-open`, the notifier
// posts it to a real webhook receiver (which fails once), and `GET /api/notifications/deliveries` shows both
// attempts to an operator while a technician is refused.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bearer } from "../__fixtures__/auth.js";
import { startReceiver, type Receiver } from "../__fixtures__/http-receiver.js";
import { birth, status, telemetry } from "../__fixtures__/messages.js";
import { notifications } from "../__fixtures__/notify.js";
import { engines } from "../__fixtures__/stores.js";
import { DEFAULT_ALERT_SETTINGS } from "../alerts.js";
import { FleetService } from "../fleet-service.js";
import { FleetHttpServer } from "../http-server.js";
import type { DeliveryAttempt } from "./delivery-log.js";
import { Notifier } from "./notifier.js";
import { verifyWebhook } from "./webhook.js";

const SECRET = "an-end-to-end-webhook-secret";

describe("alert notifications through the fleet", () => {
  let service: FleetService;
  let http: FleetHttpServer;
  let notifier: Notifier;
  let receiver: Receiver;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const opened = await engines[0]!.open();
    cleanup = opened.cleanup;
    receiver = await startReceiver([500]);
    service = new FleetService({ store: opened.store, liveIntervalMs: 20, alertIntervalMs: 60_000 });
    await service.start();
    notifier = new Notifier({
      config: notifications({
        channels: { "tech-hook": { type: "webhook", url: `${receiver.url}/hook`, secret: SECRET } },
        groups: { technicians: ["tech-hook"] },
        routes: [{ kinds: ["door-open"], to: ["technicians"] }],
        retryBaseMs: 10,
      }),
      alertSettings: DEFAULT_ALERT_SETTINGS,
      db: opened.store.db,
    });
    notifier.start(service);
    http = new FleetHttpServer({ service, port: 0 });
    await http.start();
  });
  afterEach(async () => {
    await http.stop();
    await notifier.stop();
    await service.stop();
    await receiver.close();
    await cleanup();
  });

  it("tells the technicians once, logs every attempt, and serves the log to operators only", async () => {
    await service.ingest([birth("snacks-01"), status("snacks-01", "online", { boot: 1, seq: 1 }), telemetry("snacks-01", { door: "open" })]);
    await expect.poll(() => receiver.requests.length).toBe(2);
    const last = receiver.requests[1]!;
    expect(verifyWebhook(SECRET, String(last.headers["x-zapvend-timestamp"]), last.body, String(last.headers["x-zapvend-signature"]))).toBe(true);
    expect(JSON.parse(last.body)).toMatchObject({ event: "raised", alerts: [{ machineId: "snacks-01", kind: "door-open" }] });

    const operator = await bearer(http.auth, "operator");
    let rows: DeliveryAttempt[] = [];
    await expect
      .poll(async () => {
        rows = (await (await fetch(`${http.url}/api/notifications/deliveries?channel=tech-hook`, { headers: operator })).json()) as DeliveryAttempt[];
        return rows.length;
      })
      .toBe(2);
    expect(rows.map((r) => [r.attempt, r.ok, r.status])).toEqual([
      [2, true, "200"],
      [1, false, "500"],
    ]);
    const byAlert = await fetch(`${http.url}/api/notifications/deliveries?alert=${rows[0]!.alertIds[0]}`, { headers: operator });
    expect(((await byAlert.json()) as unknown[]).length).toBe(2);

    const tech = await fetch(`${http.url}/api/notifications/deliveries`, { headers: await bearer(http.auth, "technician") });
    expect(tech.status).toBe(403);
    const bad = await fetch(`${http.url}/api/notifications/deliveries?secret=1`, { headers: operator });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "unknown_key" } });

    // The alert is re-evaluated (and acknowledged): still one message.
    await service.ingest([telemetry("snacks-01", { door: "open", seq: 3 })]);
    const open = (await service.store.openAlerts())[0]!;
    await service.acknowledgeAlert(open.id);
    await notifier.idle();
    expect(receiver.requests).toHaveLength(2);
  });
});
