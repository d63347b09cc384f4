#!/usr/bin/env node
// `zapvend-broker [--port N] (--users <file> [--acl <file>] | --allow-anonymous)`: the embedded broker as its own
// process (as `npm start` runs it). `--users` names a JSON file `{"users": {"<username>": "<password>", ...}}` (each
// machine by its machine id, and `zapvend-fleet`); the broker then refuses anonymous clients and wrong passwords and
// enforces the ACL of hardware/broker/zapvend.acl (or the Mosquitto ACL file `--acl` names). `--allow-anonymous`
// runs it open, for a loopback-only experiment. Prints `broker: mqtt://127.0.0.1:<port>` once listening;
// SIGINT/SIGTERM close it cleanly.
import { readFileSync, statSync } from "node:fs";
import { consoleLogger } from "./clock.js";
import { startEmbeddedBroker } from "./embedded-broker.js";

function fail(code: string, message: string): never {
  process.stderr.write(`error: ${code}: ${message}\n`);
  process.exit(1);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) fail("BAD_ARGS", `${name} needs a value`);
  return v;
}

/** `{users: {name: password}}` from the file, refused unless every name and password is a non-empty string. */
function readUsersFile(file: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    fail("BAD_USERS", `cannot read the users file ${file}: ${(err as Error).message}`);
  }
  const users = (parsed as { users?: unknown } | null)?.users;
  if (!users || typeof users !== "object" || Array.isArray(users)) fail("BAD_USERS", `${file}: expected {"users": {"<username>": "<password>"}}`);
  const entries = Object.entries(users as Record<string, unknown>);
  if (entries.length === 0) fail("BAD_USERS", `${file}: no users`);
  for (const [u, p] of entries) {
    if (u === "" || /[+#/]/.test(u) || typeof p !== "string" || p.length < 12) {
      fail("BAD_USERS", `${file}: user "${u.slice(0, 64)}" needs a name without + # / and a password of at least 12 characters`);
    }
  }
  if ((statSync(file).mode & 0o077) !== 0) process.stderr.write(`warning: ${file} holds the broker's passwords and is readable by other users: chmod 600 it\n`);
  return users as Record<string, string>;
}

const portText = arg("--port");
const port = portText !== undefined ? Number(portText) : undefined;
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) fail("BAD_ARGS", "--port must be an integer 0-65535");
const usersFile = arg("--users");
const aclFile = arg("--acl");
const anonymous = process.argv.includes("--allow-anonymous");
if (!usersFile && !anonymous) fail("BAD_ARGS", "give --users <file> (credentials for every machine and the fleet) or, for a loopback experiment, --allow-anonymous");
if (usersFile && anonymous) fail("BAD_ARGS", "--users and --allow-anonymous exclude each other");
let acl: string | undefined;
if (aclFile) {
  try {
    acl = readFileSync(aclFile, "utf8");
  } catch (err) {
    fail("BAD_ACL", `cannot read the ACL file ${aclFile}: ${(err as Error).message}`);
  }
}
const logger = consoleLogger("mqtt:broker");
try {
  const broker = await startEmbeddedBroker({
    ...(port !== undefined ? { port } : {}),
    ...(usersFile ? { users: readUsersFile(usersFile) } : {}),
    ...(acl !== undefined ? { acl } : {}),
    logger,
  });
  if (!broker.authenticated) process.stderr.write("warning: the broker accepts anonymous clients and enforces no ACL (--allow-anonymous)\n");
  process.stdout.write(`broker: ${broker.url}\n`);
  const stop = () => void broker.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  fail((err as { code?: string }).code ?? "LISTEN_FAILED", (err as Error).message);
}
