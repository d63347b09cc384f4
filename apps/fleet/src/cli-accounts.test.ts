// `zapvend-fleet user|token ...` against a real SQLite file: the first admin, a generated password printed once,
// a token shown once, and every change in the audit with the actor `cli`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AuthService } from "./auth/auth-service.js";
import { AuthStore } from "./auth/auth-store.js";
import { runAccounts } from "./cli-accounts.js";
import { SqliteDb } from "./store/db.js";
import { FleetStore } from "./store/fleet-store.js";
import { DEFAULT_FLEET_SECURITY } from "@zapvend/protocol";

describe("zapvend-fleet user / token", () => {
  let dir: string;
  let config: string;
  let printed: string[];

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "zapvend-cli-"));
    config = path.join(dir, "fleet.json");
    writeFileSync(config, JSON.stringify({ database: path.join(dir, "fleet.db"), operatorKey: { keyId: "k", privateKeyPath: path.join(dir, "key.pem") } }));
    printed = [];
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => (printed.push(String(s)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (positionals: string[], o: { role?: string; generate?: boolean } = {}) => runAccounts({ config, positionals, ...o });

  it("adds the first admin with a generated password, lists users, adds and revokes a token", async () => {
    await run(["user", "add", "root", ], { role: "admin", generate: true });
    const pw = /password: (\S+)/.exec(printed.join(""))![1]!;
    expect(pw).toHaveLength(20);
    await expect(run(["user", "add", "root"], { role: "admin", generate: true })).rejects.toMatchObject({ code: "user_exists" });
    await expect(run(["user", "add", "x"], { role: "boss", generate: true })).rejects.toMatchObject({ code: "bad_args" });
    await run(["token", "add", "backup-script"], { role: "viewer" });
    const secret = /secret .*: (zvf_\S+)/.exec(printed.join(""))![1]!;
    printed.length = 0;
    await run(["user", "list"]);
    expect(printed.join("")).toMatch(/^root\tadmin\ttotp=off\tsessions=0\tlast login=never\n$/);

    const store = new FleetStore(new SqliteDb(path.join(dir, "fleet.db")));
    await store.start(Date.now());
    const auth = new AuthService({ store: new AuthStore(store.db), security: DEFAULT_FLEET_SECURITY, now: Date.now });
    expect((await auth.login({ username: "root", password: pw }, "127.0.0.1")).info.role).toBe("admin");
    expect(await auth.tokenPrincipal(secret)).toMatchObject({ name: "backup-script", role: "viewer" });
    await run(["token", "revoke", "backup-script"]);
    expect(await auth.tokenPrincipal(secret)).toBeNull();
    expect((await auth.listAudit({ actor: "cli" })).map((a) => a.action).reverse()).toEqual(["user.add", "token.add", "token.revoke"]);
    await store.close();
  });
});
