#!/usr/bin/env node
// `npm run regtest`: btcd + the operator's and a buyer's LND on loopback, an active buyer -> operator channel, and
// `.zapvend/regtest/env.json` describing it. Stays in the foreground; Ctrl-C (or SIGTERM) stops every process.
//
//   node scripts/lightning/regtest.mjs [--dir <dir>] [--parent-pid <pid>]
//
// It also serves a small control API on loopback (its URL is `controlUrl` in env.json), so that tests running in
// other processes can crash and restart a node or mine blocks on the network that this process owns:
//   GET  /env                       the env.json content
//   POST /mine            {blocks}  mines on btcd; answers the new block hashes
//   POST /nodes/<name>/kill         SIGKILLs that LND (operator | buyer)
//   POST /nodes/<name>/start        starts it again; answers once it is synced and its channel active
// With --parent-pid it also stops when that process is gone (the test fixture's owner dying must not leak nodes).
import http from "node:http";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startNetwork } from "./network.mjs";
import { lightningBinaries } from "./versions.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const dir = resolve(opt("--dir") ?? join(root, ".zapvend", "regtest"));
const parentPid = opt("--parent-pid") ? Number(opt("--parent-pid")) : undefined;
const say = (m) => process.stderr.write(`[regtest] ${m}\n`);

const bins = lightningBinaries();
if (bins.missing) {
  say(`cannot start: ${bins.missing}`);
  process.exit(2);
}

let network;
let control;
let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say("stopping LND and btcd…");
  control?.close();
  await network?.stop().catch((e) => say(`stop: ${e.message}`));
  say("stopped; nothing left running");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGHUP", () => void shutdown(0));
if (parentPid) {
  setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      say(`parent ${parentPid} is gone`);
      void shutdown(0);
    }
  }, 2_000).unref();
}

async function serveControl() {
  const server = http.createServer((req, res) => {
    const reply = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      try {
        const url = new URL(req.url ?? "/", "http://x");
        const node = /^\/nodes\/(operator|buyer)\/(kill|start)$/.exec(url.pathname);
        if (req.method === "GET" && url.pathname === "/env") return reply(200, network.env(network.envExtra));
        if (req.method === "POST" && url.pathname === "/mine") {
          const blocks = Number(JSON.parse(body || "{}").blocks ?? 1);
          if (!Number.isInteger(blocks) || blocks < 1 || blocks > 1000) return reply(400, { error: { code: "bad_request", message: "blocks: 1-1000" } });
          return reply(200, { hashes: await network.mine(blocks) });
        }
        if (req.method === "POST" && node) {
          if (node[2] === "kill") await network.killNode(node[1]);
          else await network.startNode(node[1]);
          network.writeEnv();
          return reply(200, { ok: true, pid: network.node(node[1]).proc.child?.pid, running: network.node(node[1]).proc.running });
        }
        reply(404, { error: { code: "not_found", message: `${req.method} ${url.pathname}` } });
      } catch (err) {
        reply(500, { error: { code: "regtest_error", message: String(err.message ?? err) } });
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

try {
  mkdirSync(dir, { recursive: true });
  say(`starting btcd + 2 LND in ${dir}`);
  network = await startNetwork({ dir, bins, log: say });
  control = await serveControl();
  network.writeEnv({ controlUrl: `http://127.0.0.1:${control.address().port}`, ownerPid: process.pid });
  say(`ready: ${join(dir, "env.json")}`);
  const env = network.env(network.envExtra);
  say(`operator ${env.operator.restUrl} ${env.operator.pubkey}`);
  say(`buyer    ${env.buyer.restUrl} ${env.buyer.pubkey}`);
  say("Ctrl-C stops everything");
  // Machine-readable for whoever spawned this process.
  process.stdout.write(`READY ${join(dir, "env.json")}\n`);
} catch (err) {
  say(`FAILED: ${err.message}`);
  try {
    writeFileSync(join(dir, "failed.txt"), String(err.stack ?? err));
  } catch {
    // nothing to add
  }
  await shutdown(1);
}
