// The embedded default broker for `npm start`: aedes inside the process, nothing to install. With `users` it asks
// every client for a username and password and enforces the fleet's ACL (hardware/broker/zapvend.acl, see
// broker-acl.ts) as Mosquitto does with `allow_anonymous false`, `password_file`, `acl_file` and
// `use_username_as_clientid`. Its limits: MQTT 3.1.1 only (no MQTT 5), no persistence across restarts (in-memory
// sessions and retained messages), and memory that grows without a bound under overload (aedes queues for slow
// subscribers in memory). Production uses Mosquitto or a clustered broker: see hardware/broker/.
// The hooks follow aedes 1.2.0 (docs/Aedes.md "Handler: ..."; lib/handlers/connect.js sets `client.id` before
// `authenticate`; lib/handlers/publish.js closes the connection on an `authorizePublish` error; lib/client.js runs
// a will through `authorizePublish` and every delivery, retained ones included, through `authorizeForward`).
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:net";
import { AclCache, BrokerAcl, ZAPVEND_ACL } from "./broker-acl.js";
import { silentLogger, type Logger } from "./clock.js";
import { BridgeError, BridgeErrorCode } from "./errors.js";

export interface EmbeddedBrokerOptions {
  /** Port to try first. Default 1883; when taken, a free port is used. 0 picks a free port at once. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /**
   * Username -> password of every client (each machine by its machine id, and `zapvend-fleet`). Given, anonymous
   * clients and wrong passwords are refused and `acl` is enforced. Absent, the broker is open to anyone who reaches
   * the port (in-process tests on loopback only).
   */
  users?: Readonly<Record<string, string>>;
  /** Mosquitto ACL text enforced when `users` is set. Default: the rules of hardware/broker/zapvend.acl. */
  acl?: string;
  /** Refused connections, publications and subscriptions are logged here (`mqtt:broker`). */
  logger?: Logger;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  /** Whether clients must authenticate (the broker was given `users`). */
  authenticated: boolean;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.removeListener("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.removeListener("error", onError);
      const addr = server.address();
      resolve(addr && typeof addr === "object" ? addr.port : port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

const digest = (s: string | Buffer) => createHash("sha256").update(s).digest();

/** Where a publication the ACL denies goes: a `$` topic no subscription receives (see `authorizePublish`). */
const DENIED_TOPIC = "$denied/acl";

/** MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function connackError(returnCode: number, message: string): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

/** The identity checks and ACL as aedes hooks. */
function authHooks(users: Readonly<Record<string, string>>, acl: BrokerAcl, logger: Logger) {
  // Compared as digests with timingSafeEqual: the time taken says nothing about the password.
  const secrets = new Map(Object.entries(users).map(([u, p]) => [u, digest(p)]));
  const userOf = new WeakMap<object, string>();
  /** Each authenticated client's ACL answers (see AclCache); a client without one is denied everything. */
  const aclOf = new WeakMap<object, AclCache>();
  const denied = new WeakMap<object, number>();
  return {
    authenticate(client: { id: string }, username: string | undefined, password: Buffer | undefined, done: (err: Error | null, ok?: boolean) => void) {
      if (username === undefined || password === undefined) {
        logger.warn("connection refused: no credentials", { clientId: client.id.slice(0, 64), code: "not_authorized" });
        return done(connackError(NOT_AUTHORIZED, "not authorized"), false);
      }
      const want = secrets.get(username);
      if (!want || !timingSafeEqual(want, digest(password))) {
        logger.warn("connection refused: bad username or password", { username: username.slice(0, 64), code: "bad_credentials" });
        return done(connackError(BAD_USERNAME_OR_PASSWORD, "bad user name or password"), false);
      }
      // Mosquitto's use_username_as_clientid: the session belongs to the username. aedes keeps the client's id, so a
      // machine must connect as `zapvend-<its id>` (what MachineBridge does) or `<its id>`, never as another
      // client's id: taking over machine B's session would hand A the commands queued for B.
      const machineIds = new Set([username, `zapvend-${username}`]);
      const service = acl.namedUsers.has(username);
      const takesOver = [...secrets.keys()].some((u) => u !== username && !acl.namedUsers.has(u) && (client.id === u || client.id === `zapvend-${u}`));
      if ((!service && !machineIds.has(client.id)) || (service && takesOver)) {
        logger.warn("connection refused: client id of another client", { username: username.slice(0, 64), clientId: client.id.slice(0, 64), code: "not_authorized" });
        return done(connackError(NOT_AUTHORIZED, "not authorized"), false);
      }
      userOf.set(client, username);
      aclOf.set(client, new AclCache(acl, username, client.id));
      done(null, true);
    },
    // Publications (and a client's will, which aedes authorizes here before publishing it) by the ACL's write rules.
    // Mosquitto drops a denied publication silently (still sending the PUBACK) and keeps the client connected; an
    // error here would make aedes close the connection, and mqtt.js would resend the same message on reconnecting,
    // forever. So a denied message is sent where no one can read it: a `$denied/` topic (no wildcard subscription
    // gets `$` topics, and no ACL rule grants reading it), never retained.
    authorizePublish(client: { id: string } | null, packet: { topic: string; retain?: boolean }, done: (err?: Error | null) => void) {
      if (!client) return done(null); // a will left by a client of an earlier broker run (none: no persistence)
      const user = userOf.get(client) ?? null;
      if (aclOf.get(client)?.allows("write", packet.topic)) return done(null);
      const n = (denied.get(client) ?? 0) + 1;
      denied.set(client, n);
      // The first denial of a client and every 1,000th after: a looping client cannot flood the log.
      if (n === 1 || n % 1_000 === 0) logger.warn("publish denied by the ACL", { username: user?.slice(0, 64) ?? null, topic: packet.topic.slice(0, 200), denied: n, code: "acl_denied" });
      packet.topic = DENIED_TOPIC;
      packet.retain = false;
      done(null);
    },
    // Read rules are checked per message, as Mosquitto does: a subscription with wildcards is granted, and each
    // message (retained ones too) is delivered only where the subscriber may read its topic.
    authorizeForward(client: { id: string }, packet: { topic: string }) {
      return aclOf.get(client)?.allows("read", packet.topic) ? packet : null;
    },
  };
}

/** Starts aedes on `port` (default 1883), or on a free port when that one is taken. Resolves with its URL. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? "127.0.0.1";
  const hooks = options.users ? authHooks(options.users, BrokerAcl.parse(options.acl ?? ZAPVEND_ACL), options.logger ?? silentLogger) : {};
  // Loaded here, not at the top: every machine daemon imports this package for its bridge, and aedes with its
  // dependencies is ~10 MB of RSS that only a process starting the embedded broker should pay.
  const { Aedes } = await import("aedes");
  const aedes = await Aedes.createBroker(hooks as Parameters<typeof Aedes.createBroker>[0]);
  const server = createServer(aedes.handle);
  let port: number;
  try {
    port = await listen(server, options.port ?? 1883, host);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || options.port === 0) {
      aedes.close();
      throw new BridgeError(BridgeErrorCode.LISTEN_FAILED, `the embedded broker cannot listen: ${(err as Error).message}`);
    }
    port = await listen(server, 0, host);
  }
  return {
    url: `mqtt://${host}:${port}`,
    port,
    authenticated: options.users !== undefined,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
      }),
  };
}
