// `zapvend-broker` as `npm start` runs it: it will not start open by accident, reads its users file (warning when
// others can read the passwords), and the broker it starts asks for them.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = createRequire(import.meta.url).resolve("tsx");

/** Runs the CLI until it prints its URL (then `stop` ends it with SIGTERM) or exits. */
function cli(args: string[]): Promise<{ code: number | null; stderr: string; url?: string; stderrNow: () => string; stop?: () => Promise<number | null> }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", tsx, path.join(here, "broker-cli.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let out = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // "close": the process ended and its stdio is read to the end (the error line is in `stderr`).
    const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^broker: (\S+)$/m.exec(out);
      if (m) resolve({ code: null, stderr, url: m[1]!, stderrNow: () => stderr, stop: () => (child.kill("SIGTERM"), exited) });
    });
    void exited.then((code) => resolve({ code, stderr, stderrNow: () => stderr }));
  });
}

function usersFile(users: Record<string, string>, mode: number): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "zapvend-broker-cli-")), "mqtt.json");
  writeFileSync(file, JSON.stringify({ users }));
  chmodSync(file, mode);
  return file;
}

const connect = (url: string, o: { username?: string; password?: string; clientId: string }) =>
  new Promise<string>((resolve) => {
    const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...o });
    c.once("connect", () => (c.end(true), resolve("connected")));
    c.once("error", (err) => (c.end(true), resolve(err.message)));
  });

describe("zapvend-broker", () => {
  it("refuses to start without --users or an explicit --allow-anonymous, and refuses a users file it cannot use", async () => {
    const none = await cli(["--port", "0"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error: BAD_ARGS: give --users <file>/m);
    const weak = await cli(["--port", "0", "--users", usersFile({ "zapvend-fleet": "short" }, 0o600)]);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/^error: BAD_USERS: .*at least 12 characters/m);
    const missing = await cli(["--port", "0", "--users", "/nonexistent/mqtt.json"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: BAD_USERS: cannot read/m);
  }, 30_000);

  it("with --users: warns when the file is readable by others, and asks every client for its password", async () => {
    const file = usersFile({ "zapvend-fleet": "fleet-password-0123", "snacks-01": "snacks-password-01" }, 0o644);
    const run = await cli(["--port", "0", "--users", file]);
    try {
      expect(run.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      // stdout and stderr are separate pipes: the warning, written first, may arrive after the URL.
      await expect.poll(() => run.stderrNow()).toContain("is readable by other users: chmod 600 it");
      expect(await connect(run.url!, { clientId: "zapvend-snacks-01" })).toMatch(/not authori[sz]ed/i);
      expect(await connect(run.url!, { clientId: "zapvend-snacks-01", username: "snacks-01", password: "snacks-password-01" })).toBe("connected");
    } finally {
      expect(await run.stop?.()).toBe(0);
    }
  }, 30_000);
});
