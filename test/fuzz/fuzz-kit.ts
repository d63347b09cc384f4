// The fuzz harness shared by every target in test/fuzz: mutation of valid seeds with fast-check, a time budget per
// target, a bound on every single call (a hang or a pathological slowdown fails the target) and, when `npm run fuzz`
// asks for it, one report line per target.
//
// Environment (set by scripts/fuzz.mjs; the defaults are the short in-suite run of `npm test`):
// - FUZZ_SECONDS   time budget per target, seconds (default 2)
// - FUZZ_RUNS      cap on runs per target (default: as many as fit in the budget)
// - FUZZ_SEED      fast-check seed (default a fixed one, so `npm test` is repeatable; `npm run fuzz` draws one)
// - FUZZ_CALL_MS   the most one call may take, ms (default 2000: a hang detector on a busy CI machine, not a speed goal)
// - FUZZ_REPORT    a file to append one JSON line per target to (runs, runs/s, counterexample and seed on failure)
import { appendFileSync } from "node:fs";
import fc from "fast-check";

export const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? 2);
export const FUZZ_RUNS = process.env.FUZZ_RUNS === undefined ? 1_000_000_000 : Number(process.env.FUZZ_RUNS);
export const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? 0x2a_f0_22 : Number(process.env.FUZZ_SEED);
export const FUZZ_CALL_MS = Number(process.env.FUZZ_CALL_MS ?? 2_000);
/** A vitest timeout that fits the budget plus setup (a target must end by itself, never by this). */
export const TARGET_TIMEOUT_MS = FUZZ_SECONDS * 1000 * 3 + 60_000;

// --- what every decoder must answer ------------------------------------------------------------------------------

/** Asserts `fn` returns within FUZZ_CALL_MS; returns what it returned. A throw propagates (the property fails). */
export function bounded<T>(what: string, fn: () => T): T {
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  if (ms > FUZZ_CALL_MS) throw new Error(`${what} took ${Math.round(ms)} ms (bound ${FUZZ_CALL_MS} ms)`);
  return out;
}

export async function boundedAsync<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const out = await Promise.race([
    fn(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${FUZZ_CALL_MS} ms`)), FUZZ_CALL_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  const ms = performance.now() - t0;
  if (ms > FUZZ_CALL_MS) throw new Error(`${what} took ${Math.round(ms)} ms (bound ${FUZZ_CALL_MS} ms)`);
  return out;
}

/**
 * Asserts a `ParseResult`: `{ok: true, value}` or `{ok: false, error: {code, message, path}}` with a code from
 * `codes` and a non-empty message. Returns whether it was ok.
 */
export function assertCodedResult(r: unknown, codes: ReadonlySet<string>, what: string): boolean {
  if (r === null || typeof r !== "object") throw new Error(`${what} returned ${String(r)}, not a result`);
  const res = r as { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown; path?: unknown } };
  if (res.ok === true) {
    if (!("value" in res)) throw new Error(`${what} returned ok without a value`);
    return true;
  }
  if (res.ok !== false || res.error === undefined) throw new Error(`${what} returned ${JSON.stringify(r)?.slice(0, 200)}`);
  const { code, message, path } = res.error;
  if (typeof code !== "string" || !codes.has(code)) throw new Error(`${what} refused with an unknown code ${String(code)}`);
  if (typeof message !== "string" || message.length === 0) throw new Error(`${what} refused (${code}) without a message`);
  if (typeof path !== "string") throw new Error(`${what} refused (${code}) without a path`);
  return false;
}

// --- mutation of valid seeds ---------------------------------------------------------------------------------------

/** Values that break decoders: wrong types, edge numbers, numbers as strings and back, unicode, huge and deep input. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -0,
    -1,
    1.5,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 53 + 2,
    Number.MIN_VALUE,
    "",
    " ",
    "0",
    "-1",
    "1e3",
    "0x10",
    "1.0",
    "NaN",
    "Infinity",
    "true",
    "null",
    "00000000000000000000001",
    "99999999999999999999999999999999",
    "\u0000",
    "\u202e\u0301",
    "\ud800",
    "🥤🥤🥤",
    "A1\n",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "__proto__",
    [],
    {},
    [[[[[]]]]],
  ),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double({ noNaN: true }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.integer({ min: 1, max: 200_000 }).map((n) => "x".repeat(n)),
  fc.integer({ min: 1, max: 5_000 }).map((n) => "é".repeat(n)),
  // Deep, but within what JSON.stringify itself can write (the text edits below nest far deeper).
  fc.integer({ min: 30, max: 2_000 }).map((n) => deepArray(n)),
  fc.integer({ min: 30, max: 1_000 }).map((n) => deepObject(n)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  fc.constantFrom("__proto__", "constructor", "prototype").map((k) => ownKey({}, k, { polluted: true })),
);

function deepArray(n: number): unknown {
  let v: unknown = "x";
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

function deepObject(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

/** `o` with an own enumerable property `key` (also `__proto__`, which plain assignment would treat as the prototype). */
function ownKey(o: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(o, key, { value, enumerable: true, configurable: true, writable: true });
  return o;
}

type Edit =
  | { op: "set"; at: number; value: unknown }
  | { op: "delete"; at: number }
  | { op: "addKey"; at: number; key: string; value: unknown }
  | { op: "swapType"; at: number }
  | { op: "wrap"; at: number };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: nastyValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("addKey" as const),
      at: fc.nat(),
      key: fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "extra", "", "type", "v", "id"), fc.string({ maxLength: 12 })),
      value: nastyValue,
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("swapType" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("wrap" as const), at: fc.nat() }) },
);

/** Every (parent, key) slot of a JSON value, the root included as (null, null). */
function slots(root: unknown): Array<{ parent: Record<string, unknown> | unknown[] | null; key: string | number | null }> {
  const out: Array<{ parent: Record<string, unknown> | unknown[] | null; key: string | number | null }> = [{ parent: null, key: null }];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 12 || v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x, depth + 1);
      });
      return;
    }
    for (const k of Object.keys(v)) {
      out.push({ parent: v as Record<string, unknown>, key: k });
      walk((v as Record<string, unknown>)[k], depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** A number as a string, a numeric string as a number, a boolean as a string, an object as an array, and so on. */
function swapType(v: unknown): unknown {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return /^-?[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : v === "true" ? true : v.length;
  if (typeof v === "boolean") return String(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  if (typeof v === "object") return Object.values(v as object);
  return v;
}

/** Applies `edits` to a deep copy of `seed`. */
export function applyEdits(seed: unknown, edits: readonly Edit[]): unknown {
  let root: unknown = structuredClone(seed);
  for (const e of edits) {
    const all = slots(root);
    const { parent, key } = all[e.at % all.length]!;
    const get = (): unknown => (parent === null ? root : (parent as Record<string | number, unknown>)[key as string | number]);
    const put = (v: unknown): void => {
      if (parent === null) root = v;
      else if (Array.isArray(parent)) parent[key as number] = v;
      else ownKey(parent, key as string, v);
    };
    switch (e.op) {
      case "set":
        // A copy: fc.constantFrom hands out the same object every time, and a later edit must not alter the constant.
        put(structuredClone(e.value));
        break;
      case "delete":
        if (parent === null) root = undefined;
        else if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case "addKey": {
        const target = get();
        const value = structuredClone(e.value);
        if (target !== null && typeof target === "object" && !Array.isArray(target)) ownKey(target as Record<string, unknown>, e.key, value);
        else if (Array.isArray(target)) target.push(value);
        break;
      }
      case "swapType":
        put(swapType(get()));
        break;
      case "wrap":
        put([get()]);
        break;
    }
  }
  return root;
}

type TextEdit =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; text: string }
  | { op: "repeat"; at: number; len: number; times: number }
  | { op: "delete"; at: number; len: number };

const textEditArb: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom('"__proto__":{"x":1},', ",", "{", "}", "[", "]", '"', "\\", "\\u0000", "\\ud800", "1e999", "-", "null", "🥤", "\u0000", "\ufeff"),
      fc.string({ unit: "binary", maxLength: 8 }),
      fc.integer({ min: 1_000, max: 200_000 }).map((n) => "[".repeat(n)),
      fc.integer({ min: 1_000, max: 50_000 }).map((n) => '{"a":'.repeat(n)),
    ),
  }),
  fc.record({ op: fc.constant("repeat" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }), times: fc.integer({ min: 2, max: 3_000 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
);

/** Applies byte-level edits to UTF-8 bytes (so a flip can also break the encoding). */
export function applyTextEdits(bytes: Uint8Array, edits: readonly TextEdit[]): Uint8Array {
  let b = Buffer.from(bytes);
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % (b.length + 1);
    switch (e.op) {
      case "flip":
        if (b.length > 0) b[at % b.length] = (b[at % b.length] as number) ^ (1 << e.bit);
        break;
      case "truncate":
        b = b.subarray(0, at);
        break;
      case "insert":
        b = Buffer.concat([b.subarray(0, at), Buffer.from(e.text, "utf8"), b.subarray(at)]);
        break;
      case "repeat": {
        const piece = b.subarray(at, at + e.len);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(piece.toString("latin1").repeat(e.times), "latin1"), b.subarray(at)]);
        break;
      }
      case "delete":
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.len)]);
        break;
    }
  }
  return b;
}

/** A value derived from one of `seeds`: the seed itself, or it with 1-4 structural edits. */
export function mutatedValue(seeds: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(editArb, { minLength: 0, maxLength: 4 }))
    .map(([seed, edits]) => applyEdits(seed, edits));
}

/** JSON bytes derived from one of `seeds`: structural edits, then (often) byte-level edits of the text. */
export function mutatedJsonBytes(seeds: readonly unknown[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(mutatedValue(seeds), fc.array(textEditArb, { minLength: 0, maxLength: 3 }))
    .map(([value, edits]) => applyTextEdits(Buffer.from(JSON.stringify(value) ?? "", "utf8"), edits));
}

/** Text derived from one of `seeds` by byte-level edits (decoded back as UTF-8, lone bytes becoming U+FFFD). */
export function mutatedText(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(textEditArb, { minLength: 1, maxLength: 3 }))
    .map(([s, edits]) => Buffer.from(applyTextEdits(Buffer.from(s, "utf8"), edits)).toString("utf8"));
}

// --- running a target ------------------------------------------------------------------------------------------------

export interface TargetStats {
  target: string;
  runs: number;
  seconds: number;
  runsPerSecond: number;
  seed: number;
  failed: boolean;
  counterexample?: string;
  counterexamplePath?: string;
  error?: string;
  /** What the target adds about its run (e.g. the HTTP statuses it met). */
  notes?: Record<string, unknown>;
}

function preview(v: unknown): string {
  const s = (() => {
    try {
      return JSON.stringify(v, function (this: unknown, key: string, x: unknown) {
        const raw = (this as Record<string, unknown> | undefined)?.[key] ?? x;
        if (raw instanceof Uint8Array) return `<${raw.length} bytes: ${Buffer.from(raw.subarray(0, 300)).toString("utf8")}>`;
        return typeof x === "bigint" ? `${x}n` : x;
      });
    } catch {
      return String(v);
    }
  })() ?? String(v);
  return s.length > 600 ? `${s.slice(0, 600)}... (${s.length} chars)` : s;
}

function finish(target: string, details: fc.RunDetails<unknown>, seconds: number, notes?: () => Record<string, unknown>): TargetStats {
  const stats: TargetStats = {
    target,
    runs: details.numRuns,
    seconds: Math.round(seconds * 100) / 100,
    runsPerSecond: Math.round(details.numRuns / seconds),
    seed: details.seed,
    failed: details.failed,
    ...(notes ? { notes: notes() } : {}),
  };
  if (details.failed) {
    stats.counterexample = preview(details.counterexample);
    stats.counterexamplePath = details.counterexamplePath ?? undefined;
    stats.error = String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance).slice(0, 1000);
  }
  if (process.env.FUZZ_REPORT) appendFileSync(process.env.FUZZ_REPORT, JSON.stringify(stats) + "\n");
  if (stats.failed) {
    throw new Error(
      `fuzz target ${target} failed after ${stats.runs} runs: ${stats.error}\n` +
        `counterexample: ${stats.counterexample}\nreplay: FUZZ_SEED=${stats.seed} (path ${stats.counterexamplePath})`,
    );
  }
  if (stats.runs === 0) throw new Error(`fuzz target ${target} ran no input at all`);
  return stats;
}

function params(): fc.Parameters<unknown> {
  return {
    seed: FUZZ_SEED,
    numRuns: FUZZ_RUNS,
    interruptAfterTimeLimit: FUZZ_SECONDS * 1000,
    // Shrinking a deep or huge input can take longer than the budget: a bounded shrink still names a counterexample.
    endOnFailure: false,
    maxSkipsPerRun: 1000,
  } as fc.Parameters<unknown>;
}

/** Runs a synchronous fuzz target for the budget; throws with the counterexample and seed on a failure. */
export function runTarget<T>(target: string, input: fc.Arbitrary<T>, check: (input: T) => void, notes?: () => Record<string, unknown>): TargetStats {
  const t0 = performance.now();
  const details = fc.check(fc.property(input, (x) => check(x)), params() as fc.Parameters<[T]>);
  return finish(target, details as fc.RunDetails<unknown>, (performance.now() - t0) / 1000, notes);
}

/** The same for an asynchronous target (a live server). */
export async function runAsyncTarget<T>(
  target: string,
  input: fc.Arbitrary<T>,
  check: (input: T) => Promise<void>,
  notes?: () => Record<string, unknown>,
): Promise<TargetStats> {
  const t0 = performance.now();
  const details = await fc.check(fc.asyncProperty(input, (x) => check(x)), params() as fc.Parameters<[T]>);
  return finish(target, details as fc.RunDetails<unknown>, (performance.now() - t0) / 1000, notes);
}
