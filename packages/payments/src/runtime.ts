// Time and logging are injected into every long-lived object of the payment core so that tests drive them with a
// manual clock and assert on log lines, never sleeping in real time. The shapes match the controller's ports.

export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending poll or reconnect must never keep a process alive that is otherwise done (CLI, tests).
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Structured, namespaced logging: one line per event with the payment hash where there is one. */
export interface Logger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A logger that writes one JSON line per event to stderr, e.g. `{"ns":"pay:lnd","level":"warn","msg":...}`. */
export function jsonLogger(ns: string, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger {
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    write(JSON.stringify({ ts: new Date().toISOString(), ns, level, msg, ...fields }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}
