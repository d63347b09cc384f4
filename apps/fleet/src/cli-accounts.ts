// `zapvend-fleet user ...` and `zapvend-fleet token ...`: accounts managed on the server's host, straight in the
// fleet's database (the first admin cannot come from the API, which needs an admin). Every change is audited with
// the actor `cli`.
import { readFileSync } from "node:fs";
import os from "node:os";
import { FLEET_ROLES, FleetRoleSchema, AccountName, parseFleetConfig, type FleetRole } from "@zapvend/protocol";
import { AuthService } from "./auth/auth-service.js";
import { AuthStore } from "./auth/auth-store.js";
import { generatePassword } from "./auth/passwords.js";
import { FleetError } from "./errors.js";
import { openDatabase } from "./server.js";
import { FleetStore } from "./store/fleet-store.js";

export const ACCOUNTS_USAGE = `usage:
  zapvend-fleet --config <file> user add <name> --role <viewer|technician|operator|admin> [--password-stdin | --generate] [--replace]
  zapvend-fleet --config <file> user list
  zapvend-fleet --config <file> user remove <name>
  zapvend-fleet --config <file> user passwd <name> [--password-stdin | --generate]
  zapvend-fleet --config <file> user role <name> <role>
  zapvend-fleet --config <file> user revoke-sessions <name>
  zapvend-fleet --config <file> user totp-reset <name>
  zapvend-fleet --config <file> token add <name> --role <role>     (prints the token once)
  zapvend-fleet --config <file> token list
  zapvend-fleet --config <file> token revoke <id|name>
Without --password-stdin or --generate, a terminal is asked for the password twice; a pipe gets a generated one.
`;

export interface AccountsArgs {
  config: string;
  positionals: string[];
  role?: string | undefined;
  passwordStdin?: boolean | undefined;
  generate?: boolean | undefined;
  replace?: boolean | undefined;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function roleOf(r: string | undefined): FleetRole {
  const p = FleetRoleSchema.safeParse(r);
  if (!p.success) throw new FleetError("bad_args", `--role must be one of ${FLEET_ROLES.join(", ")}`, 2);
  return p.data;
}

function nameOf(n: string | undefined): string {
  const p = AccountName.safeParse(n);
  if (!p.success) throw new FleetError("bad_args", "a name is 1-64 letters, digits, '.', '_' or '-'", 2);
  return p.data;
}

/** Reads a line from a terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off("data", onData);
          process.stderr.write("\n");
          return resolve(value);
        }
        if (ch === "\u0003") {
          stdin.setRawMode(false);
          stdin.off("data", onData);
          return reject(new FleetError("cancelled", "cancelled", 130));
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

/** The password to set and whether it was generated (then it is printed once). */
async function passwordFrom(a: AccountsArgs): Promise<{ password: string; generated: boolean }> {
  if (a.passwordStdin) return { password: await readStdin(), generated: false };
  if (a.generate || !process.stdin.isTTY) return { password: generatePassword(), generated: true };
  const first = await promptHidden("password (12 characters or more): ");
  const second = await promptHidden("again: ");
  if (first !== second) throw new FleetError("bad_args", "the two passwords differ", 2);
  return { password: first, generated: false };
}

export async function runAccounts(a: AccountsArgs): Promise<void> {
  let text: string;
  try {
    text = readFileSync(a.config, "utf8");
  } catch (err) {
    throw new FleetError("bad_config", `cannot read ${a.config}: ${(err as Error).message}`, 2);
  }
  const parsed = parseFleetConfig(text);
  if (!parsed.ok) throw new FleetError(parsed.error.code, `${a.config}: ${parsed.error.path}: ${parsed.error.message}`, 2);
  const store = new FleetStore(openDatabase(process.env.DATABASE_URL ?? parsed.value.database));
  await store.start(Date.now());
  const auth = new AuthService({ store: new AuthStore(store.db), security: parsed.value.security, now: Date.now });
  const by = { actor: "cli", address: `cli@${os.hostname()}` };
  const [kind, verb, name, extra] = a.positionals;
  try {
    if (kind === "user" && verb === "add") {
      const n = nameOf(name);
      const role = roleOf(a.role);
      const { password, generated } = await passwordFrom(a);
      const exists = (await auth.store.getUser(n)) !== null;
      if (exists && a.replace) await auth.updateUser(n, { role, password }, by);
      else await auth.addUser(n, role, password, by);
      out(`${exists ? "replaced" : "added"} user ${n} (${role})`);
      if (generated) out(`password: ${password}`);
    } else if (kind === "user" && verb === "list") {
      for (const u of await auth.listUsers()) {
        out(`${u.name}\t${u.role}\ttotp=${u.totp ? "on" : "off"}\tsessions=${u.sessions}\tlast login=${u.lastLoginAt ? new Date(u.lastLoginAt).toISOString() : "never"}`);
      }
    } else if (kind === "user" && verb === "remove") {
      await auth.removeUser(nameOf(name), by);
      out(`removed user ${name}`);
    } else if (kind === "user" && verb === "passwd") {
      const n = nameOf(name);
      const { password, generated } = await passwordFrom(a);
      await auth.updateUser(n, { password }, by);
      out(`changed the password of ${n} (their sessions are ended)`);
      if (generated) out(`password: ${password}`);
    } else if (kind === "user" && verb === "role") {
      await auth.updateUser(nameOf(name), { role: roleOf(extra) }, by);
      out(`${name} is now ${extra}`);
    } else if (kind === "user" && verb === "revoke-sessions") {
      out(`ended ${await auth.revokeSessions(nameOf(name), by)} session(s) of ${name}`);
    } else if (kind === "user" && verb === "totp-reset") {
      await auth.disableTotp(nameOf(name), by);
      out(`removed the second factor of ${name}`);
    } else if (kind === "token" && verb === "add") {
      const created = await auth.createToken(nameOf(name), roleOf(a.role), by);
      out(`token ${created.token.name} (${created.token.role}) id ${created.token.id}`);
      out(`secret (shown once, send as Authorization: Bearer <secret>): ${created.secret}`);
    } else if (kind === "token" && verb === "list") {
      for (const t of await auth.listTokens()) {
        out(`${t.id}\t${t.name}\t${t.role}\tcreated=${new Date(t.createdAt).toISOString()}\t${t.revokedAt ? `revoked=${new Date(t.revokedAt).toISOString()}` : "live"}`);
      }
    } else if (kind === "token" && verb === "revoke") {
      if (!name) throw new FleetError("bad_args", "token revoke needs an id or a name", 2);
      const revoked = await auth.revokeToken(name, by);
      out(`revoked ${revoked.length} token(s): ${revoked.map((t) => t.id).join(", ")}`);
    } else {
      throw new FleetError("bad_args", `unknown command: ${a.positionals.join(" ")}\n${ACCOUNTS_USAGE}`, 2);
    }
  } finally {
    await store.close();
  }
}
