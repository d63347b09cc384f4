// Test-only: a real Mosquitto process on a free loopback port with its own config, so a test can restart it
// (persistent sessions survive through its on-disk database) and load the production ACL; and `testFileBroker`, one
// private broker per test file, so suites that run side by side never see each other's retained fleet state, machines
// or acks. Other packages' tests reach it as `@zapvend/mqtt-bridge/testing` (src/testing.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const CANDIDATES = [process.env.TEST_MOSQUITTO_BIN, "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto"];

export function mosquittoBinary(): string {
  const found = CANDIDATES.find((p): p is string => !!p && existsSync(p));
  if (!found) {
    throw new Error(
      "mosquitto is not installed: the MQTT bridge's integration tests need a real broker. Install the Debian package " +
        "`mosquitto` (`.ci/run` does) or set TEST_MOSQUITTO_BIN to its path.",
    );
  }
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface MosquittoOptions {
  /** Extra lines for mosquitto.conf (ACL, password file, ...). Default: anonymous access. */
  extraConfig?: string;
  /** Keep sessions and retained messages across restarts (written on a clean shutdown). Default true. */
  persistence?: boolean;
}

export class Mosquitto {
  readonly dir: string;
  port = 0;
  private proc: ChildProcess | undefined;
  private log = "";

  constructor(private readonly options: MosquittoOptions = {}) {
    this.dir = mkdtempSync(path.join(tmpdir(), "zapvend-mosquitto-"));
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const bin = mosquittoBinary();
    if (this.port === 0) this.port = await freePort();
    const conf = path.join(this.dir, "mosquitto.conf");
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        this.options.extraConfig ?? "allow_anonymous true",
        `persistence ${this.options.persistence === false ? "false" : "true"}`,
        `persistence_location ${this.dir}/`,
        // Enough in flight and queued for the outage tests; the defaults (20 / 1000) would drop QoS 1 messages.
        "max_inflight_messages 1000",
        "max_queued_messages 200000",
        // Started as root (CI containers), Mosquitto switches to the `mosquitto` user, which cannot write the
        // persistence file into our temp dir; staying root keeps sessions across the restarts the tests do.
        ...(process.getuid?.() === 0 ? ["user root"] : []),
        "log_dest stderr",
        "log_type error",
        "log_type warning",
      ].join("\n") + "\n",
    );
    const proc = spawn(bin, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    proc.stderr?.on("data", (d: Buffer) => {
      this.log += d.toString();
    });
    const exited = new Promise<never>((_, reject) => proc.once("exit", (code) => reject(new Error(`mosquitto exited (${code}): ${this.log.slice(-500)}`))));
    await Promise.race([waitForPort(this.port, 10_000), exited]);
    exited.catch(() => {});
    return this;
  }

  /** SIGTERM: Mosquitto writes its persistence database and exits, as in a service restart. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGTERM");
    });
    this.proc = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Mosquitto installed here (the candidates of `mosquittoBinary`)? */
export function mosquittoInstalled(): boolean {
  return CANDIDATES.some((p) => !!p && existsSync(p));
}

/**
 * The MQTT broker for one test file: `override` when set (a URL from the environment); else a private Mosquitto,
 * stopped by the `afterAll` given (vitest's, so this module does not depend on a test runner); else, where Mosquitto
 * is not installed, the shared broker at 127.0.0.1:1883 (which the suite checks it can reach, as before).
 */
export async function testFileBroker(override: string | undefined, afterAll: (fn: () => Promise<void>) => void): Promise<string> {
  if (override) return override;
  if (!mosquittoInstalled()) return "mqtt://127.0.0.1:1883";
  const broker = await new Mosquitto({ persistence: false }).start();
  afterAll(() => broker.dispose());
  return broker.url;
}
