// The per-invoice stream of the LND adapter against a raw HTTP server that writes LND's stream format byte by byte:
// messages split across chunks, an error line, a message about another invoice, and a body cut mid-way.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../__fixtures__/manual-clock.js";
import type { BackendHint } from "../backend.js";
import { LndBackend } from "./lnd.js";
import { hexToB64Url } from "./lnd-wire.js";

// Generous: CI runs every package's tests at once, and these wait on real loopback HTTP.
const waitFor = <T>(fn: () => T) => vi.waitFor(fn, { timeout: 10_000, interval: 10 });

const HASH = "11".repeat(32);
const OTHER = "22".repeat(32);
const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

function invoiceLine(hash: string, state: string): string {
  return `${JSON.stringify({ result: { r_hash: b64(hash), value_msat: "21000", amt_paid_msat: state === "OPEN" ? "0" : "21000", state } })}\n`;
}

type Script = (res: http.ServerResponse, connection: number) => void;

async function rawServer(script: Script): Promise<{ url: string; paths: string[]; close: () => Promise<void> }> {
  let n = 0;
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === "/v1/getinfo") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ identity_pubkey: `02${"33".repeat(32)}`, chains: [{ chain: "bitcoin", network: "regtest" }] }));
      return;
    }
    paths.push(req.url ?? "");
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    script(res, ++n);
  });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("LND adapter: invoice streams", { timeout: 30_000 }, () => {
  it("subscribes by url-safe base64 hash, reassembles split lines, ignores other invoices, and reconnects after a cut", async () => {
    const srv = await rawServer((res, n) => {
      if (n === 1) {
        const line = invoiceLine(HASH, "OPEN");
        res.write(line.slice(0, 17));
        setImmediate(() => {
          res.write(line.slice(17) + invoiceLine(OTHER, "SETTLED"));
          // The node dies mid-body: no final chunk.
          setImmediate(() => res.socket?.destroy());
        });
      } else {
        res.write(invoiceLine(HASH, "ACCEPTED"));
      }
    });
    cleanups.push(srv.close);
    const clock = new ManualClock();
    const backend = new LndBackend({ url: srv.url, clock, reconnectMinDelayMs: 1_000, random: () => 1 });
    cleanups.push(() => backend.stop());
    const hints: BackendHint[] = [];
    backend.watch((h) => hints.push(h));
    await backend.start();
    backend.subscribe(HASH);

    await waitFor(() => expect(hints).toContainEqual({ type: "health", health: "degraded", reason: expect.stringContaining("reconnecting") as string }));
    expect(hints.filter((h) => h.type === "invoice")).toEqual([{ type: "invoice", paymentHash: HASH, state: "open" }]);

    await clock.advance(1_000); // backoff: 1 000 ms * (0.5 + 1 * 0.5)
    await waitFor(() => expect(hints).toContainEqual({ type: "invoice", paymentHash: HASH, state: "accepted" }));
    expect(hints.map((h) => h.type)).toEqual(["invoice", "health", "health", "reconnected", "invoice"]);
    expect(hints).toContainEqual({ type: "health", health: "up" });
    // LND's REST docs: URL-safe alphabet, trailing "=" kept (its gateway decodes padded base64 only).
    expect(srv.paths).toEqual([`/v2/invoices/subscribe/${"ERERERERERERERERERERERERERERERERERERERERERE="}`, expect.any(String)]);
  });

  it("writes a hash in a path with the URL-safe alphabet and the padding kept", () => {
    expect(hexToB64Url("fbff".repeat(16))).toBe("-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-_8=");
  });

  it("backs off exponentially with jitter, up to the maximum", () => {
    let r = 0;
    const backend = new LndBackend({ url: "http://127.0.0.1:1", reconnectMinDelayMs: 500, reconnectMaxDelayMs: 30_000, random: () => r });
    expect([0, 1, 2, 3].map((a) => backend.reconnectDelayMs(a))).toEqual([250, 500, 1_000, 2_000]);
    expect(backend.reconnectDelayMs(20)).toBe(15_000);
    r = 0.999;
    expect(backend.reconnectDelayMs(20)).toBeLessThanOrEqual(30_000);
    expect(backend.reconnectDelayMs(20)).toBeGreaterThan(29_000);
  });

  it("stops streaming an invoice once the node reports it final and ends the stream", async () => {
    const srv = await rawServer((res) => {
      res.end(invoiceLine(HASH, "SETTLED"));
    });
    cleanups.push(srv.close);
    const clock = new ManualClock();
    const backend = new LndBackend({ url: srv.url, clock });
    cleanups.push(() => backend.stop());
    const hints: BackendHint[] = [];
    backend.watch((h) => hints.push(h));
    await backend.start();
    backend.subscribe(HASH);
    await waitFor(() => expect(backend.streamCount).toBe(0));
    await clock.advance(60_000);
    expect(srv.paths).toHaveLength(1);
    expect(hints).toEqual([{ type: "invoice", paymentHash: HASH, state: "settled" }]);
  });

  it("unsubscribe closes the stream and stops reconnecting", async () => {
    const srv = await rawServer((res) => {
      res.write(invoiceLine(HASH, "OPEN"));
    });
    cleanups.push(srv.close);
    const clock = new ManualClock();
    const backend = new LndBackend({ url: srv.url, clock });
    cleanups.push(() => backend.stop());
    const hints: BackendHint[] = [];
    backend.watch((h) => hints.push(h));
    await backend.start();
    backend.subscribe(HASH);
    await waitFor(() => expect(hints).toHaveLength(1));
    backend.unsubscribe(HASH);
    await clock.advance(120_000);
    expect(srv.paths).toHaveLength(1);
    expect(backend.streamCount).toBe(0);
    expect(hints.map((h) => h.type)).toEqual(["invoice"]);
  });
});
