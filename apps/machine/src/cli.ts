#!/usr/bin/env node
// zapvend-machine --config <file>     runs the machine daemon
// zapvend-machine hash-pin <pin>      prints the servicePinHash for the config
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config-file.js";
import { createLogger } from "./log.js";
import { Machine } from "./machine.js";
import { hashPin } from "./service-auth.js";

const USAGE = "usage: zapvend-machine --config <file> | zapvend-machine hash-pin <pin>";

function fail(message: string, code = 2): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "hash-pin") {
    if (!argv[1]) fail(USAGE);
    try {
      process.stdout.write(`${hashPin(argv[1])}\n`);
    } catch (err) {
      fail((err as Error).message);
    }
    return;
  }
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.config) fail(USAGE);
  let config;
  try {
    config = loadConfig(values.config);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const log = createLogger(`machine:${config.machineId}`);
  const machine = new Machine(config, { logger: log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn("second signal: exiting now", { signal });
      process.exit(1);
    }
    stopping = true;
    log.info("stopping", { signal });
    machine.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error("stop failed", { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  try {
    const url = await machine.start();
    process.stdout.write(`kiosk ${config.machineId}: ${url}\n`);
  } catch (err) {
    log.error("could not start", { err: String((err as Error).stack ?? err) });
    await machine.stop();
    fail(`could not start ${config.machineId}: ${(err as Error).message}`, 1);
  }
}

void main();
