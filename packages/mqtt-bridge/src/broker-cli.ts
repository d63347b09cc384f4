#!/usr/bin/env node
// `zapvend-broker [--port N]`: the embedded broker as its own process (as `npm start` runs it). Prints
// `broker: mqtt://127.0.0.1:<port>` once listening; SIGINT/SIGTERM close it cleanly.
import { startEmbeddedBroker } from "./embedded-broker.js";

const i = process.argv.indexOf("--port");
const port = i >= 0 ? Number(process.argv[i + 1]) : undefined;
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
  process.stderr.write("error: BAD_ARGS: --port must be an integer 0-65535\n");
  process.exit(1);
}
try {
  const broker = await startEmbeddedBroker(port !== undefined ? { port } : {});
  process.stdout.write(`broker: ${broker.url}\n`);
  const stop = () => void broker.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  process.stderr.write(`error: ${(err as { code?: string }).code ?? "LISTEN_FAILED"}: ${(err as Error).message}\n`);
  process.exit(1);
}
