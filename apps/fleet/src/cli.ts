#!/usr/bin/env node
// zapvend-fleet --config <file>: the fleet server. Prints `fleet: <url>` when it serves, stops cleanly on
// SIGINT/SIGTERM (publishing its retained "offline" state first).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseFleetConfig } from "@zapvend/protocol";
import { FleetError } from "./errors.js";
import { FleetServer } from "./server.js";

function fail(code: string, message: string): never {
  process.stderr.write(`error: ${code}: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let values: { config?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } }));
  } catch (err) {
    fail("bad_args", (err as Error).message);
  }
  if (values.help || !values.config) {
    process.stdout.write("usage: zapvend-fleet --config <file>\n");
    process.exit(values.help ? 0 : 1);
  }
  let text: string;
  try {
    text = readFileSync(values.config, "utf8");
  } catch (err) {
    fail("bad_config", `cannot read ${values.config}: ${(err as Error).message}`);
  }
  const parsed = parseFleetConfig(text);
  if (!parsed.ok) fail(parsed.error.code, `${values.config}: ${parsed.error.path}: ${parsed.error.message}`);
  const server = new FleetServer({ config: parsed.value, ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}) });
  await server.start();
  process.stdout.write(`fleet: ${server.url}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`fleet stopping (${signal})\n`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`fleet: stop failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  if (err instanceof FleetError) fail(err.code, err.message);
  fail("internal", (err as Error).stack ?? String(err));
});
