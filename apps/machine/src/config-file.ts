import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseMachineConfig, type MachineConfig } from "@zapvend/protocol";

/** A config file that cannot be used; the message names the file, the field and what is wrong. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the config; relative paths in it are relative to the file's folder. */
export function loadConfig(file: string): MachineConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`config: cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = parseMachineConfig(text);
  if (!parsed.ok) throw new ConfigError(`config: ${parsed.error.code}: ${parsed.error.message} (at ${parsed.error.path} in ${file})`);
  const dir = path.dirname(path.resolve(file));
  const abs = (p: string) => path.resolve(dir, p);
  const c = parsed.value;
  return {
    ...c,
    dataDir: abs(c.dataDir),
    board: c.board.kind === "mdb" ? c.board : { ...c.board, pinmap: abs(c.board.pinmap) },
    ...(c.kioskDir ? { kioskDir: abs(c.kioskDir) } : {}),
  };
}


/** The secrets a machine config may hold, by where they are (none: the file may be world-readable). */
export function secretsIn(config: MachineConfig): string[] {
  const found: string[] = [];
  if (config.mqtt.password) found.push("mqtt.password");
  const b = config.payments.backend as Record<string, unknown>;
  for (const k of ["macaroonHex", "rune", "apiKey", "webhookSecret", "password"]) if (typeof b[k] === "string" && b[k] !== "") found.push(`payments.backend.${k}`);
  // A 4-6 digit PIN's hash is found by trying them all: the hash is a secret too.
  if (config.servicePinHash) found.push("servicePinHash");
  return found;
}

/**
 * Warnings about the config file itself: one holding secrets that other users can read (group or world bits set).
 * Returned, not printed, so the daemon logs them its way at start.
 */
export function configFileWarnings(file: string, config: MachineConfig): string[] {
  const secrets = secretsIn(config);
  if (secrets.length === 0) return [];
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return [];
  }
  if ((mode & 0o077) === 0) return [];
  const who = mode & 0o007 ? "every user" : "its group";
  return [`${file} holds secrets (${secrets.join(", ")}) and is readable by ${who} (mode ${mode.toString(8).padStart(3, "0")}): chmod 600 ${file}`];
}
