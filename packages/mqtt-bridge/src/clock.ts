/** Time as the bridge uses it. Injected so tests run on fake time; the same shape as the controller's `Clock`. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Structured, namespaced log lines (`mqtt:outbox`, `mqtt:cmd`, ...), one per event. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Writes nothing: the default, so a library never prints unless its host asks it to. */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** One JSON line per event on stderr, for bins and daemons. */
export function consoleLogger(namespace: string): Logger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) =>
    process.stderr.write(`${JSON.stringify({ level, ns: namespace, msg, ...fields })}\n`);
  return {
    info: (m, f) => line("info", m, f),
    warn: (m, f) => line("warn", m, f),
    error: (m, f) => line("error", m, f),
  };
}
