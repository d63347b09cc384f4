// `notifications` in the fleet config: FleetServer builds the notifier from it, a raised alert reaches the
// configured webhook, and a restarted server on the same database sends nothing twice but catches up, in the
// next digest, on an open alert no channel was told about.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseFleetConfig, type FleetConfig } from "@zapvend/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../__fixtures__/http-receiver.js";
import { birth, status, telemetry } from "../__fixtures__/messages.js";
import { RecordingLink } from "../__fixtures__/recording-link.js";
import { silentLogger } from "../clock.js";
import { FleetServer } from "../server.js";

describe("FleetServer with notifications", () => {
  let dir: string;
  let receiver: Receiver;
  let config: FleetConfig;
  let server: FleetServer | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "zapvend-fleet-notify-"));
    writeFileSync(path.join(dir, "key.pem"), generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    receiver = await startReceiver();
    const cfg = parseFleetConfig({
      http: { host: "127.0.0.1", port: 0 },
      database: path.join(dir, "fleet.db"),
      operatorKey: { keyId: "op", privateKeyPath: path.join(dir, "key.pem") },
      notifications: {
        channels: { "tech-hook": { type: "webhook", url: `${receiver.url}/hook`, secret: "a-secret-for-the-server-test" } },
        groups: { technicians: ["tech-hook"] },
        routes: [{ kinds: ["door-open"], to: ["technicians"] }],
      },
    });
    if (!cfg.ok) throw new Error(cfg.error.message);
    config = cfg.value;
  });
  afterEach(async () => {
    await server?.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("notifies from the config, once across a restart", async () => {
    server = new FleetServer({ config, log: silentLogger, link: new RecordingLink() });
    await server.start();
    expect(server.notifier).toBeDefined();
    await server.service.ingest([birth("snacks-01"), status("snacks-01", "online", { boot: 1, seq: 1 }), telemetry("snacks-01", { door: "open" })]);
    await expect.poll(() => receiver.requests.length).toBe(1);
    await server.stop();

    server = new FleetServer({ config, log: silentLogger, link: new RecordingLink() });
    await server.start();
    // The open door alert was told: nothing waits for the digest, and re-evaluating raises nothing new.
    expect(server.notifier.waiting).toBe(0);
    await server.service.ingest([telemetry("snacks-01", { door: "open", seq: 3 })]);
    await server.notifier.idle();
    expect(receiver.requests).toHaveLength(1);
  });

  it("without `notifications` (in the file or saved in the console) the notifier has no channel, and the deliveries API answers an empty list", async () => {
    const { notifications: _none, ...plain } = config;
    server = new FleetServer({ config: plain, log: silentLogger, link: new RecordingLink() });
    await server.start();
    expect(server.notifier.settingsFrom).toBe("none");
    expect(Object.keys(server.notifier.settings.channels)).toEqual([]);
    const token = await server.auth.createToken("ops", "operator", { actor: "test", address: null });
    const res = await fetch(`${server.url}/api/notifications/deliveries`, { headers: { authorization: `Bearer ${token.secret}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });
});
