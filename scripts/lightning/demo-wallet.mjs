#!/usr/bin/env node
// The kiosk's demo wallet on the regtest network: the sim node's wallet API (`POST /wallet/pay {bolt11}`,
// `GET /wallet`) in front of the regtest *buyer's* LND, so "Pay with demo wallet" pays over the real channel.
//   node scripts/lightning/demo-wallet.mjs [--env .zapvend/regtest/env.json] [--port 0]
// Prints `demo-wallet: <url>`. Loopback only; it holds the buyer's admin macaroon, so it is for the demo, never a machine.
import http from "node:http";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { lnd, lndStream } from "./rest.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
const envPath = resolve(opt("--env", join(root, ".zapvend/regtest/env.json")));
const env = JSON.parse(readFileSync(envPath, "utf8"));
const buyer = {
  name: "buyer",
  restUrl: env.buyer.restUrl,
  certPem: readFileSync(env.buyer.tlsCertPath, "utf8"),
  macaroonHex: readFileSync(env.buyer.adminMacaroonPath).toString("hex"),
};

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", async () => {
    try {
      if (req.method === "GET" && req.url === "/wallet") {
        const { channels = [] } = await lnd(buyer, "GET", "/v1/channels");
        const local = channels.reduce((s, c) => s + BigInt(c.local_balance ?? "0"), 0n);
        return reply(res, 200, { balanceMsat: (local * 1000n).toString(), node: env.buyer.pubkey });
      }
      if (req.method === "POST" && req.url === "/wallet/pay") {
        const { bolt11 } = JSON.parse(body || "{}");
        if (typeof bolt11 !== "string" || !/^ln/i.test(bolt11)) return reply(res, 400, { error: { code: "bad_request", message: 'expected {"bolt11": "ln..."}' } });
        // Answers when the payment is final: the machine settles after the vend, or cancels (then it fails).
        const last = await lndStream(buyer, "POST", "/v2/router/send", { payment_request: bolt11.trim(), timeout_seconds: 300, fee_limit_sat: "100" });
        if (last?.status === "SUCCEEDED") {
          return reply(res, 200, { paymentHash: last.payment_hash, preimage: last.payment_preimage, amountMsat: String(last.value_msat ?? "") });
        }
        return reply(res, 409, { error: { code: "payment_failed", message: `payment ${last?.status ?? "ended"}: ${last?.failure_reason ?? ""}` } });
      }
      reply(res, 404, { error: { code: "not_found", message: `${req.method} ${req.url}` } });
    } catch (err) {
      reply(res, 502, { error: { code: "payment_failed", message: String(err.message ?? err) } });
    }
  });
});
server.listen(Number(opt("--port", "0")), "127.0.0.1");
await once(server, "listening");
console.log(`demo-wallet: http://127.0.0.1:${server.address().port}`);
const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
