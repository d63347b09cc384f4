// The broker ACL of a zapvend fleet, as the embedded broker enforces it: the very rules of hardware/broker/zapvend.acl
// (the Mosquitto ACL file, whose format this reads), so `npm start` and a production Mosquitto refuse the same things.
// Format as Mosquitto documents it (mosquitto.conf(5), `acl_file`, and the aclfile.example it ships, 2.0.x):
// `user <name>` starts a user's section; `topic [read|write|readwrite] <t>` grants that user (lines before any `user`
// grant anonymous clients); `pattern [read|write|readwrite] <t>` grants every user, with `%u` the username and `%c`
// the client id; `#` starts a comment; the access defaults to readwrite. Anything not granted is denied. `deny`
// lines are refused here (zapvend.acl has none). A `%u`/`%c` holding `+` or `#` gets no pattern access (Mosquitto
// denies such clients since the CVE-2017-7650 fix); `/` is refused too, so a username cannot reach another level.
import { BridgeError, BridgeErrorCode } from "./errors.js";

export type AclAccess = "read" | "write";

interface AclRule {
  /** `undefined`: a pattern for every user. `null`: anonymous. */
  user: string | null | undefined;
  read: boolean;
  write: boolean;
  topic: string;
}

/** The rules of hardware/broker/zapvend.acl (a test checks they are the file's, line for line). */
export const ZAPVEND_ACL = `user zapvend-fleet
topic read zapvend/v1/m/#
topic write zapvend/v1/m/+/state/desired
topic write zapvend/v1/m/+/cmd/+
topic write zapvend/v1/m/+/event-ack
topic readwrite zapvend/v1/fleet/state
topic readwrite zapvend/v1/fleet/live
topic write zapvend/v1/pictures/#
pattern write zapvend/v1/m/%u/status
pattern write zapvend/v1/m/%u/birth
pattern write zapvend/v1/m/%u/telemetry
pattern write zapvend/v1/m/%u/event/+
pattern write zapvend/v1/m/%u/state/reported
pattern write zapvend/v1/m/%u/cmd/+/res
pattern read zapvend/v1/m/%u/state/desired
pattern read zapvend/v1/m/%u/cmd/+
pattern read zapvend/v1/m/%u/event-ack
pattern read zapvend/v1/fleet/state
pattern read zapvend/v1/pictures/+
`;

/** A parsed Mosquitto ACL: `allows(user, clientId, access, topic)`. */
export class BrokerAcl {
  private constructor(
    private readonly rules: readonly AclRule[],
    /** Users with a `user` section: the services (the fleet), as opposed to machines. */
    readonly namedUsers: ReadonlySet<string>,
  ) {}

  static parse(text: string): BrokerAcl {
    const rules: AclRule[] = [];
    const named = new Set<string>();
    let user: string | null = null;
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const m = /^(user|topic|pattern)\s+(.+)$/.exec(line);
      if (!m) throw new BridgeError(BridgeErrorCode.BAD_ACL, `ACL line ${i + 1}: expected user, topic or pattern: ${line.slice(0, 80)}`);
      const [, kind, rest] = m as unknown as [string, "user" | "topic" | "pattern", string];
      if (kind === "user") {
        user = rest.trim();
        named.add(user);
        continue;
      }
      const a = /^(?:(read|write|readwrite|deny)\s+)?(\S+)$/.exec(rest.trim());
      if (!a) throw new BridgeError(BridgeErrorCode.BAD_ACL, `ACL line ${i + 1}: expected [read|write|readwrite] <topic>: ${line.slice(0, 80)}`);
      const access = a[1] ?? "readwrite";
      if (access === "deny") throw new BridgeError(BridgeErrorCode.BAD_ACL, `ACL line ${i + 1}: deny rules are not supported by the embedded broker`);
      rules.push({ user: kind === "pattern" ? undefined : user, read: access !== "write", write: access !== "read", topic: a[2]! });
    }
    return new BrokerAcl(rules, named);
  }

  /**
   * Whether `username` (null: anonymous) connected as `clientId` may `access` the concrete topic `topic`. A few
   * microseconds: the embedded broker remembers the answers per client (`AclCache`).
   */
  allows(username: string | null, clientId: string, access: AclAccess, topic: string): boolean {
    return this.evaluate(username, clientId, access, topic);
  }

  private evaluate(username: string | null, clientId: string, access: AclAccess, topic: string): boolean {
    for (const r of this.rules) {
      if (!(access === "read" ? r.read : r.write)) continue;
      let filter = r.topic;
      if (r.user === undefined) {
        if (username === null) continue; // patterns need a username to substitute (Mosquitto: anonymous skips them)
        if (filter.includes("%u")) {
          if (/[+#/]/.test(username)) continue;
          filter = filter.replaceAll("%u", username);
        }
        if (filter.includes("%c")) {
          if (/[+#/]/.test(clientId)) continue;
          filter = filter.replaceAll("%c", clientId);
        }
      } else if (r.user !== username) continue;
      if (topicMatches(filter, topic)) return true;
    }
    return false;
  }
}

/** MQTT filter matching (`+` one level, `#` the rest) of a concrete topic. `$` topics match no leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    const part = f[i]!;
    if (part === "#") return true;
    if (i >= t.length) return false;
    if (part !== "+" && part !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * One client's ACL answers by topic: a machine uses a handful of topics, and the broker asks on every publication and
 * every delivery, so nearly every question is one Map lookup instead of a walk over the rules. Bounded per client
 * (emptied at 1,000 topics: a client that invents topics only costs the walk).
 */
export class AclCache {
  private readonly read = new Map<string, boolean>();
  private readonly write = new Map<string, boolean>();

  constructor(
    private readonly acl: BrokerAcl,
    private readonly username: string | null,
    private readonly clientId: string,
  ) {}

  allows(access: AclAccess, topic: string): boolean {
    const m = access === "read" ? this.read : this.write;
    const known = m.get(topic);
    if (known !== undefined) return known;
    const ok = this.acl.allows(this.username, this.clientId, access, topic);
    if (m.size >= 1_000) m.clear();
    m.set(topic, ok);
    return ok;
  }
}
