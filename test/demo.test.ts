// `npm start` as a newcomer runs it: every part in its own process on embedded defaults. A purchase on the snacks
// kiosk is paid from the sim wallet, the product comes out, and the sale reaches the fleet server over MQTT. The
// fleet's alerts reach the demo's loopback webhook receiver, which checks each signature and prints a `notify:` line.
// Ports are moved off the defaults so a demo already running on this machine does not collide with the test.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let launcher: ChildProcess;
const urls = new Map<string, string>();
let output = "";
/** The launcher's stdout: the URLs, then the catalog seed's line and the `notify: ...` lines of alerts. */
let stdout = "";
const demoDir = mkdtempSync(path.join(tmpdir(), "zapvend-demo-"));

beforeAll(async () => {
  launcher = spawn(process.execPath, [path.join(root, "scripts/start.mjs")], {
    cwd: root,
    env: {
      ...process.env,
      ZAPVEND_DEMO_DIR: demoDir,
      ZAPVEND_SIM_PORT: "18060",
      ZAPVEND_FLEET_PORT: "18090",
      ZAPVEND_KIOSK_PORTS: "18080,18081,18082",
      ZAPVEND_NOTIFY_PORT: "18070",
      ZAPVEND_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, as a terminal runs a foreground job: Ctrl-C is a SIGINT to the whole group.
    detached: true,
  });
  launcher.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo not up in 120 s:\n${output.slice(-3000)}`)), 120_000);
    launcher.on("exit", (code) => reject(new Error(`launcher exited (${code}):\n${output.slice(-3000)}`)));
    let buf = "";
    launcher.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      buf += d.toString();
      for (const line of buf.split("\n").slice(0, -1)) {
        const m = /^([^:]+): (\S+)$/.exec(line);
        if (m) urls.set(m[1]!, m[2]!);
      }
      buf = buf.slice(buf.lastIndexOf("\n") + 1);
      // Up once every part printed its URL and the fleet catalog is seeded (its desired states sent).
      if (["broker", "sim-lightning", "notify webhook", "fleet", "kiosk drinks-01", "kiosk snacks-01", "kiosk mdb-01"].every((k) => urls.has(k)) && /^catalog: /m.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}, 150_000);

afterAll(() => {
  // Only when a test failed before the Ctrl-C test: never leave the demo running.
  if (launcher?.pid && launcher.exitCode === null) process.kill(-launcher.pid, "SIGKILL");
  for (const pid of partPids) if (alive(pid)) process.kill(pid, "SIGKILL");
});

/** The processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
let partPids: number[] = [];

describe("npm start", () => {
  it("prints every URL, one per line as <name>: <url>", () => {
    expect(urls.get("kiosk drinks-01")).toBe("http://127.0.0.1:18080");
    expect(urls.get("kiosk snacks-01")).toBe("http://127.0.0.1:18081");
    expect(urls.get("kiosk mdb-01")).toBe("http://127.0.0.1:18082");
    expect(urls.get("fleet")).toBe("http://127.0.0.1:18090");
    expect(urls.get("sim-lightning")).toBe("http://127.0.0.1:18060");
    expect(urls.get("broker")).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(urls.get("notify webhook")).toBe("http://127.0.0.1:18070/zapvend-alerts");
    expect(stdout).toMatch(/^catalog: seeded 8 products on 8 slots, with pictures$/m);
  });

  it("sells a snack end to end and the fleet records the sale", async () => {
    const kiosk = urls.get("kiosk snacks-01")!;
    // Right after start the machine may still be waiting for its first door reading or backend answer.
    let health: Record<string, unknown> = {};
    await expect
      .poll(async () => {
        health = (await (await fetch(`${kiosk}/api/health`)).json()) as Record<string, unknown>;
        return health.selling;
      }, { timeout: 15_000, interval: 250 })
      .toBe(true);
    expect(health).toMatchObject({ demoWallet: true, payments: "up", door: "closed" });
    const created = await fetch(`${kiosk}/api/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slot: "A1" }) });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { orderId: string; bolt11: string; paymentHash: string };
    const paid = await fetch(`${urls.get("sim-lightning")}/wallet/pay`, { method: "POST", body: JSON.stringify({ bolt11: order.bolt11 }) });
    expect(paid.status).toBe(200);
    // The wallet learns of the settlement a moment before the machine has journaled `completed`.
    await expect
      .poll(async () => ((await (await fetch(`${kiosk}/api/orders/${order.orderId}`)).json()) as { state: string }).state, { timeout: 15_000 })
      .toBe("completed");
    const fleet = urls.get("fleet")!;
    // The fleet's API needs a login: the demo admin's password is drawn at start and saved for the operator.
    const adminFile = path.join(demoDir, "admin.json");
    expect(statSync(adminFile).mode & 0o777).toBe(0o600);
    const admin = JSON.parse(readFileSync(adminFile, "utf8")) as { username: string; password: string };
    expect((await fetch(`${fleet}/api/machines`)).status).toBe(401);
    const login = await fetch(`${fleet}/api/login`, { method: "POST", headers: { "content-type": "application/json", origin: fleet }, body: JSON.stringify(admin) });
    expect(login.status).toBe(200);
    const headers = { cookie: login.headers.get("set-cookie")!.split(";")[0]! };
    expect(((await login.json()) as { role: string }).role).toBe("admin");
    await expect
      .poll(async () => {
        const sales = (await (await fetch(`${fleet}/api/sales?machine=snacks-01`, { headers })).json()) as unknown;
        const list = Array.isArray(sales) ? sales : ((sales as { sales?: unknown[] }).sales ?? []);
        return (list as Array<{ paymentHash: string }>).some((s) => s.paymentHash === order.paymentHash);
      }, { timeout: 15_000, interval: 250 })
      .toBe(true);
    const machines = (await (await fetch(`${fleet}/api/machines`, { headers })).json()) as unknown;
    const list = (Array.isArray(machines) ? machines : (machines as { machines: unknown[] }).machines) as Array<{ id: string; status: string }>;
    expect(list.map((m) => m.id).sort()).toEqual(["drinks-01", "mdb-01", "snacks-01"]);
  }, 60_000);

  it("sells on the MDB machine: the sim VMC's keypad starts the order, the VMC's VEND SUCCESS settles it", async () => {
    const kiosk = urls.get("kiosk mdb-01")!;
    await expect.poll(async () => ((await (await fetch(`${kiosk}/api/health`)).json()) as { selling: boolean }).selling, { timeout: 15_000, interval: 250 }).toBe(true);
    const pressed = await fetch(`${kiosk}/api/demo/vmc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ select: 10 }) });
    expect(pressed.status).toBe(200);
    let order: { orderId: string; bolt11: string | null; state: string; slot: string } | null = null;
    await expect
      .poll(async () => {
        order = ((await (await fetch(`${kiosk}/api/orders/current`)).json()) as { order: typeof order }).order;
        return order?.state;
      }, { timeout: 15_000, interval: 100 })
      .toBe("pending");
    expect(order!.slot).toBe("S10");
    const paid = await fetch(`${urls.get("sim-lightning")}/wallet/pay`, { method: "POST", body: JSON.stringify({ bolt11: order!.bolt11 }) });
    expect(paid.status).toBe(200);
    await expect.poll(async () => ((await (await fetch(`${kiosk}/api/orders/${order!.orderId}`)).json()) as { state: string }).state, { timeout: 15_000 }).toBe("completed");
    const vmc = (await (await fetch(`${kiosk}/api/demo/vmc`)).json()) as { lines: Array<{ line: string }> };
    expect(vmc.lines.some((l) => l.line.startsWith("c,VEND,SUCCESS"))).toBe(true);
  }, 60_000);

  it("prints an alert of the fleet as one notify: line, after checking its signature; a forged delivery is refused", async () => {
    const kiosk = urls.get("kiosk snacks-01")!;
    // The nuts (A4) start at 2: one sale leaves 1, below the fleet's low-stock threshold (2).
    await expect.poll(async () => ((await (await fetch(`${kiosk}/api/health`)).json()) as { selling: boolean }).selling, { timeout: 15_000, interval: 250 }).toBe(true);
    const created = await fetch(`${kiosk}/api/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slot: "A4" }) });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { orderId: string; bolt11: string };
    expect((await fetch(`${urls.get("sim-lightning")}/wallet/pay`, { method: "POST", body: JSON.stringify({ bolt11: order.bolt11 }) })).status).toBe(200);
    await expect
      .poll(() => stdout, { timeout: 30_000, interval: 250 })
      .toMatch(/^notify: raised warning low-stock on snacks-01: A4 \(Nuts\) has 1 left \(signature ok\)$/m);
    expect(statSync(path.join(demoDir, "notify.json")).mode & 0o777).toBe(0o600);

    // The receiver checks what it prints: a delivery signed with another secret is refused and prints nothing.
    const hook = urls.get("notify webhook")!;
    const body = JSON.stringify({ id: "forged", event: "raised", title: "x", text: "x", severity: "critical", alerts: [{ event: "raised", kind: "door-open", machineId: "snacks-01", severity: "critical", message: "forged" }], createdAt: Date.now() });
    const ts = String(Date.now());
    const sign = (secret: string) => `sha256=${createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex")}`;
    const post = (signature: string) =>
      fetch(hook, { method: "POST", headers: { "content-type": "application/json", "x-zapvend-timestamp": ts, "x-zapvend-signature": signature, "x-zapvend-delivery": "forged" }, body });
    expect((await post(sign("not-the-demo-secret-at-all"))).status).toBe(401);
    expect(stdout).not.toMatch(/forged/);
    await expect.poll(() => output).toMatch(/notify: a delivery with a bad or missing signature was refused/);
    // Signed with the channel's secret (as the fleet signs), the same body is printed.
    const { secret } = JSON.parse(readFileSync(path.join(demoDir, "notify.json"), "utf8")) as { secret: string };
    expect((await post(sign(secret))).status).toBe(200);
    expect(stdout).toMatch(/^notify: raised critical door-open on snacks-01: forged \(signature ok\)$/m);
  }, 60_000);

  it("serves the kiosk page", async () => {
    const res = await fetch(`${urls.get("kiosk drinks-01")}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
  });

  it("runs the embedded broker with a password per part: the demo's credentials file is private, anonymous clients are refused", async () => {
    const file = path.join(demoDir, "mqtt.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(demoDir).mode & 0o777).toBe(0o700);
    const { users } = JSON.parse(readFileSync(file, "utf8")) as { users: Record<string, string> };
    expect(Object.keys(users).sort()).toEqual(["drinks-01", "mdb-01", "snacks-01", "zapvend-fleet"]);
    for (const part of ["fleet.json", "snacks-01.json"]) expect(statSync(path.join(demoDir, part)).mode & 0o777).toBe(0o600);
    // The machines are online at the fleet (above) with their credentials; without any, the broker says no.
    const { default: mqtt } = await import("mqtt");
    const refused = await new Promise<string>((resolve) => {
      const c = mqtt.connect(urls.get("broker")!, { protocolVersion: 4, reconnectPeriod: 0, clientId: "zapvend-snacks-01" });
      c.once("connect", () => {
        c.end(true);
        resolve("connected");
      });
      c.once("error", (err) => {
        c.end(true);
        resolve(err.message);
      });
    });
    expect(refused).toMatch(/not authori[sz]ed/i);
    // The broker logs the refusal (a warning); wait for it here, so it is not read as a warning of the stop below.
    await expect.poll(() => output).toMatch(/connection refused: no credentials/);
  });

  // Last: it stops the demo.
  it("one Ctrl-C stops every part cleanly: no warning lines, exit 0, no process left", async () => {
    partPids = childrenOf(launcher.pid!);
    expect(partPids.length).toBe(6); // broker, sim node, fleet, three machines
    const before = output.length;
    const exited = new Promise<number | null>((resolve) => launcher.on("exit", (code) => resolve(code)));
    // What the terminal does on Ctrl-C: SIGINT to every process of the foreground process group.
    process.kill(-launcher.pid!, "SIGINT");
    expect(await exited).toBe(0);
    const stopLog = output.slice(before);
    expect(stopLog).not.toMatch(/second signal/);
    // No part logged a warning or an error on its way down (structured log lines carry their level).
    expect(stopLog.split("\n").filter((l) => /"level":"(warn|error)"|\b(WARN|ERROR)\b|exited \(/.test(l))).toEqual([]);
    await expect.poll(() => partPids.filter(alive)).toEqual([]);
  }, 60_000);
});
