// The JavaScript the fleet console loads, gzip-compressed. Built fresh from the sources with the console's own
// build (apps/fleet/console-build.mjs) into a temporary folder, so the figure is always that of the code in the
// tree, built or not.
// The build splits chunks (issue 18): `fleet-console-js-gzip-kb` is the **first load**, the entry and every chunk it
// imports statically (console-chunks.json `firstLoad`), each gzipped on its own as the browser fetches it, summed.
// Pages loaded on their first navigation are listed as their own rows (`lazy chunk <name>`), with their total.
// History: 515,042 bytes minified / 109.9 KB gzip while the console validated answers with protocol's zod schemas
// (zod was 454 KB of it); 42,498 bytes / 14.3 KB with types-only protocol imports and src/console/check.ts;
// 15.4 KB first load + 4.7 KB lazy (machine page, users/audit) once split (one bundle just before: 17.4 KB);
// 18.5 KB first load + 5.7 KB lazy with the overview's numbers, charts with axes and readable events (issue 18);
// 19.2 KB first load measured before the header for small screens, charts by touch and keyboard and the machine
// page's slot products (issue 18), 20.3 KB after.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { buildConsole } from "../apps/fleet/console-build.mjs";

/** The budget: the console is opened on an operator's phone over a mobile connection as often as on a desk. */
const BUDGET_GZIP_KB = 40;

const kbOf = (bytes) => Math.round((bytes / 1024) * 100) / 100;

export default async function fleetConsoleSize() {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-console-size-"));
  try {
    await buildConsole(dir);
    /** @type {import("../apps/fleet/console-build.mjs").ConsoleChunks} */
    const chunks = JSON.parse(readFileSync(path.join(dir, "console-chunks.json"), "utf8"));
    const size = (file) => {
      const bytes = readFileSync(path.join(dir, file));
      return { file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    };
    const first = chunks.firstLoad.map(size);
    const lazy = chunks.lazy.map(size);
    const gzip = first.reduce((n, f) => n + f.gzip, 0);
    const minified = first.reduce((n, f) => n + f.bytes, 0);
    const kb = kbOf(gzip);
    const lazyGzip = lazy.reduce((n, f) => n + f.gzip, 0);
    return [
      {
        name: "fleet-console-js-gzip-kb",
        label: `first load: ${first.map((f) => f.file).join(", ")}`,
        value: kb,
        unit: "KB",
        bytes: gzip,
        baseline: BUDGET_GZIP_KB,
        ratio: +(kb / BUDGET_GZIP_KB).toFixed(3),
        goal: { op: "<=", value: BUDGET_GZIP_KB },
      },
      { name: "fleet console JS first load, minified", value: minified, unit: "bytes", files: first.length },
      { name: "fleet console lazy chunks, gzip", value: kbOf(lazyGzip), unit: "KB", bytes: lazyGzip, files: lazy.length },
      ...lazy.map((f) => ({ name: `fleet console lazy chunk ${f.file.replace(/^chunks\//, "").replace(/-[A-Z0-9]{8}\.js$/, "")}`, label: f.file, value: kbOf(f.gzip), unit: "KB", bytes: f.gzip, minified: f.bytes })),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
