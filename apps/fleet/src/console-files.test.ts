// The console's files as the fleet serves them once the build splits chunks: the page preloads the first load's
// chunks, the entry and every chunk are served, a lazy page's chunk is cached for good, and nothing outside the
// build's chunk names is served.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConsole, type ConsoleChunks } from "../console-build.mjs";
import { engines } from "./__fixtures__/stores.js";
import { RecordingLink } from "./__fixtures__/recording-link.js";
import { FleetService } from "./fleet-service.js";
import { FleetHttpServer } from "./http-server.js";

describe("console files (split chunks)", () => {
  let dir: string;
  let chunks: ConsoleChunks;
  let service: FleetService;
  let http: FleetHttpServer;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    dir = await buildConsole(mkdtempSync(path.join(tmpdir(), "zapvend-console-files-")));
    chunks = JSON.parse(readFileSync(path.join(dir, "console-chunks.json"), "utf8")) as ConsoleChunks;
    const opened = await engines[0]!.open();
    cleanup = opened.cleanup;
    service = new FleetService({ store: opened.store, link: new RecordingLink(), alertIntervalMs: 60_000 });
    await service.start();
    http = new FleetHttpServer({ service, port: 0, consoleDir: dir });
    await http.start();
  }, 60_000);
  afterAll(async () => {
    await http?.stop();
    await service?.stop();
    await cleanup?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it("splits the machine page and the admin pages off the first load", () => {
    expect(chunks.firstLoad[0]).toBe("console.js");
    expect(chunks.lazy.some((f) => /^chunks\/machine-view-[A-Z0-9]+\.js$/.test(f))).toBe(true);
    expect(chunks.lazy.some((f) => /^chunks\/admin-[A-Z0-9]+\.js$/.test(f))).toBe(true);
    const first = chunks.firstLoad.map((f) => readFileSync(path.join(dir, f), "utf8")).join("\n");
    // The machine page's own text is not in what the first load fetches.
    expect(first).not.toContain("Slots, prices and availability");
  });

  it("serves the page with a modulepreload per first-load chunk, the entry, and each chunk (immutable)", async () => {
    const page = await (await fetch(`${http.url}/`)).text();
    for (const f of chunks.firstLoad.slice(1)) expect(page).toContain(`<link rel="modulepreload" href="/${f}">`);
    const entry = await fetch(`${http.url}/console.js`);
    expect(entry.status).toBe(200);
    expect(entry.headers.get("cache-control")).toBe("no-store");
    for (const f of [...chunks.firstLoad.slice(1), ...chunks.lazy]) {
      const r = await fetch(`${http.url}/${f}`);
      expect(r.status, f).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(r.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(await r.text()).toBe(readFileSync(path.join(dir, f), "utf8"));
    }
  });

  it("serves nothing else from chunks/: maps, legal notes, unknown names and escapes are 404 with a code", async () => {
    for (const p of ["/chunks/nope-AAAAAAAA.js", "/chunks/console-chunks.json", `/${chunks.lazy[0]}.map`, "/chunks/..%2Fconsole.js", "/chunks/%2e%2e%2fconsole-chunks.json"]) {
      const r = await fetch(`${http.url}${p}`);
      expect(r.status, p).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code, p).toBe("not_found");
    }
  });
});
