#!/usr/bin/env node
// `npm start`: the launcher of the whole demo system on embedded defaults. Each part runs as its own process, as in
// the field. It starts what has been built so far and says plainly what is not there yet, instead of pretending.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const parts = [
  { name: "machine daemon (kiosks on :8080 and :8081)", bin: "apps/machine/dist/cli.js", issue: "the vend cycle and machine daemon" },
  { name: "fleet server and console (:8090)", bin: "apps/fleet/dist/cli.js", issue: "the fleet" },
  { name: "sim Lightning node and wallet (:8060)", bin: "packages/payments/dist/sim-node-cli.js", issue: "the Lightning backends" },
  { name: "embedded MQTT broker (:1883)", bin: "packages/mqtt-bridge/dist/broker-cli.js", issue: "the MQTT bridge" },
];

const missing = parts.filter((p) => !existsSync(path.join(root, p.bin)));
if (missing.length > 0) {
  console.error("zapvend: the demo system cannot start yet; these parts are not built in this version:");
  for (const p of missing) console.error(`  - ${p.name}: lands with ${p.issue}`);
  console.error("Run `npm test` to check what exists.");
  process.exit(1);
}
console.error("zapvend: every part is built, but the launcher that wires them lands with the machine daemon.");
process.exit(1);
