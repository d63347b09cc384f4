// The demo's alert receiver (`npm start`): a small HTTP server on loopback, configured as the fleet's webhook
// channel, that checks each delivery's signature and prints every alert it carries as one line on the terminal:
//   notify: raised warning door-open on snacks-01: door open outside service (signature ok)
// It is also the example of a webhook receiver an operator writes (apps/fleet/README.md, "Webhook"): HMAC-SHA256
// over `<X-Zapvend-Timestamp>.<raw body>` with the channel's secret, compared in constant time, a timestamp older
// than 5 minutes refused, a delivery id seen before (a retry whose 200 was lost) answered but not printed again.
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";

const MAX_BODY = 256 * 1024;
const MAX_AGE_MS = 5 * 60_000;
export const NOTIFY_PATH = "/zapvend-alerts";

/** True when `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `<timestamp>.<rawBody>` with `secret`. */
export function signatureOk(secret, timestamp, rawBody, signature) {
  const want = Buffer.from(`sha256=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`);
  const got = Buffer.from(String(signature ?? ""));
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The printed lines of one delivery: one per alert (a digest carries several). */
export function alertLines(body) {
  const oneLine = (t) => String(t ?? "").replace(/\s+/g, " ").trim();
  // A message without alerts (the console's "send a test"): its title and text.
  if (!Array.isArray(body.alerts) || body.alerts.length === 0) return [`notify: ${oneLine(body.title)}: ${oneLine(body.text)} (signature ok)`];
  return body.alerts.map((a) => `notify: ${a.event ?? body.event} ${a.severity} ${a.kind} on ${a.machineId}: ${oneLine(a.message)} (signature ok)`);
}

/**
 * Starts the receiver on 127.0.0.1:`port` (0: any free port). `print` gets each alert line; `warn` each refused
 * delivery. Resolves with `{url, close}` once it listens.
 */
export function startNotifyReceiver({ port, secret, print, warn, now = Date.now }) {
  const seen = new Set();
  const server = http.createServer((req, res) => {
    const answer = (status, text) => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(text);
    };
    if (req.method !== "POST" || req.url !== NOTIFY_PATH) return answer(404, "not here");
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const ts = String(req.headers["x-zapvend-timestamp"] ?? "");
      if (!signatureOk(secret, ts, raw, req.headers["x-zapvend-signature"])) {
        warn("a delivery with a bad or missing signature was refused (401)");
        return answer(401, "bad signature");
      }
      if (!/^[0-9]{1,16}$/.test(ts) || Math.abs(now() - Number(ts)) > MAX_AGE_MS) {
        warn(`a delivery with an old timestamp (${ts}) was refused (401)`);
        return answer(401, "old timestamp");
      }
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        return answer(400, "not JSON");
      }
      const id = String(req.headers["x-zapvend-delivery"] ?? body.id ?? "");
      if (!seen.has(id)) {
        seen.add(id);
        if (seen.size > 10_000) seen.delete(seen.values().next().value);
        for (const line of alertLines(body)) print(line);
      }
      answer(200, "ok");
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const { port: bound } = server.address();
      resolve({ url: `http://127.0.0.1:${bound}${NOTIFY_PATH}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
