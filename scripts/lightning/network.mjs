// A regtest network on loopback: btcd and two LND nodes, the operator's (the machine's backend) and a buyer's (the
// wallet), with an active buyer-to-operator channel. Used by `npm run regtest` (regtest.mjs) and, through it, by the
// test fixture. Flags and flow checked against lnd@v0.21.6-beta (config.go, lncfg/*.go, lnrpc/*.yaml) and
// btcd@v0.26.2 (config.go, rpcserver.go, chaincfg/v2 params.go); see /work/shared/notes/lnd-regtest.md for the list.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { b64ToHex, btcdRpc, hexToB64, lnd, lndRequest } from "./rest.mjs";

/** Buyer's channel to the operator: below LND's non-wumbo limit of 16 777 215 sat. */
export const CHANNEL_SAT = 5_000_000;
const RPC_USER = "zapvend";
const RPC_PASS = "zapvend-regtest";

/** A free loopback TCP port (bound then released; the window for a clash is the few ms until the process binds it). */
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Polls `fn` until it returns a truthy value; throws with `what` and the last error after `timeoutMs`. */
export async function waitFor(what, fn, { timeoutMs = 120_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${lastErr.message}` : ""}`);
    await sleep(intervalMs);
  }
}

class Proc {
  constructor(name, bin, args, logPath) {
    this.name = name;
    this.bin = bin;
    this.args = args;
    this.logPath = logPath;
    this.child = undefined;
  }
  start() {
    const log = createWriteStream(this.logPath, { flags: "a" });
    const child = spawn(this.bin, this.args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.on("exit", (code, sig) => resolve({ code, sig })));
    child.on("error", () => undefined);
    return child.pid;
  }
  get running() {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop({ signal = "SIGTERM", graceMs = 20_000 } = {}) {
    if (!this.running) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.running && this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(t);
  }
  tail(lines = 15) {
    try {
      return readFileSync(this.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }
}

/**
 * Starts the network in `dir` (wiped first). `log(msg)` gets progress lines.
 * @returns {Promise<RegtestNetwork>}
 */
export async function startNetwork({ dir, bins, log = () => {} }) {
  const net = new RegtestNetwork(dir, bins, log);
  try {
    await net.start();
  } catch (err) {
    await net.stop().catch(() => undefined);
    throw err;
  }
  return net;
}

export class RegtestNetwork {
  constructor(dir, bins, log) {
    this.dir = dir;
    this.bins = bins;
    this.log = log;
    this.nodes = {};
  }

  async start() {
    const t0 = Date.now();
    const step = (m) => this.log(`${m} (+${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(join(this.dir, "btcd"), { recursive: true });

    const rpcPort = await freePort();
    this.btcd = {
      rpcUrl: `https://127.0.0.1:${rpcPort}`,
      rpcHost: `127.0.0.1:${rpcPort}`,
      rpcUser: RPC_USER,
      rpcPass: RPC_PASS,
      rpcCertPath: join(this.dir, "btcd", "rpc.cert"),
    };
    await this.startBtcd();
    step(`btcd ${this.btcd.rpcHost} up`);

    for (const name of ["operator", "buyer"]) {
      const d = join(this.dir, name);
      mkdirSync(d, { recursive: true });
      this.nodes[name] = {
        name,
        lnddir: d,
        rpcPort: await freePort(),
        restPort: await freePort(),
        p2pPort: await freePort(),
        tlsCertPath: join(d, "tls.cert"),
        adminMacaroonPath: join(d, "data", "chain", "bitcoin", "regtest", "admin.macaroon"),
      };
      this.nodes[name].restUrl = `https://127.0.0.1:${this.nodes[name].restPort}`;
      this.nodes[name].proc = new Proc(name, this.bins.lnd, this.lndArgs(this.nodes[name]), join(d, "lnd.out"));
    }
    // Both wallets are created in parallel (each needs a full-cost scrypt at first start).
    await Promise.all(Object.values(this.nodes).map((n) => this.startLnd(n, { synced: false })));
    step("operator and buyer LND answer");

    // btcd's `generate` pays to --miningaddr only, and only from its start-up flags (rpcserver.go handleGenerate):
    // restart it with the buyer's address so the coinbases fund the buyer. LND reconnects by itself.
    const buyer = this.nodes.buyer;
    const { address } = await lnd(buyer, "GET", "/v1/newaddress?type=WITNESS_PUBKEY_HASH");
    await this.btcdProc.stop();
    await this.startBtcd(address);
    // 100-block coinbase maturity (chaincfg/v2 RegressionNetParams): 101 blocks give one spendable 50 BTC coinbase;
    // a few more so the funding has several.
    await this.mine(105);
    step("mined 105 blocks to the buyer");
    await Promise.all(Object.values(this.nodes).map((n) => this.waitSynced(n)));
    await waitFor("the buyer's confirmed balance", async () => Number((await lnd(buyer, "GET", "/v1/balance/blockchain")).confirmed_balance) > 0);
    step("both nodes synced; buyer funded");

    // Least privilege for the machine: only what the LND adapter calls (see packages/payments/src/backends/lnd.ts).
    const op = this.nodes.operator;
    const baked = await lnd(op, "POST", "/v1/macaroon", {
      permissions: [
        { entity: "info", action: "read" },
        { entity: "invoices", action: "read" },
        { entity: "invoices", action: "write" },
      ],
    });
    op.macaroonPath = join(op.lnddir, "zapvend-invoice.macaroon");
    writeFileSync(op.macaroonPath, Buffer.from(baked.macaroon, "hex"));
    buyer.macaroonPath = buyer.adminMacaroonPath;

    await this.connectPeers();
    await this.openChannel();
    step(`channel buyer -> operator of ${CHANNEL_SAT} sat active`);
    this.writeEnv();
  }

  async startBtcd(miningAddr) {
    const d = join(this.dir, "btcd");
    const args = [
      "--regtest",
      `--datadir=${join(d, "data")}`,
      `--logdir=${join(d, "logs")}`,
      `--rpccert=${this.btcd.rpcCertPath}`,
      `--rpckey=${join(d, "rpc.key")}`,
      `--rpcuser=${RPC_USER}`,
      `--rpcpass=${RPC_PASS}`,
      `--rpclisten=${this.btcd.rpcHost}`,
      // No P2P listener: the default is every interface (btcd config.go), and nothing here peers with btcd.
      "--nolisten",
      "--txindex",
      "--nobanning",
      "--nostalldetect",
      "--rpcmaxwebsockets=50",
      "--debuglevel=info",
      ...(miningAddr ? [`--miningaddr=${miningAddr}`] : []),
    ];
    this.btcdProc = new Proc("btcd", this.bins.btcd, args, join(d, "btcd.out"));
    this.btcdProc.start();
    await waitFor(
      "btcd's RPC",
      async () => {
        if (!this.btcdProc.running) throw new Error(`btcd exited:\n${this.btcdProc.tail()}`);
        this.btcd.certPem ??= existsSync(this.btcd.rpcCertPath) ? readFileSync(this.btcd.rpcCertPath, "utf8") : undefined;
        if (!this.btcd.certPem) return false;
        return (await btcdRpc(this.btcd, "getblockcount")) >= 0;
      },
      { timeoutMs: 60_000 },
    );
  }

  lndArgs(n) {
    return [
      `--lnddir=${n.lnddir}`,
      "--bitcoin.regtest",
      "--bitcoin.node=btcd",
      `--btcd.rpchost=${this.btcd.rpcHost}`,
      `--btcd.rpcuser=${RPC_USER}`,
      `--btcd.rpcpass=${RPC_PASS}`,
      // LND always talks TLS to btcd (chainreg/chainregistry.go: DisableTLS false).
      `--btcd.rpccert=${this.btcd.rpcCertPath}`,
      `--rpclisten=127.0.0.1:${n.rpcPort}`,
      `--restlisten=127.0.0.1:${n.restPort}`,
      `--listen=127.0.0.1:${n.p2pPort}`,
      `--alias=zapvend-${n.name}`,
      // The wallet is made and unlocked with a default passphrase: a throwaway regtest node.
      "--noseedbackup",
      "--nobootstrap",
      "--debuglevel=info",
      // One confirmation opens a channel (else it scales with size), a short CSV for the buyer's own funds.
      "--bitcoin.defaultchanconfs=1",
      "--bitcoin.defaultremotedelay=4",
      "--trickledelay=50",
      "--gossip.sub-batch-delay=5ms",
      "--db.batch-commit-interval=10ms",
    ];
  }

  /** Starts (or restarts) one LND and waits until its REST answers; with `synced`, also until it is at the tip. */
  async startLnd(n, { synced = true } = {}) {
    n.proc.start();
    await waitFor(
      `${n.name} LND's REST API`,
      async () => {
        if (!n.proc.running) throw new Error(`${n.name} lnd exited:\n${n.proc.tail()}`);
        if (!existsSync(n.adminMacaroonPath) || !existsSync(n.tlsCertPath)) return false;
        n.certPem = readFileSync(n.tlsCertPath, "utf8");
        n.macaroonHex = readFileSync(n.adminMacaroonPath).toString("hex");
        const r = await lndRequest(n, "GET", "/v1/getinfo", undefined, { timeoutMs: 5_000 });
        if (r.status !== 200) return false;
        n.pubkey = r.json.identity_pubkey;
        return true;
      },
      { timeoutMs: 180_000 },
    );
    if (synced) await this.waitSynced(n);
  }

  async waitSynced(n) {
    const tip = await btcdRpc(this.btcd, "getblockcount");
    await waitFor(
      `${n.name} LND synced to height ${tip}`,
      async () => {
        const info = await lnd(n, "GET", "/v1/getinfo", undefined, { timeoutMs: 5_000 });
        return info.synced_to_chain && info.block_height >= tip;
      },
      { timeoutMs: 180_000 },
    );
  }

  /** The buyer connects to the operator (synchronously: `perm: true` would connect in the background). */
  async connectPeers() {
    const buyer = this.nodes.buyer;
    const op = this.nodes.operator;
    await waitFor(
      "the buyer connected to the operator",
      async () => {
        const { peers = [] } = await lnd(buyer, "GET", "/v1/peers");
        if (peers.some((p) => p.pub_key === op.pubkey)) return true;
        const r = await lndRequest(buyer, "POST", "/v1/peers", { addr: { pubkey: op.pubkey, host: `127.0.0.1:${op.p2pPort}` }, perm: false, timeout: "20" });
        if (r.status !== 200 && !/already connected/.test(r.text)) throw new Error(r.text.slice(0, 200));
        return false;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }

  async openChannel() {
    const buyer = this.nodes.buyer;
    const op = this.nodes.operator;
    const point = await lnd(buyer, "POST", "/v1/channels", {
      node_pubkey: hexToB64(op.pubkey),
      local_funding_amount: String(CHANNEL_SAT),
      push_sat: "0",
      private: false,
    });
    // funding_txid_bytes is the txid in internal (reversed) byte order.
    const txid = Buffer.from(b64ToHex(point.funding_txid_bytes), "hex").reverse().toString("hex");
    this.channelPoint = `${txid}:${point.output_index ?? 0}`;
    await waitFor("the funding transaction in btcd's mempool", async () => (await btcdRpc(this.btcd, "getrawmempool")).includes(txid), { timeoutMs: 60_000 });
    await this.mine(3);
    await this.waitChannelActive();
  }

  async waitChannelActive() {
    for (const n of Object.values(this.nodes)) {
      await waitFor(
        `the channel active on ${n.name}`,
        async () => {
          const { channels = [] } = await lnd(n, "GET", "/v1/channels?active_only=true");
          return channels.some((c) => c.channel_point === this.channelPoint);
        },
        { timeoutMs: 180_000 },
      );
    }
  }

  async mine(blocks) {
    return btcdRpc(this.btcd, "generate", [blocks]);
  }

  /** SIGKILLs (or stops) one LND: a crash as the field sees it. */
  async killNode(name, signal = "SIGKILL") {
    const n = this.node(name);
    await n.proc.stop({ signal });
  }

  /** Starts a stopped LND again on the same directory and ports; waits until synced and its channel is active. */
  async startNode(name) {
    const n = this.node(name);
    if (!n.proc.running) await this.startLnd(n, { synced: true });
    await this.waitChannelActive();
  }

  node(name) {
    const n = this.nodes[name];
    if (!n) throw new Error(`no node ${name} (operator, buyer)`);
    return n;
  }

  env(extra = {}) {
    const pub = (n) => ({
      restUrl: n.restUrl,
      macaroonPath: n.macaroonPath,
      adminMacaroonPath: n.adminMacaroonPath,
      tlsCertPath: n.tlsCertPath,
      pubkey: n.pubkey,
      p2pHost: `127.0.0.1:${n.p2pPort}`,
      lnddir: n.lnddir,
      pid: n.proc.child?.pid,
    });
    return {
      network: "regtest",
      btcd: { rpcUrl: this.btcd.rpcUrl, rpcUser: RPC_USER, rpcPass: RPC_PASS, rpcCertPath: this.btcd.rpcCertPath, pid: this.btcdProc.child?.pid },
      operator: pub(this.nodes.operator),
      buyer: pub(this.nodes.buyer),
      channelPoint: this.channelPoint,
      ...extra,
    };
  }

  writeEnv(extra) {
    this.envExtra = { ...this.envExtra, ...extra };
    writeFileSync(join(this.dir, "env.json"), `${JSON.stringify(this.env(this.envExtra), null, 2)}\n`);
  }

  /** Stops every process (LND first, then btcd); leaves nothing running. */
  async stop() {
    await Promise.all(Object.values(this.nodes).map((n) => n.proc?.stop()));
    await this.btcdProc?.stop();
    try {
      rmSync(join(this.dir, "env.json"), { force: true });
    } catch {
      // already gone
    }
  }
}
