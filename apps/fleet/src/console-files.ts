// The console's static files: the page, its entry module and the chunks the build split off (console-build.mjs).
// Chunk names carry a content hash, so they are cached for good; the page and the entry are not cached, so a new
// build is picked up at the next load.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { FleetError, FleetErrorCode } from "./errors.js";

const NOT_BUILT = "the console is not built (npm run build)";

/** A chunk's file name as esbuild writes it (`chunks/[name]-[hash].js`); nothing else is served from there. */
const CHUNK_NAME = /^[A-Za-z0-9_-]{1,100}\.js$/;

/** The page, with a modulepreload of each chunk the first load imports (one round trip fewer). */
export async function consoleHtml(dir: string | undefined): Promise<string> {
  let preload: string[] = [];
  if (dir) {
    try {
      const manifest = JSON.parse(await readFile(path.join(dir, "console-chunks.json"), "utf8")) as { firstLoad?: unknown };
      if (Array.isArray(manifest.firstLoad)) preload = manifest.firstLoad.filter((f): f is string => typeof f === "string" && f.startsWith("chunks/") && CHUNK_NAME.test(f.slice(7)));
    } catch {
      // An older build without a manifest: the browser follows the entry's imports itself.
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>zapvend fleet</title>
<style>html,body{margin:0;background:#0f1115;color:#e6e6e6;font:14px system-ui,sans-serif}@media print{html,body{background:#fff;color:#000}}</style>
${preload.map((f) => `<link rel="modulepreload" href="/${f}">`).join("\n")}
</head><body><zv-fleet-app></zv-fleet-app><script type="module" src="/console.js"></script></body></html>
`;
}

/** `console.js`, or `chunks/<name>` for a name the build could have written. */
export async function consoleFile(dir: string | undefined, file: string): Promise<{ body: Buffer; immutable: boolean }> {
  if (!dir) throw new FleetError(FleetErrorCode.NOT_FOUND, NOT_BUILT, 404);
  const chunk = file !== "console.js";
  if (chunk && !CHUNK_NAME.test(file)) throw new FleetError(FleetErrorCode.NOT_FOUND, `no console file ${file}`, 404);
  try {
    return { body: await readFile(chunk ? path.join(dir, "chunks", file) : path.join(dir, "console.js")), immutable: chunk };
  } catch {
    throw new FleetError(FleetErrorCode.NOT_FOUND, chunk ? `no console file ${file} (the console was rebuilt: reload the page)` : NOT_BUILT, 404);
  }
}
