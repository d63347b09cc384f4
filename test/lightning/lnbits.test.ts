// LNbits for real: LNbits from PyPI (scripts/lightning/versions.mjs pins it) with the regtest operator's LND as its
// funding source (LndRestWallet), and the machine daemon selling through the LNbits adapter with the wallet's
// invoice key: a plain invoice, the buyer's LND pays over the real channel, the product comes out after SETTLED.
// Skips (and says why) when LNbits is not installed; with ZAPVEND_REQUIRE_SERVICES=1 that is a failure.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error -- plain ESM helpers without types
import { Processes, bins, freePort, http, machineConfig, root, until } from "../crash/system.mjs";
// @ts-expect-error -- plain ESM helpers without types
import { readPhysical } from "../crash/reconcile.mjs";
// @ts-expect-error -- plain ESM harness without types
import { lnd, lndStream } from "../../scripts/lightning/rest.mjs";
// @ts-expect-error -- plain ESM script without types
import { lnbitsInstall } from "../../scripts/lightning/versions.mjs";
import { restNode, type RegtestEnv } from "./regtest-env.js";

const env = inject("regtest");
const install = lnbitsInstall() as { lnbits?: string; missing?: string };
if (install.missing && env && process.env.ZAPVEND_REQUIRE_SERVICES === "1") throw new Error(`ZAPVEND_REQUIRE_SERVICES=1 but ${install.missing}`);
const skipReason = !env ? inject("regtestSkipReason") : install.missing;

describe.skipIf(!!skipReason)(`LNbits on the regtest operator's LND${skipReason ? `: skipped, ${skipReason}` : ""}`, () => {
  const e = env as RegtestEnv;
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-lnbits-"));
  const procs = new Processes(dir);
  const physicalLog = path.join(dir, "physical.jsonl");
  let lnbits: ChildProcess | undefined;
  let lnbitsUrl = "";
  let inkey = "";
  let kioskUrl = "";

  beforeAll(async () => {
    const missing = [bins.broker, bins.machine].filter((f: string) => !existsSync(f));
    if (missing.length) throw new Error(`not built: ${missing.join(", ")} (run npx turbo run build)`);
    const port = await freePort();
    lnbitsUrl = `http://127.0.0.1:${port}`;
    // LNbits reads its funding source from the environment when the admin UI is off (lnbits 1.6.2 settings.py).
    // LndRestWallet (lnbits/wallets/lndrest.py) takes the REST endpoint, LND's tls.cert and a macaroon; its status
    // check reads channel balances, so it gets the operator's admin macaroon: LNbits is the operator's own server.
    // LNbits 1.6.2 mounts its static files by a path relative to the working directory (lnbits/app.py:
    // StaticFiles(directory=Path("lnbits", "static"))), so it runs from its site-packages directory.
    const venv = path.dirname(path.dirname(install.lnbits as string));
    const lib = readdirSync(path.join(venv, "lib")).find((d) => d.startsWith("python"));
    const logFd = openSync(path.join(dir, "lnbits.log"), "a");
    lnbits = spawn(install.lnbits as string, ["--host", "127.0.0.1", "--port", String(port)], {
      cwd: path.join(venv, "lib", lib ?? "python3", "site-packages"),
      env: {
        ...process.env,
        LNBITS_DATA_FOLDER: path.join(dir, "lnbits-data"),
        LNBITS_ADMIN_UI: "false",
        LNBITS_BACKEND_WALLET_CLASS: "LndRestWallet",
        LND_REST_ENDPOINT: e.operator.restUrl,
        LND_REST_CERT: e.operator.tlsCertPath,
        LND_REST_MACAROON: readFileSync(e.operator.adminMacaroonPath).toString("hex"),
      },
      stdio: ["ignore", logFd, logFd],
      // lnbits 1.6.2 (lnbits/server.py) runs uvicorn in a multiprocessing child: its own process group lets the
      // teardown stop both, not orphan the server.
      detached: true,
    });
    const account = await until(
      async () => {
        const r = await http(`${lnbitsUrl}/api/v1/account`, { method: "POST", body: { name: "zapvend machine" } });
        return r.status === 200 ? (r.body as { inkey: string; adminkey: string }) : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    if (!account) throw new Error(`LNbits did not answer at ${lnbitsUrl} within 180 s:\n${readFileSync(path.join(dir, "lnbits.log"), "utf8").slice(-2000)}`);
    inkey = account.inkey;

    const broker = await procs.startRetrying("broker", [bins.broker, "--port", String(await freePort()), "--allow-anonymous"], "broker");
    const cfg = machineConfig({
      machineId: "snacks-lnbits",
      port: await freePort(),
      brokerUrl: broker.url,
      simUrl: "",
      dataDir: path.join(dir, "data"),
      pinmap: path.join(root, "hardware/pinmaps/snacks.json"),
      catalog: [{ slot: "A1", name: "Nuts", kind: "spiral", price: { unit: "msat", amountMsat: "700000" }, stock: 3, capacity: 10 }],
    });
    // The wallet's invoice key only; LNbits does not tell that key its node, so the node key is configured.
    cfg.payments = { backend: { kind: "lnbits", url: lnbitsUrl, apiKey: inkey }, network: "regtest", payeeNodeKey: e.operator.pubkey, invoiceExpirySec: 120 };
    const file = path.join(dir, "machine.json");
    writeFileSync(file, JSON.stringify(cfg));
    const daemon = await procs.startRetrying("snacks-lnbits", [bins.machine, "--config", file], "kiosk snacks-lnbits", { env: { ZAPVEND_SIM_PHYSICAL_LOG: physicalLog }, timeoutMs: 60_000 });
    kioskUrl = daemon.url;
  }, 300_000);

  afterAll(async () => {
    await procs.stopAll(3_000);
    procs.killAllNow();
    const pid = lnbits?.pid;
    if (lnbits && pid !== undefined) {
      const group = (sig: NodeJS.Signals) => {
        try {
          process.kill(-pid, sig);
        } catch {
          // the group is gone
        }
      };
      const gone = lnbits.exitCode === null ? new Promise((r) => lnbits?.once("exit", r)) : Promise.resolve();
      group("SIGTERM");
      const t = setTimeout(() => group("SIGKILL"), 10_000);
      await gone;
      clearTimeout(t);
      // The server child may outlive its parent by a moment: make sure the whole group is gone.
      await until(
        () => {
          try {
            process.kill(-pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      group("SIGKILL");
    }
  }, 60_000);

  it("sells a product with a plain invoice: the buyer's node pays, LNbits sees it paid, the product comes out", async () => {
    const buyer = restNode(e.buyer, "buyer", { admin: true });
    const created = await until(
      async () => {
        const r = await http(`${kioskUrl}/api/orders`, { method: "POST", body: { slot: "A1" } });
        return r.status === 201 ? (r.body as { orderId: string; bolt11: string; paymentHash: string }) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(created, "the machine took an order through LNbits").toBeTruthy();
    const o = created as { orderId: string; bolt11: string; paymentHash: string };
    const paid = (await lndStream(buyer, "POST", "/v2/router/send", { payment_request: o.bolt11, timeout_seconds: 120, fee_limit_sat: "100" })) as { status: string };
    expect(paid.status).toBe("SUCCEEDED");
    const state = await until(
      async () => {
        const s = ((await http(`${kioskUrl}/api/orders/${o.orderId}`)).body as { state: string }).state;
        return ["completed", "credited", "refunded", "expired"].includes(s) ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(state).toBe("completed");
    // The real node's own record and LNbits' own record.
    const inv = (await lnd(restNode(e.operator, "operator", { admin: true }), "GET", `/v1/invoice/${o.paymentHash}`)) as { state: string; amt_paid_msat: string };
    expect(inv).toMatchObject({ state: "SETTLED", amt_paid_msat: "700000" });
    const lp = await http(`${lnbitsUrl}/api/v1/payments/${o.paymentHash}`, { headers: { "X-Api-Key": inkey } });
    expect(lp.body).toMatchObject({ paid: true });
    expect((readPhysical(physicalLog) as Array<{ kind: string }>).filter((p) => p.kind === "product")).toHaveLength(1);
  });
});
