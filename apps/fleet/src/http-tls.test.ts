// HTTPS from a configured certificate and key, the cookie flags under TLS and plain HTTP, and the trusted-proxy
// setting: X-Forwarded-For / X-Forwarded-Proto believed only from a listed proxy.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FleetSecurity } from "@zapvend/protocol";
import { testAuth } from "./__fixtures__/auth.js";
import { raw } from "./__fixtures__/raw-http.js";
import { RecordingLink } from "./__fixtures__/recording-link.js";
import { missingService } from "./__fixtures__/services.js";
import { engines } from "./__fixtures__/stores.js";
import { FleetService } from "./fleet-service.js";
import { FleetHttpServer } from "./http-server.js";

const PASSWORD = "tls test password!";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const SKIP = missingService("fleet TLS", hasOpenssl(), "no openssl to make a test certificate (apt-get install openssl)");

describe("fleet HTTPS, cookies and proxies", () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  async function serve(security: Partial<FleetSecurity>): Promise<FleetHttpServer> {
    const opened = await engines[0]!.open();
    const service = new FleetService({ store: opened.store, link: new RecordingLink(), alertIntervalMs: 60_000 });
    await service.start();
    const sec = FleetSecurity.parse(security);
    const http = new FleetHttpServer({ service, port: 0, security: sec, auth: testAuth(service, sec) });
    await http.start();
    stops.push(async () => {
      await http.stop();
      await service.stop();
      await opened.cleanup();
    });
    await http.auth.addUser("op", "operator", PASSWORD, { actor: "test", address: null });
    return http;
  }

  it.skipIf(SKIP !== null)("serves HTTPS from the configured certificate, with a Secure cookie and HSTS", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "zapvend-tls-"));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    const certPath = path.join(dir, "cert.pem");
    const keyPath = path.join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    const http = await serve({ tls: { certPath, keyPath } });
    expect(http.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = JSON.stringify({ username: "op", password: PASSWORD });
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      const req = https.request(`${http.url}/api/login`, { method: "POST", ca: readFileSync(certPath), headers: { "content-type": "application/json", origin: http.url, "content-length": Buffer.byteLength(body) } }, (r) => {
        let text = "";
        r.on("data", (c: Buffer) => (text += c.toString()));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, headers: r.headers, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(res.status, res.text).toBe(200);
    expect(String((res.headers["set-cookie"] as string[])[0])).toMatch(/^zapvend_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
    expect(res.headers["strict-transport-security"]).toBe("max-age=31536000");
    // The origins allowed by default are the fleet's own https ones: the http origin of the same port is not.
    expect([...http.guardSettings.origins]).toContain(http.url);
    expect([...http.guardSettings.origins]).not.toContain(http.url.replace("https", "http"));
  });

  it("sets no Secure flag on plain HTTP, and believes X-Forwarded-For/-Proto only from a trusted proxy", async () => {
    const direct = await serve({});
    const login = (http: FleetHttpServer, headers: Record<string, string> = {}) =>
      raw(http.url, "POST", "/api/login", { "content-type": "application/json", origin: http.url, ...headers }, JSON.stringify({ username: "op", password: PASSWORD }));
    const plain = await login(direct, { "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https" });
    expect(plain.status).toBe(200);
    expect(String(plain.headers["set-cookie"]?.[0])).not.toContain("Secure");
    expect((await direct.auth.listAudit({ action: "login" }))[0]!.address).toBe("127.0.0.1");

    const proxied = await serve({ trustedProxies: ["127.0.0.1"], allowedOrigins: ["https://fleet.example.com"], allowedHosts: ["fleet.example.com", "127.0.0.1"] });
    const via = await login(proxied, { origin: "https://fleet.example.com", host: "fleet.example.com", "x-forwarded-for": "198.51.100.1, 203.0.113.9", "x-forwarded-proto": "https" });
    expect(via.status, via.text).toBe(200);
    expect(String(via.headers["set-cookie"]?.[0])).toContain("; Secure");
    // The right-most address the trusted proxy saw, not what the client wrote first.
    expect((await proxied.auth.listAudit({ action: "login" }))[0]!.address).toBe("203.0.113.9");
    // The configured origin replaces the default ones.
    expect((await login(proxied)).status).toBe(403);
  });
});
