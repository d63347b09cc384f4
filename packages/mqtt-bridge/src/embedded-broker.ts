// The embedded default broker for `npm start`: aedes inside the process, nothing to install. Its limits: MQTT 3.1.1
// only (no MQTT 5), no persistence across restarts (in-memory sessions and retained messages), no ACL, and memory
// that grows without a bound under overload (aedes queues for slow subscribers in memory). Production uses Mosquitto
// or a clustered broker: see hardware/broker/.
import { createServer, type Server } from "node:net";
import { BridgeError, BridgeErrorCode } from "./errors.js";

export interface EmbeddedBrokerOptions {
  /** Port to try first. Default 1883; when taken, a free port is used. 0 picks a free port at once. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
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

/** Starts aedes on `port` (default 1883), or on a free port when that one is taken. Resolves with its URL. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? "127.0.0.1";
  // Loaded here, not at the top: every machine daemon imports this package for its bridge, and aedes with its
  // dependencies is ~10 MB of RSS that only a process starting the embedded broker should pay.
  const { Aedes } = await import("aedes");
  const aedes = await Aedes.createBroker();
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
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
      }),
  };
}
