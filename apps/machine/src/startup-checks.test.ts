// What the daemon checks and tightens at start on a Pi in a shop: its data directory and database are its user's
// only, a config holding secrets that others can read is warned about, and the demo wallet (free vends) is refused
// on a real board unless the config says so.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parseMachineConfig, type MachineConfig } from "@zapvend/protocol";
import { configFileWarnings } from "./config-file.js";
import { Machine, MachineStartError, openPrivateDatabase } from "./machine.js";

const modeOf = (p: string) => statSync(p).mode & 0o777;
const oldUmask = process.umask();
afterEach(() => {
  process.umask(oldUmask);
});

function configInput(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    machineId: "snacks-01",
    board: { kind: "sim", pinmap: "/nonexistent/pinmap.json" },
    payments: { backend: { kind: "sim", url: "http://127.0.0.1:1" }, network: "regtest" },
    catalog: [{ slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "1000" }, stock: 1, capacity: 10 }],
    dataDir: "/nonexistent/data",
    ...over,
  };
}

describe("data directory and database", () => {
  it("creates the data directory 0700 and the database, its WAL and shared memory 0600 under a permissive umask", () => {
    process.umask(0o022);
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-private-")), "data", "snacks-01");
    const db = openPrivateDatabase(dataDir, "machine.db");
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)");
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(path.join(dataDir, "machine.db"))).toBe(0o600);
    expect(modeOf(path.join(dataDir, "machine.db-wal"))).toBe(0o600);
    expect(modeOf(path.join(dataDir, "machine.db-shm"))).toBe(0o600);
    db.close();
  });

  it("tightens a data directory and database left readable by others", () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-private-")), "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(path.join(dataDir, "machine.db"), "");
    chmodSync(path.join(dataDir, "machine.db"), 0o644);
    openPrivateDatabase(dataDir, "machine.db").close();
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(path.join(dataDir, "machine.db"))).toBe(0o600);
  });
});

describe("a config file holding secrets", () => {
  function fileWith(mode: number, input: Record<string, unknown>): { file: string; config: MachineConfig } {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-config-")), "machine.json");
    writeFileSync(file, JSON.stringify(input));
    chmodSync(file, mode);
    const parsed = parseMachineConfig(input);
    if (!parsed.ok) throw new Error(parsed.error.message);
    return { file, config: parsed.value };
  }
  const withSecrets = configInput({ mqtt: { url: "mqtt://127.0.0.1:1883", username: "snacks-01", password: "s3cret-s3cret" }, servicePinHash: "scrypt$16384$8$1$x$y" });

  it("is warned about when its group or every user can read it, naming the secrets", () => {
    const world = fileWith(0o644, withSecrets);
    expect(configFileWarnings(world.file, world.config)).toEqual([expect.stringMatching(/holds secrets \(mqtt\.password, servicePinHash\) and is readable by every user \(mode 644\): chmod 600/)]);
    const group = fileWith(0o640, withSecrets);
    expect(configFileWarnings(group.file, group.config)).toEqual([expect.stringContaining("readable by its group (mode 640)")]);
  });

  it("is not warned about at 0600, nor is a config without secrets at 0644", () => {
    const own = fileWith(0o600, withSecrets);
    expect(configFileWarnings(own.file, own.config)).toEqual([]);
    const plain = fileWith(0o644, configInput());
    expect(configFileWarnings(plain.file, plain.config)).toEqual([]);
    const lnbits = fileWith(0o604, configInput({ payments: { backend: { kind: "lnbits", url: "https://lnbits.example", apiKey: "k" }, network: "bitcoin" } }));
    expect(configFileWarnings(lnbits.file, lnbits.config)).toEqual([expect.stringContaining("payments.backend.apiKey")]);
  });
});

describe("the demo wallet on a real board", () => {
  it("is refused by the config schema for every board but the sim, unless allowDemoWallet is true", () => {
    for (const kind of ["raspi", "firmata", "gpiod"]) {
      const refused = parseMachineConfig(configInput({ board: { kind, pinmap: "/x.json" } }));
      expect(refused).toMatchObject({ ok: false, error: { code: "demo_wallet_refused", path: "allowDemoWallet" } });
      expect(parseMachineConfig(configInput({ board: { kind, pinmap: "/x.json" }, allowDemoWallet: true })).ok).toBe(true);
      // A real Lightning backend on a real board is what the field runs: no flag needed.
      expect(parseMachineConfig(configInput({ board: { kind, pinmap: "/x.json" }, payments: { backend: { kind: "lnd", url: "https://127.0.0.1:8080" }, network: "bitcoin" } })).ok).toBe(true);
    }
    expect(parseMachineConfig(configInput()).ok).toBe(true); // the sim board with the sim wallet: the demo
  });

  it("is refused by the daemon at start too (a config built in code), before it opens anything", async () => {
    const parsed = parseMachineConfig(configInput());
    if (!parsed.ok) throw new Error(parsed.error.message);
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-demo-wallet-")), "data");
    const machine = new Machine({ ...parsed.value, board: { kind: "raspi", pinmap: "/nonexistent/pinmap.json", simFaults: [] }, dataDir });
    const err = await machine.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineStartError);
    expect(err).toMatchObject({ code: "demo_wallet_refused" });
    expect(() => statSync(dataDir)).toThrow(); // nothing written
    await machine.stop();
  });
});

describe("zapvend-machine --config", () => {
  const cliTs = path.join(path.dirname(fileURLToPath(import.meta.url)), "cli.ts");
  const tsx = createRequire(import.meta.url).resolve("tsx");
  /** Runs the daemon until `until` matches its stderr (then SIGKILL) or it exits. */
  function daemon(file: string, until: RegExp): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ["--import", tsx, cliTs, "--config", file], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ZAPVEND_LOG: "warn" } });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (until.test(stderr)) child.kill("SIGKILL");
      });
      child.once("close", (code) => resolve({ code, stderr }));
    });
  }
  function configFile(input: Record<string, unknown>, mode: number): string {
    const dir = mkdtempSync(path.join(tmpdir(), "zapvend-cli-"));
    const file = path.join(dir, "machine.json");
    writeFileSync(file, JSON.stringify({ ...input, dataDir: path.join(dir, "data") }));
    chmodSync(file, mode);
    return file;
  }

  it("logs config_readable at start for a world-readable config with secrets", async () => {
    const file = configFile(configInput({ mqtt: { url: "mqtt://127.0.0.1:9", username: "snacks-01", password: "s3cret-s3cret" } }), 0o644);
    const run = await daemon(file, /config_readable/);
    expect(run.stderr).toMatch(/"code":"config_readable".*mqtt\.password/);
  }, 30_000);

  it("refuses the demo wallet on a real board with a coded config error, exit 2", async () => {
    const file = configFile(configInput({ board: { kind: "raspi", pinmap: "/x.json" } }), 0o600);
    const run = await daemon(file, /$^/);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: config: demo_wallet_refused: .*allowDemoWallet: true/m);
  }, 30_000);
});
