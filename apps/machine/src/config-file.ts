import { readFileSync } from "node:fs";
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

