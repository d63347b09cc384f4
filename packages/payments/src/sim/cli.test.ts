// The sim node's CLI as `npm start` runs it: it prints `sim-lightning: <url>`, serves LND's getinfo there, and
// exits cleanly on SIGTERM.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));

describe("sim-node-cli", () => {
  it("prints its URL, answers there, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /^sim-lightning: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`exited with ${code} before printing its URL`)));
      });
      const info = (await (await fetch(`${url}/v1/getinfo`)).json()) as { identity_pubkey: string; chains: unknown[] };
      expect(info.identity_pubkey).toMatch(/^0[23][0-9a-f]{64}$/);
      expect(info.chains).toEqual([{ chain: "bitcoin", network: "regtest" }]);
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 30_000);

  it("refuses a bad argument with a usage line and exit code 2", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, "--port", "nope"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(err).toMatch(/^error: bad --port nope/);
  }, 30_000);
});
