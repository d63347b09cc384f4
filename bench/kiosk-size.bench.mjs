// The JavaScript of the kiosk (lit, the QR encoder, the service menu and the app), gzip-compressed, against its 40 KB
// budget (issue 7). Reads the build output of `npm run build` (apps/kiosk/dist/kiosk).
//
// The build splits the code: index.html loads the entry and preloads the chunks it imports (`<link
// rel="modulepreload">`); the QR encoder and the service menu are chunks imported later. "kiosk JS, gzip" counts every
// .js file of the build, each compressed apart (what a session downloads at most, a little more than one file would
// be); "kiosk JS first load, gzip" counts what index.html loads before the first paint, inline scripts included.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET_GZIP_BYTES = 40 * 1024;

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

export default async function kioskSize() {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../apps/kiosk/dist/kiosk");
  const html = readFileSync(path.join(dir, "index.html"), "utf8");
  const present = new Set(readdirSync(dir));
  // Scripts and module preloads index.html loads: what the Pi downloads and parses before the first paint.
  const first = [
    ...[...html.matchAll(/<script[^>]*\ssrc="\.?\/?([^"]+)"/g)].map((m) => m[1]),
    ...[...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="\.?\/?([^"]+)"/g)].map((m) => m[1]),
  ];
  if (first.length === 0) throw new Error("index.html loads no script");
  let firstGzip = 0;
  for (const s of first) {
    if (!present.has(s)) throw new Error(`index.html loads ${s}, which the build did not produce`);
    firstGzip += gz(readFileSync(path.join(dir, s)));
  }
  for (const m of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) firstGzip += gz(Buffer.from(m[1]));
  let raw = 0;
  let gzip = 0;
  for (const f of present) {
    if (!f.endsWith(".js")) continue;
    const bytes = readFileSync(path.join(dir, f));
    raw += bytes.length;
    gzip += gz(bytes);
  }
  return [
    { name: "kiosk JS, gzip", value: gzip, unit: "bytes", baseline: BUDGET_GZIP_BYTES, ratio: +(gzip / BUDGET_GZIP_BYTES).toFixed(3) },
    { name: "kiosk JS first load, gzip", value: firstGzip, unit: "bytes" },
    { name: "kiosk JS, minified", value: raw, unit: "bytes" },
  ];
}
