#!/usr/bin/env node
// `sim-node-cli`: starts the sim Lightning node for the demo and prints `sim-lightning: <url>` (the launcher of
// `npm start` reads that line). Stops cleanly on SIGINT/SIGTERM. With `--state-file` it keeps its invoices, held
// payments and wallet across a restart (even a SIGKILL), as LND keeps its database.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { NetworkSchema } from "@zapvend/protocol";
import { jsonLogger } from "../runtime.js";
import { startSimNode } from "./server.js";
import { SimStateFileError } from "./state-file.js";

const usage = `usage: sim-node-cli [--host 127.0.0.1] [--port 8060] [--network regtest] [--node-key-file <file>]
                    [--macaroon <hex>] [--htlc-timeout-ms 600000] [--state-file <file>]
                    [--tls-cert <pem file> --tls-key <pem file>]   (serve HTTPS, as LND does with its tls.cert)`;

function fail(msg: string): never {
  process.stderr.write(`error: ${msg}\n${usage}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "8060" },
        network: { type: "string", default: "regtest" },
        "node-key-file": { type: "string" },
        macaroon: { type: "string" },
        "htlc-timeout-ms": { type: "string" },
        "state-file": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`bad --port ${args.port}`);
  const network = NetworkSchema.safeParse(args.network);
  if (!network.success) fail(`bad --network ${args.network}`);
  const htlcTimeoutMs = args["htlc-timeout-ms"] === undefined ? undefined : Number(args["htlc-timeout-ms"]);
  if (htlcTimeoutMs !== undefined && !(Number.isInteger(htlcTimeoutMs) && htlcTimeoutMs > 0)) fail("bad --htlc-timeout-ms");
  if (args.macaroon !== undefined && !/^[0-9a-fA-F]+$/.test(args.macaroon)) fail("--macaroon must be hex");

  // Opt-in TLS like LND's REST listener: the adapter pins this certificate (payments.backend.tlsCertPath).
  if ((args["tls-cert"] === undefined) !== (args["tls-key"] === undefined)) fail("--tls-cert and --tls-key go together");
  let tls: { certPem: string; keyPem: string } | undefined;
  if (args["tls-cert"] && args["tls-key"]) {
    try {
      tls = { certPem: readFileSync(args["tls-cert"], "utf8"), keyPem: readFileSync(args["tls-key"], "utf8") };
    } catch (err) {
      fail(`cannot read the TLS certificate or key: ${(err as Error).message}`);
    }
  }

  // A key file keeps the node's identity across restarts, so machines that pinned its key keep trusting it.
  let nodeKeyHex: string | undefined;
  const keyFile = args["node-key-file"];
  if (keyFile) {
    if (existsSync(keyFile)) nodeKeyHex = readFileSync(keyFile, "utf8").trim();
    else {
      nodeKeyHex = randomBytes(32).toString("hex");
      writeFileSync(keyFile, `${nodeKeyHex}\n`, { mode: 0o600 });
    }
    if (!/^[0-9a-f]{64}$/.test(nodeKeyHex)) fail(`${keyFile} does not hold a 32-byte hex key`);
  }

  const server = await startSimNode({
    host: args.host,
    port,
    network: network.data,
    logger: jsonLogger("pay:sim"),
    ...(nodeKeyHex ? { nodeKeyHex } : {}),
    ...(args.macaroon ? { macaroonHex: args.macaroon } : {}),
    ...(htlcTimeoutMs ? { htlcTimeoutMs } : {}),
    ...(tls ? { tls } : {}),
    // A state file keeps the invoices, held payments and the wallet across restarts, as LND's database does.
    ...(args["state-file"] ? { stateFile: args["state-file"] } : {}),
  }).catch((err: unknown) => {
    if (err instanceof SimStateFileError) fail(err.message);
    return fail(`cannot listen on ${args.host}:${port}: ${(err as Error).message}`);
  });
  process.stdout.write(`sim-lightning: ${server.url}\n`);
  process.stderr.write(`sim node ${server.node.pubkey} on ${server.node.network}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

void main();
