/** Time is injected: production passes the system clock, tests pass vitest's fake timers through the same shape. */
export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  /** One-shot timers (the MQTT link's reconnect backoff). Default: the global ones. */
  setTimeout?(fn: () => void, ms: number): unknown;
  clearTimeout?(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Namespaced, structured, one line per event (`fleet:ingest`, `fleet:http`). */
export type Logger = (namespace: string, msg: string, fields?: Record<string, unknown>) => void;

export const stderrLogger: Logger = (ns, msg, fields) => {
  process.stderr.write(`${ns} ${msg}${fields ? " " + JSON.stringify(fields) : ""}\n`);
};
export const silentLogger: Logger = () => {};
