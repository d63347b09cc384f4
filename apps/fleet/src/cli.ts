#!/usr/bin/env node
// zapvend-fleet --config <file>: the fleet server. Prints `fleet: <url>` when it serves, stops cleanly on
// SIGINT/SIGTERM (publishing its retained "offline" state first).
// zapvend-fleet --config <file> user|token ...: manages accounts and API tokens (cli-accounts.ts).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseFleetConfig } from "@zapvend/protocol";
import { ACCOUNTS_USAGE, runAccounts } from "./cli-accounts.js";
import { FleetError } from "./errors.js";
import { FleetServer } from "./server.js";

function fail(code: string, message: string): never {
  process.stderr.write(`error: ${code}: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let values: { config?: string | undefined; help?: boolean | undefined; role?: string | undefined; "password-stdin"?: boolean | undefined; generate?: boolean | undefined; replace?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
        role: { type: "string" },
        "password-stdin": { type: "boolean" },
        generate: { type: "boolean" },
        replace: { type: "boolean" },
      },
    }));
  } catch (err) {
    fail("bad_args", (err as Error).message);
  }
  if (values.help || !values.config) {
    process.stdout.write(`usage: zapvend-fleet --config <file>\n${ACCOUNTS_USAGE}`);
    process.exit(values.help ? 0 : 1);
  }
  if (positionals.length > 0) {
    await runAccounts({ config: values.config, positionals, role: values.role, passwordStdin: values["password-stdin"], generate: values.generate, replace: values.replace });
    return;
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
  if ((await server.auth.listUsers()).length === 0) {
    process.stderr.write("fleet: no user yet; add the first admin with: zapvend-fleet --config <file> user add <name> --role admin\n");
  }
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
