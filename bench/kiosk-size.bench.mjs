// The JavaScript the kiosk loads (lit, the QR encoder and the app, one minified file), gzip-compressed, against its
// 40 KB budget (issue 7). Reads the build output of `npm run build` (apps/kiosk/dist/kiosk).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET_GZIP_BYTES = 40 * 1024;

export default async function kioskSize() {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../apps/kiosk/dist/kiosk");
  const html = readFileSync(path.join(dir, "index.html"), "utf8");
  // Only the scripts index.html loads count: that is what the Pi downloads and parses.
  const scripts = [...html.matchAll(/<script[^>]*\ssrc="\.?\/?([^"]+)"/g)].map((m) => m[1]);
  if (scripts.length === 0) throw new Error("index.html loads no script");
  const present = new Set(readdirSync(dir));
  let raw = 0;
  let gzip = 0;
  for (const s of scripts) {
    if (!present.has(s)) throw new Error(`index.html loads ${s}, which the build did not produce`);
    const bytes = readFileSync(path.join(dir, s));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return [
    { name: "kiosk JS, gzip", value: gzip, unit: "bytes", baseline: BUDGET_GZIP_BYTES, ratio: +(gzip / BUDGET_GZIP_BYTES).toFixed(3) },
    { name: "kiosk JS, minified", value: raw, unit: "bytes" },
  ];
}
