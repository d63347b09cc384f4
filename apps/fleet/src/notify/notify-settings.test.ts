// Notification settings edited over the API (issue #18), on SQLite and PostgreSQL: the config file's settings are
// shown without their secrets, an edit that leaves a secret out keeps it, the stored settings win and every server
// on the database follows them, a stale edit is refused, "send a test" reaches a real loopback webhook (signed) and
// is logged, a delete goes back to the file; and two servers holding the same alert for the digest send it once.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseFleetConfig, type FleetConfig } from "@zapvend/protocol";
import { DEFAULT_ALERT_SETTINGS } from "../alerts.js";
import { bearer } from "../__fixtures__/auth.js";
import { startReceiver, type Receiver } from "../__fixtures__/http-receiver.js";
import { birth } from "../__fixtures__/messages.js";
import { RecordingLink } from "../__fixtures__/recording-link.js";
import { engines } from "../__fixtures__/stores.js";
import { pgUrl } from "../__fixtures__/stores.js";
import { silentLogger, systemClock } from "../clock.js";
import { FleetServer } from "../server.js";
import type { NotifySettingsAnswer } from "./notify-routes.js";
import { Notifier } from "./notifier.js";
import { EMPTY_NOTIFICATIONS, NotifySettingsStore } from "./settings.js";
import { verifyWebhook } from "./webhook.js";

const SECRET = "the-config-file-webhook-secret";

for (const engine of engines) {
  describe.skipIf(engine.skip !== null)(`notification settings over the API (${engine.name})`, () => {
    let dir: string;
    let schema: string;
    let receiver: Receiver;
    let config: FleetConfig;
    let server: FleetServer;
    let auth: Record<string, string>;

    beforeEach(async () => {
      dir = mkdtempSync(path.join(tmpdir(), "zapvend-notify-settings-"));
      writeFileSync(path.join(dir, "key.pem"), generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString());
      receiver = await startReceiver();
      schema = `zapvend_nset_${process.pid}_${Date.now().toString(36)}`;
      let database = path.join(dir, "fleet.db");
      if (engine.name === "postgres") {
        const u = new URL(pgUrl!);
        u.searchParams.set("schema", schema);
        database = u.toString();
      }
      const cfg = parseFleetConfig({
        http: { host: "127.0.0.1", port: 0 },
        database,
        operatorKey: { keyId: "op", privateKeyPath: path.join(dir, "key.pem") },
        notifications: {
          channels: { hook: { type: "webhook", url: `${receiver.url}/hook`, secret: SECRET } },
          groups: { technicians: ["hook"] },
          routes: [{ kinds: ["door-open"], to: ["technicians"] }],
        },
      });
      if (!cfg.ok) throw new Error(cfg.error.message);
      config = cfg.value;
      server = new FleetServer({ config, log: silentLogger, link: new RecordingLink() });
      await server.start();
      auth = await bearer(server.auth, "operator");
    });

    afterEach(async () => {
      await server.stop();
      await receiver.close();
      if (engine.name === "postgres") {
        const c = new pg.Client({ connectionString: pgUrl });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
      }
      rmSync(dir, { recursive: true, force: true });
    });

    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${server.url}${p}`, {
        method,
        headers: { ...auth, ...(body !== undefined ? { "content-type": "application/json", origin: server.url } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
    };

    it("shows the file's settings without secrets, keeps an omitted secret on edit, refuses a stale edit, and goes back to the file on delete", async () => {
      const first = await call("GET", "/api/notifications/settings");
      expect(first.status).toBe(200);
      expect(first.text).not.toContain(SECRET);
      const view = first.json as unknown as NotifySettingsAnswer;
      expect(view).toMatchObject({ source: "config", version: 0, configFile: true });
      expect(view.settings.channels.hook).toEqual({ type: "webhook", url: `${receiver.url}/hook`, secretSet: true });

      // Edit a route as the page does: the view sent back (with its `secretSet` flag, no secret) and one change.
      const edited = { ...view.settings, routes: [{ kinds: ["door-open", "temperature"], when: "any", to: ["technicians"] }] };
      const saved = await call("PUT", "/api/notifications/settings", { version: 0, settings: edited });
      expect(saved.status).toBe(200);
      expect(saved.text).not.toContain(SECRET);
      expect(saved.json).toMatchObject({ source: "store", version: 1, updatedBy: expect.stringContaining("token:") });
      expect(server.notifier.settings.routes[0]!.kinds).toEqual(["door-open", "temperature"]);
      expect(server.notifier.settings.channels.hook).toMatchObject({ secret: SECRET });
      const audit = await server.auth.listAudit({ action: "notifications.edit", limit: 5 });
      expect(audit[0]).toMatchObject({ ok: true, detail: { version: 1, secretsChanged: [] } });
      expect(JSON.stringify(audit)).not.toContain(SECRET);

      // Another server on the same database follows the stored settings.
      const other = new Notifier({ config: EMPTY_NOTIFICATIONS, settings: new NotifySettingsStore(server.service.store.db), alertSettings: DEFAULT_ALERT_SETTINGS, db: server.service.store.db, log: silentLogger });
      expect(await other.refresh()).toBe(1);
      expect(other.settingsFrom).toBe("store");
      expect(other.settings.routes[0]!.kinds).toEqual(["door-open", "temperature"]);

      // Someone else saved in between: refused, not overwritten.
      const stale = await call("PUT", "/api/notifications/settings", { version: 0, settings: edited });
      expect(stale.status).toBe(409);
      expect(stale.json).toMatchObject({ error: { code: "settings_conflict" } });
      // A route to a group that does not exist: refused with the path.
      const bad = await call("PUT", "/api/notifications/settings", { version: 1, settings: { ...edited, routes: [{ to: ["nobody"] }] } });
      expect(bad.status).toBe(400);
      expect(bad.json).toMatchObject({ error: { code: "bad_value" } });
      // A new secret replaces the old one; the audit names the channel, not the value.
      const rotated = await call("PUT", "/api/notifications/settings", { version: 1, settings: { ...edited, channels: { hook: { type: "webhook", url: `${receiver.url}/hook`, secret: "a-brand-new-secret-value" } } } });
      expect(rotated.status).toBe(200);
      expect(server.notifier.settings.channels.hook).toMatchObject({ secret: "a-brand-new-secret-value" });
      expect((await server.auth.listAudit({ action: "notifications.edit", limit: 1 }))[0]).toMatchObject({ detail: { version: 2, secretsChanged: ["hook"] } });

      const reset = await call("DELETE", "/api/notifications/settings", {});
      expect(reset.status).toBe(200);
      expect(reset.json).toMatchObject({ source: "config", version: 3 });
      expect(server.notifier.settings.routes[0]!.kinds).toEqual(["door-open"]);
      expect(await other.refresh()).toBe(3);
      expect(other.settingsFrom).toBe("none"); // that server's file has no notifications
    });

    it("sends a signed test to the webhook, logs it, and names an unknown channel", async () => {
      const res = await call("POST", "/api/notifications/channels/hook/test", {});
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ channel: "hook", ok: true, status: "200", error: null });
      expect(receiver.requests).toHaveLength(1);
      const r = receiver.requests[0]!;
      expect(verifyWebhook(SECRET, String(r.headers["x-zapvend-timestamp"]), r.body, String(r.headers["x-zapvend-signature"]))).toBe(true);
      expect(JSON.parse(r.body)).toMatchObject({ event: "test", alerts: [] });
      const log = await call("GET", "/api/notifications/deliveries?channel=hook");
      expect(log.json).toMatchObject([{ event: "test", channel: "hook", ok: true, status: "200" }]);
      const unknown = await call("POST", "/api/notifications/channels/nope/test", {});
      expect(unknown.status).toBe(404);
      expect(unknown.json).toMatchObject({ error: { code: "notify_unknown_channel" } });
      expect((await server.auth.listAudit({ action: "notifications.test", limit: 5 }))[0]).toMatchObject({ ok: true, target: "hook" });
    });

    it("sends an alert held for the digest by two servers once (claims), and none another server cleared", async () => {
      await server.service.ingest([birth("m-claims")]);
      const alert = await server.service.store.raiseAlert({ id: randomUUID(), machineId: "m-claims", kind: "no-sales", subject: "", severity: "info", message: "quiet machine" }, Date.now());
      expect(alert).not.toBeNull();
      const db = server.service.store.db;
      const settings = { ...config.notifications!, routes: [{ kinds: ["no-sales" as const], when: "any" as const, to: ["technicians"] }] };
      const make = () => new Notifier({ config: settings, alertSettings: DEFAULT_ALERT_SETTINGS, db, clock: systemClock, log: silentLogger });
      const [one, two] = [make(), make()];
      // Both servers restarted: each puts back the alert nobody was told about.
      expect(await one.recover([alert!])).toBe(1);
      expect(await two.recover([alert!])).toBe(1);
      const [a, b] = await Promise.all([one.flushDigest(), two.flushDigest()]);
      expect([...a, ...b].filter((o) => o.ok)).toHaveLength(1);
      expect(receiver.requests).toHaveLength(1);
      expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ event: "digest", alerts: [{ id: alert!.id }] });

      // Held by one server, cleared by another: the digest leaves it out.
      const later = await server.service.store.raiseAlert({ id: randomUUID(), machineId: "m-claims", kind: "no-sales", subject: "x", severity: "info", message: "quiet again" }, Date.now());
      expect(await one.recover([later!])).toBe(1);
      await server.service.store.clearAlert(later!.id, Date.now());
      expect(await one.flushDigest()).toEqual([]);
      expect(receiver.requests).toHaveLength(1);
    });
  });
}
