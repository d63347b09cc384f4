import type { z } from "zod";

/**
 * Stable codes for input that is refused at an edge (HTTP body, MQTT payload, WebSocket message, config file).
 * The same code reaches the log, the kiosk, the fleet console and the harness report.
 */
export const ProtocolErrorCode = {
  /** The text is not JSON. */
  BAD_JSON: "bad_json",
  /** The payload is larger than the edge accepts. */
  TOO_LARGE: "too_large",
  /** A key such as `__proto__` that could pollute prototypes. */
  FORBIDDEN_KEY: "forbidden_key",
  /** Nested deeper than the edge accepts. */
  TOO_DEEP: "too_deep",
  MISSING_FIELD: "missing_field",
  INVALID_TYPE: "invalid_type",
  /** Money given as a JSON number, a fraction, a negative or a non-canonical string. */
  BAD_MONEY: "bad_money",
  TOO_LONG: "too_long",
  TOO_SHORT: "too_short",
  OUT_OF_RANGE: "out_of_range",
  BAD_FORMAT: "bad_format",
  BAD_VALUE: "bad_value",
  UNKNOWN_KEY: "unknown_key",
  INVALID: "invalid",
  /** A machine config with the sim payments backend (the demo wallet) on a real board, without `allowDemoWallet`. */
  DEMO_WALLET_REFUSED: "demo_wallet_refused",
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** A refusal a person can act on: what is wrong (`code`), in words (`message`), and where (`path`, e.g. `products[2].price`). */
export interface ProtocolError {
  readonly code: ProtocolErrorCode;
  readonly message: string;
  readonly path: string;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ProtocolError };

/** Limits every edge applies before a schema sees the input. */
export interface EdgeLimits {
  /** Largest accepted payload, in bytes of UTF-8. Default 64 KiB. */
  maxBytes?: number;
  /** Deepest accepted nesting of objects and arrays. Default 32. */
  maxDepth?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024;
export const DEFAULT_MAX_DEPTH = 32;

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out === "" ? "(root)" : out;
}

function fail(code: ProtocolErrorCode, message: string, path: readonly PropertyKey[] = []): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code, message, path: formatPath(path) } };
}

/**
 * Walks a parsed value and refuses prototype-pollution keys and excessive depth. Iterative, so a hostile
 * 100 000-deep array cannot overflow the stack.
 */
export function scanUntrusted(input: unknown, maxDepth = DEFAULT_MAX_DEPTH): ParseResult<unknown> {
  if (input === null || typeof input !== "object") return { ok: true, value: input };
  // Only objects and arrays are pushed (with their path): the leaves, most of a payload, cost no allocation.
  const stack: Array<{ v: object; path: PropertyKey[] }> = [{ v: input, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (path.length >= maxDepth) return fail("too_deep", `nested deeper than ${maxDepth} levels`, path);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (item !== null && typeof item === "object") stack.push({ v: item, path: [...path, i] });
      }
      continue;
    }
    for (const key of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(key)) return fail("forbidden_key", `the key "${key}" is not allowed`, [...path, key]);
      const item: unknown = (v as Record<string, unknown>)[key];
      if (item !== null && typeof item === "object") stack.push({ v: item, path: [...path, key] });
    }
  }
  return { ok: true, value: input };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : typeof v;
}

function issueToError(issue: z.core.$ZodIssue, input: unknown): ProtocolError {
  const path = formatPath(issue.path);
  const custom = issue.code === "custom" ? (issue.params as { code?: ProtocolErrorCode } | undefined)?.code : undefined;
  if (custom) return { code: custom, message: issue.message, path };
  switch (issue.code) {
    case "invalid_type": {
      let v: unknown = input;
      for (const seg of issue.path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
      if (v === undefined) return { code: "missing_field", message: `${path} is required`, path };
      return { code: "invalid_type", message: `${path} must be ${issue.expected}, got ${describe(v)}`, path };
    }
    case "too_big":
      return issue.origin === "string" || issue.origin === "array"
        ? { code: "too_long", message: `${path} is longer than ${issue.maximum}`, path }
        : { code: "out_of_range", message: `${path} must be at most ${issue.maximum}`, path };
    case "too_small":
      return issue.origin === "string" || issue.origin === "array"
        ? { code: "too_short", message: `${path} is shorter than ${issue.minimum}`, path }
        : { code: "out_of_range", message: `${path} must be at least ${issue.minimum}`, path };
    case "invalid_format":
      return { code: "bad_format", message: `${path}: ${issue.message}`, path };
    case "unrecognized_keys":
      return {
        code: "unknown_key",
        message: `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")} in ${path}`,
        path,
      };
    case "invalid_value":
    case "invalid_union":
      return { code: "bad_value", message: `${path}: ${issue.message}`, path };
    default:
      return { code: "invalid", message: `${path}: ${issue.message}`, path };
  }
}

/** Parses an already-decoded value (e.g. a JSON body) against a schema, after the hostile-input scan. */
export function parseValue<S extends z.ZodType>(schema: S, input: unknown, limits: EdgeLimits = {}): ParseResult<z.output<S>> {
  const scanned = scanUntrusted(input, limits.maxDepth);
  if (!scanned.ok) return scanned;
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const first = result.error.issues[0];
  if (!first) return fail("invalid", "invalid input");
  return { ok: false, error: issueToError(first, input) };
}

/** Parses JSON text or bytes (an MQTT payload, an HTTP body) against a schema, refusing oversize input first. */
export function parseJson<S extends z.ZodType>(
  schema: S,
  text: string | Uint8Array,
  limits: EdgeLimits = {},
): ParseResult<z.output<S>> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = typeof text === "string" ? utf8Length(text, maxBytes) : text.byteLength;
  if (size > maxBytes) return fail("too_large", `payload of more than ${maxBytes} bytes`);
  const str = typeof text === "string" ? text : new TextDecoder("utf-8", { fatal: false }).decode(text);
  let value: unknown;
  try {
    value = JSON.parse(str);
  } catch (err) {
    return fail("bad_json", `not valid JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  return parseValue(schema, value, limits);
}

/**
 * Whether a string's UTF-8 length is above `stopAbove` decides this: it returns a number above `stopAbove` exactly
 * when the UTF-8 length is (the exact length when it counts). Neither a 10 MB string nor a short one costs a scan.
 */
function utf8Length(s: string, stopAbove: number): number {
  if (s.length > stopAbove) return s.length; // each UTF-16 unit is at least one UTF-8 byte
  // ... and at most 3 (a surrogate pair, 2 units, is 4): a string this short cannot be above the limit.
  if (s.length * 3 <= stopAbove) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3;
  }
  return n;
}

/** The error `unwrap` throws: for start-up code (config loading) where a refusal ends the program. */
export class ProtocolParseError extends Error {
  constructor(readonly error: ProtocolError) {
    super(`${error.message} (${error.code} at ${error.path})`);
    this.name = "ProtocolParseError";
  }
}

/** The value of a result, or a thrown `ProtocolParseError` carrying the coded error. */
export function unwrap<T>(result: ParseResult<T>): T {
  if (result.ok) return result.value;
  throw new ProtocolParseError(result.error);
}
