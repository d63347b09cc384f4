// The sim node's CLI as `npm start` runs it: it prints `sim-lightning: <url>`, serves LND's getinfo there, and
// exits cleanly on SIGTERM.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "selfsigned";
import { describe, expect, it } from "vitest";
import { LndBackend } from "../backends/lnd.js";

const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));

/** Starts the CLI and resolves with the child and its URL once it prints `sim-lightning: <url>`. */
async function startCli(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^sim-lightning: (https?:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before printing its URL: ${err}`)));
  });
  return { child, url };
}

const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function invoices(url: string): Promise<Map<string, { state: string; amt_paid_msat: string }>> {
  const body = (await (await fetch(`${url}/sim/invoices`)).json()) as { invoices: Array<{ r_hash: string; state: string; amt_paid_msat: string }> };
  return new Map(body.invoices.map((i) => [Buffer.from(i.r_hash, "base64").toString("hex"), i]));
}

async function balance(url: string): Promise<string> {
  return ((await (await fetch(`${url}/wallet`)).json()) as { balanceMsat: string }).balanceMsat;
}

describe("sim-node-cli", () => {
  it("prints its URL, answers there, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /^sim-lightning: (https?:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
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

  it("with --state-file, SIGKILLed in the middle of a run, starts again with every invoice it answered for", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sim-cli-state-"));
    const args = ["--port", "0", "--node-key-file", path.join(dir, "node.key"), "--state-file", path.join(dir, "state.jsonl")];
    const children: ChildProcessWithoutNullStreams[] = [];
    try {
      const first = await startCli(args);
      children.push(first.child);
      const hold = async (amountMsat: number) => {
        const p = randomBytes(32).toString("hex");
        const hash = createHash("sha256").update(Buffer.from(p, "hex")).digest("hex");
        const r = await post(`${first.url}/v2/invoices/hodl`, { hash: b64(hash), value_msat: String(amountMsat), expiry: "600" });
        expect(r.status).toBe(200);
        return { preimage: p, hash, bolt11: r.body.payment_request as string };
      };
      const open = await hold(1_000);
      const held = await hold(2_000);
      const settled = await hold(3_000);
      const canceled = await hold(4_000);
      // Payments in flight are held: the wallet's requests stay open until the payee settles or cancels.
      const inFlight = [held, settled, canceled].map((i) => post(`${first.url}/wallet/pay`, { bolt11: i.bolt11 }).catch((e: Error) => e));
      for (;;) {
        const st = await invoices(first.url);
        if ([held, settled, canceled].every((i) => st.get(i.hash)?.state === "ACCEPTED")) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await post(`${first.url}/v2/invoices/settle`, { preimage: b64(settled.preimage) })).status).toBe(200);
      expect((await post(`${first.url}/v2/invoices/cancel`, { payment_hash: b64(canceled.hash) })).status).toBe(200);
      const balanceBefore = await balance(first.url);

      // Mid-run: invoices being added while the node is killed. Every one it answered must be there afterwards.
      const answered: string[] = [];
      let adding = true;
      const adder = (async () => {
        while (adding) {
          const r = await post(`${first.url}/v1/invoices`, { value_msat: "5000" }).catch(() => undefined);
          if (!r) break;
          if (r.status === 200) answered.push(Buffer.from(r.body.r_hash as string, "base64").toString("hex"));
        }
      })();
      while (answered.length < 5) await new Promise((r) => setTimeout(r, 5));
      const exited = once(first.child, "exit");
      first.child.kill("SIGKILL");
      await exited;
      adding = false;
      await adder;
      // The held payment's caller lost its connection, as with a real node.
      expect((await inFlight[0]) instanceof Error).toBe(true);

      const second = await startCli(args);
      children.push(second.child);
      const st = await invoices(second.url);
      expect(st.get(open.hash)?.state).toBe("OPEN");
      expect(st.get(held.hash)).toMatchObject({ state: "ACCEPTED", amt_paid_msat: "2000" });
      expect(st.get(settled.hash)?.state).toBe("SETTLED");
      expect(st.get(canceled.hash)?.state).toBe("CANCELED");
      for (const h of answered) expect(st.get(h)?.state, `invoice ${h} answered before the kill`).toBe("OPEN");
      expect(await balance(second.url)).toBe(balanceBefore);

      // The payment held before the kill can still be settled, and the node says so.
      expect((await post(`${second.url}/v2/invoices/settle`, { preimage: b64(held.preimage) })).status).toBe(200);
      expect((await invoices(second.url)).get(held.hash)?.state).toBe("SETTLED");
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("refuses a state file that is not one, with exit code 2", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sim-cli-state-"));
    const file = path.join(dir, "notes.txt");
    writeFileSync(file, "shopping list\n");
    try {
      const child = spawn(process.execPath, ["--import", "tsx", cli, "--port", "0", "--state-file", file], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const [code] = (await once(child, "exit")) as [number | null];
      expect(code).toBe(2);
      expect(err).toMatch(/^error: .*not a sim node state file/);
      // And it is left as it was.
      expect(readFileSync(file, "utf8")).toBe("shopping list\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
  it("serves HTTPS with --tls-cert/--tls-key, and the LND adapter pins that certificate", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sim-cli-tls-"));
    const pems = await generate([{ name: "commonName", value: "sim tls" }], { keyType: "ec", curve: "P-256", algorithm: "sha256" });
    writeFileSync(path.join(dir, "tls.cert"), pems.cert);
    writeFileSync(path.join(dir, "tls.key"), pems.private);
    const { child, url } = await startCli(["--port", "0", "--tls-cert", path.join(dir, "tls.cert"), "--tls-key", path.join(dir, "tls.key")]);
    const backend = new LndBackend({ url, tlsCertPem: pems.cert });
    try {
      expect(url).toMatch(/^https:/);
      await backend.start();
      expect((await backend.nodeInfo()).network).toBe("regtest");
    } finally {
      await backend.stop();
      child.kill("SIGTERM");
      await once(child, "exit");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
