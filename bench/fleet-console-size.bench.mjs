// The JavaScript the fleet console loads (lit, the hand-written answer checks and the app, one minified ES module),
// gzip-compressed. Built fresh from the sources with the console's own build (apps/fleet/console-build.mjs) into a
// temporary folder, so the figure is always that of the code in the tree, built or not.
// History: 515,042 bytes minified / 109.9 KB gzip while the console validated answers with protocol's zod schemas
// (zod was 454 KB of it); 42,498 bytes / 14.3 KB with types-only protocol imports and src/console/check.ts.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { buildConsole } from "../apps/fleet/console-build.mjs";

/** The budget: the console is opened on an operator's phone over a mobile connection as often as on a desk. */
const BUDGET_GZIP_KB = 40;

export default async function fleetConsoleSize() {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-console-size-"));
  try {
    await buildConsole(dir);
    const bytes = readFileSync(path.join(dir, "console.js"));
    const gzip = gzipSync(bytes, { level: 9 }).length;
    const kb = Math.round((gzip / 1024) * 100) / 100;
    return [
      { name: "fleet-console-js-gzip-kb", value: kb, unit: "KB", bytes: gzip, baseline: BUDGET_GZIP_KB, ratio: +(kb / BUDGET_GZIP_KB).toFixed(3), goal: { op: "<=", value: BUDGET_GZIP_KB } },
      { name: "fleet console JS, minified", value: bytes.length, unit: "bytes" },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
