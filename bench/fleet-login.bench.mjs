// The fleet's login as an operator waits for it (issue #15): `POST /api/login` over real HTTP on 127.0.0.1 into a
// real SQLite store, whose cost is the scrypt KDF (N=2^15, r=8, p=1; apps/fleet/src/auth/passwords.ts). Measured for
// an existing user with the right password (the KDF, a session row, an audit row) and, as the baseline, for an
// unknown user (the dummy-hash path): the two must take about the same time, so the answer's timing does not tell
// whether a user exists. Logins run one after the other (the p99 of one operator's login, not of a flood). The three
// series are interleaved with a bare scrypt of the same cost (the baseline), so a loaded machine slows all of them
// alike and the ratio shows what the login adds to the KDF.
import { randomBytes, scrypt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FleetHttpServer, FleetService, FleetStore, PASSWORD_COST, SqliteDb } from "@zapvend/fleet";
import { percentile, round } from "./lib.mjs";

const LOGINS = Number(process.env.ZAPVEND_BENCH_LOGINS ?? 60);
const GOAL_P99_MS = 300;
const PASSWORD = "bench password, long enough";

async function timeLogins(url, username, password, n) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/login`, { method: "POST", headers: { "content-type": "application/json", origin: url }, body: JSON.stringify({ username, password }) });
    await res.arrayBuffer();
    ms.push(performance.now() - t0);
    const want = username === "unknown-user" ? 401 : 200;
    if (res.status !== want) throw new Error(`login ${username}: HTTP ${res.status}, expected ${want}`);
  }
  return ms;
}

export default async function fleetLogin() {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-bench-login-"));
  const store = new FleetStore(new SqliteDb(path.join(dir, "fleet.db")));
  // No MQTT link: the login path never touches it.
  const service = new FleetService({ store, alertIntervalMs: 3_600_000 });
  await service.start();
  // The per-address lockout would stop the unknown-user series after 20 failures: this run is one trusted client.
  const http = new FleetHttpServer({ service, port: 0, security: { ...(await import("@zapvend/protocol")).DEFAULT_FLEET_SECURITY, maxFailuresPerAddress: 100_000, maxFailuresPerAccount: 100_000 } });
  await http.start();
  try {
    await http.auth.addUser("operator", "operator", PASSWORD, { actor: "bench", address: null });
    await timeLogins(http.url, "operator", PASSWORD, 3); // warm-up
    const ok = [];
    const unknown = [];
    const bare = [];
    const { N, r, p } = PASSWORD_COST;
    for (let i = 0; i < LOGINS; i++) {
      ok.push(...(await timeLogins(http.url, "operator", PASSWORD, 1)));
      unknown.push(...(await timeLogins(http.url, "unknown-user", PASSWORD, 1)));
      const t0 = performance.now();
      await new Promise((resolve, reject) => scrypt(PASSWORD, randomBytes(16), 32, { N, r, p, maxmem: 256 * 1024 * 1024 }, (e) => (e ? reject(e) : resolve())));
      bare.push(performance.now() - t0);
    }
    const p99 = round(percentile(ok, 99), 1);
    const p99Unknown = round(percentile(unknown, 99), 1);
    const med = round(percentile(ok, 50), 1);
    const medUnknown = round(percentile(unknown, 50), 1);
    return [
      {
        name: "fleet-login-kdf-p99-ms",
        label: `POST /api/login, right password (scrypt N=2^15 r=8 p=1), ${LOGINS} logins one after another`,
        value: p99,
        unit: "ms",
        median: med,
        p99,
        spread: round(percentile(ok, 95) - percentile(ok, 5), 1),
        samples: ok.length,
        baseline: round(percentile(bare, 99), 1),
        ratio: round(p99 / percentile(bare, 99), 2),
        goal: { op: "<=", value: GOAL_P99_MS },
      },
      {
        name: "fleet login: bare scrypt N=2^15 r=8 p=1 (baseline)",
        label: "node:crypto scrypt alone, interleaved with the logins",
        value: round(percentile(bare, 99), 1),
        unit: "ms",
        median: round(percentile(bare, 50), 1),
        p99: round(percentile(bare, 99), 1),
        samples: bare.length,
      },
      {
        name: "fleet login: unknown user vs existing user (median ratio)",
        label: "the dummy-hash path; ~1.0 means the timing does not tell whether the user exists",
        value: medUnknown,
        unit: "ms",
        median: medUnknown,
        p99: p99Unknown,
        baseline: med,
        ratio: round(medUnknown / med, 2),
        samples: unknown.length,
      },
    ];
  } finally {
    await http.stop();
    await service.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
