#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --single-threaded-gc
// zapvend-machine --config <file>     runs the machine daemon
// zapvend-machine hash-pin <pin>      prints the servicePinHash for the config
//
// --max-semi-space-size=1 (MB): V8's young generation otherwise grows to 2 x 16 MB semi-spaces after the start-up
// burst and keeps them; the daemon's young objects are few and short-lived. Measured with `npm run bench --
// machine-rss` (bench/README.md). It must be on node's command line: v8.setFlagsFromString at the top of this file
// was measured to take effect only in part (start-up peak 86 MB against 80 MB). systemd's unit
// (hardware/pi-setup/zapvend-machine.service) passes the same flag, and the benchmark reads it from there.
// --single-threaded-gc (V8 collects on the main thread, no helper-thread buffers) and MALLOC_ARENA_MAX=2 (glibc's
// per-thread malloc arenas) take ~4 MB more off the peak; the unit sets both too (figures in bench/README.md).
import { parseArgs } from "node:util";
import { ConfigError, configFileWarnings, loadConfig } from "./config-file.js";
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
  for (const warning of configFileWarnings(values.config, config)) log.warn("config file readable by others", { code: "config_readable", message: warning });
  // Everything the daemon writes (the journal, its WAL, logs it may rotate) is this user's only.
  process.umask(0o077);
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
