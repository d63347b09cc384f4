// Test-only: a machine process (run with `node --import tsx`) that a test kills with SIGKILL, as a power cut or an
// OOM kill would. Usage: machine-child.ts <brokerUrl> <machineId> <dbFile> <publicKeyHex>
import Database from "better-sqlite3";
import { MachineBridge } from "../machine-bridge.js";
import { birthBody, saleBody, telemetryBody } from "./machine.js";

const [url, machineId, dbFile, publicKey] = process.argv.slice(2);
if (!url || !machineId || !dbFile || !publicKey) throw new Error("usage: machine-child.ts <url> <machineId> <dbFile> <publicKeyHex>");
const db = new Database(dbFile);
db.pragma("journal_mode = WAL");
const bridge = new MachineBridge({
  machineId,
  mqtt: { url, telemetryIntervalMs: 60_000 },
  db,
  trustedKeys: [{ keyId: "op-1", publicKey }],
  birth: birthBody,
  telemetry: telemetryBody,
  onDesiredState: () => ({ status: "applied", slots: {}, mode: "normal" }),
  appliedState: () => ({ slots: {}, mode: "normal" }),
  commandHandlers: {},
  keepaliveSec: 5,
});
bridge.once("connected", () => {
  bridge.outbox.enqueue(saleBody(1));
  bridge.once("event-acked", () => process.stdout.write(`ready boot=${bridge.boot}\n`));
});
await bridge.start();
