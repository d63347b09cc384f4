// `ZAPVEND_LIGHTNING=regtest npm start`: the demo's machines sell through the operator's LND of a running
// `npm run regtest`, and the kiosks' demo wallet pays from its buyer's LND (demo-wallet.mjs). Kept apart from
// scripts/start.mjs, which only asks for the payments section of the machines' config.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** @param {(label: string, args: string[], expectName: string) => Promise<string>} startPart */
export async function regtestPayments(startPart) {
  const envPath = join(root, ".zapvend/regtest/env.json");
  if (!existsSync(envPath)) {
    throw new Error("ZAPVEND_LIGHTNING=regtest needs the regtest network: run `npm run regtest` in another terminal first (it writes .zapvend/regtest/env.json)");
  }
  const env = JSON.parse(readFileSync(envPath, "utf8"));
  const walletUrl = await startPart("demo-wallet", [join(root, "scripts/lightning/demo-wallet.mjs"), "--env", envPath], "demo-wallet");
  console.log(`lnd-operator: ${env.operator.restUrl}`);
  console.log(`lnd-buyer: ${env.buyer.restUrl}`);
  return {
    backend: { kind: "lnd", url: env.operator.restUrl, macaroonPath: env.operator.macaroonPath, tlsCertPath: env.operator.tlsCertPath },
    network: "regtest",
    invoiceExpirySec: 180,
    demoWalletUrl: walletUrl,
  };
}
