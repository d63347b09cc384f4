// Namespaced, structured logs: one JSON line per event on stderr (`vend:controller`, `pay:lnd`, `mqtt:outbox`),
// with the order id or payment hash in the fields where there is one. ZAPVEND_LOG=debug|info|warn|error filters.
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(namespace: string): Logger;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

export function createLogger(namespace: string, opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = LEVELS[opts.level ?? ((process.env.ZAPVEND_LOG as Level | undefined) && (process.env.ZAPVEND_LOG as Level) in LEVELS ? (process.env.ZAPVEND_LOG as Level) : "info")];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const at = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    try {
      write(JSON.stringify({ t: new Date().toISOString(), level, ns: namespace, msg, ...fields }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
    } catch {
      write(JSON.stringify({ t: new Date().toISOString(), level, ns: namespace, msg }));
    }
  };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (ns: string) => createLogger(ns.includes(":") ? `${namespace.split(":")[0]}/${ns}` : `${namespace}:${ns}`, opts),
  };
}
