// The console checks every answer of the fleet server before it shows or acts on it, with these few hand-written
// validators instead of protocol's zod schemas: zod (with every schema of protocol) was 450 of the bundle's 515 KB,
// for a browser that only reads answers of its own server. The shapes follow protocol's types (imported as types
// only, so nothing of protocol's runtime is bundled) and check what the console relies on: kinds, the closed sets
// it switches on, numbers that it does arithmetic with, msat strings it turns into BigInt. Texts are not bounded
// here: lit escapes whatever it renders.
import type {
  AuditEntry,
  SessionInfo,
  TokenCreated,
  TokenView,
  UserView,
  Alert,
  CommandAccepted,
  CommandRecord,
  DesiredView,
  FleetWsMessage,
  MachineDetail,
  MachineSummary,
  Price,
  Sale,
  SalesReportRow,
  SlotView,
  StoredEvent,
  TelemetrySample,
} from "@zapvend/protocol";

export class CheckError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path || "answer"}: ${message}`);
    this.name = "CheckError";
  }
}

/** Returns the value typed, or throws `CheckError` with the path of the first field that is wrong. */
export type Check<T> = (v: unknown, path: string) => T;

const fail = (path: string, what: string, v: unknown): never => {
  throw new CheckError(path, `expected ${what}, got ${v === null ? "null" : Array.isArray(v) ? "an array" : typeof v}`);
};

export const str: Check<string> = (v, p) => (typeof v === "string" ? v : fail(p, "a string", v));
export const bool: Check<boolean> = (v, p) => (typeof v === "boolean" ? v : fail(p, "a boolean", v));
export const num: Check<number> = (v, p) => (typeof v === "number" && Number.isFinite(v) ? v : fail(p, "a number", v));
export const int: Check<number> = (v, p) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(p, "a whole number >= 0", v));
/** A decimal msat amount: the console turns it into a BigInt, which throws on anything else. */
export const msat: Check<string> = (v, p) => (typeof v === "string" && /^(0|[1-9][0-9]{0,24})$/.test(v) ? v : fail(p, "an msat amount (decimal string)", v));

export function oneOf<const T extends string>(...values: T[]): Check<T> {
  return (v, p) => (values.includes(v as T) ? (v as T) : fail(p, `one of ${values.join("|")}`, v));
}
export function nullable<T>(c: Check<T>): Check<T | null> {
  return (v, p) => (v === null ? null : c(v, p));
}
export function arr<T>(c: Check<T>): Check<T[]> {
  return (v, p) => (Array.isArray(v) ? v.map((x, i) => c(x, `${p}[${i}]`)) : fail(p, "an array", v));
}
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
export const record: Check<Record<string, unknown>> = (v, p) => (isRecord(v) ? v : fail(p, "an object", v));
export function recordOf<T>(c: Check<T>): Check<Record<string, T>> {
  return (v, p) => {
    const o = record(v, p);
    for (const [k, x] of Object.entries(o)) c(x, `${p}.${k}`);
    return o as Record<string, T>;
  };
}
/** Checks the listed fields; other fields pass through untouched (a newer server may add some). */
export function obj<T>(fields: { [K in keyof T]-?: Check<T[K]> }): Check<T> {
  return (v, p) => {
    const o = record(v, p);
    for (const k of Object.keys(fields) as Array<keyof T & string>) fields[k](o[k], p ? `${p}.${k}` : k);
    return o as T;
  };
}
export const opt = <T>(c: Check<T>): Check<T | undefined> => (v, p) => (v === undefined ? undefined : c(v, p));

const codedError = obj<{ code: string; message: string }>({ code: str, message: str });
const fiatAmount = obj<{ currency: string; amountMinor: number }>({ currency: str, amountMinor: int });
export const price: Check<Price> = (v, p) => {
  const o = record(v, p);
  return o.unit === "msat" ? obj<Price>({ unit: oneOf("msat"), amountMsat: msat } as never)(o, p) : obj<Price>({ unit: oneOf("fiat"), currency: str, amountMinor: int } as never)(o, p);
};
const health = oneOf("up", "degraded", "down");

export const machineSummary = obj<MachineSummary>({
  id: str,
  status: oneOf("online", "offline", "lost", "service", "unknown"),
  boot: nullable(int),
  lastSeen: nullable(int),
  model: nullable(str),
  softwareVersion: nullable(str),
  stock: arr(obj<MachineSummary["stock"][number]>({ slot: str, name: str, stock: int, capacity: int })),
  faults: arr(codedError),
  missingEvents: int,
  kind: opt(oneOf("direct", "mdb")),
});
export const alert = obj<Alert>({
  id: str,
  machineId: str,
  kind: str as Check<Alert["kind"]>,
  severity: oneOf("info", "warning", "critical"),
  message: str,
  raisedAt: int,
  clearedAt: nullable(int),
  acknowledgedAt: nullable(int),
});
export const sale = obj<Sale>({
  machineId: str,
  eventId: str,
  seq: int,
  orderId: str,
  slot: str,
  productName: str,
  amountMsat: msat,
  fiat: nullable(fiatAmount),
  paymentHash: str,
  hold: bool,
  evidence: record as Check<Sale["evidence"]>,
  settledAt: int,
  selection: opt(int),
});
export const salesReportRow = obj<SalesReportRow>({
  key: str,
  machineId: nullable(str),
  slot: nullable(str),
  day: nullable(str),
  timeZone: opt(str),
  count: int,
  amountMsat: msat,
  fiat: arr(fiatAmount),
});
export const commandAccepted = obj<CommandAccepted>({ rid: str, status: oneOf("sent") });
export const commandRecord = obj<CommandRecord>({
  rid: str,
  machineId: str,
  name: str as Check<CommandRecord["name"]>,
  args: record,
  sentAt: int,
  expiresAt: int,
  status: oneOf("sent", "ok", "error"),
  data: nullable(record),
  error: nullable(codedError),
  completedAt: nullable(int),
});
const desiredSlot = obj<{ enabled?: boolean; price?: Price; product?: string }>({ enabled: opt(bool), price: opt(price), product: opt(str) });
export const desiredView = obj<DesiredView>({
  version: int,
  slots: recordOf(desiredSlot) as Check<DesiredView["slots"]>,
  mode: nullable(oneOf("normal", "maintenance")),
  // The catalog's products (issue #18): shown by console/catalog-view.ts, which checks what it uses.
  products: opt(record) as Check<DesiredView["products"]>,
  requestedAt: int,
  reportedVersion: nullable(int),
  reportedStatus: nullable(oneOf("applied", "refused")),
  reportedError: nullable(codedError),
  pending: bool,
});
export const telemetrySample = obj<TelemetrySample>({
  ts: int,
  temperatureC: nullable(num),
  door: oneOf("open", "closed"),
  payments: health,
  hardware: health,
  rssMb: num,
});
const slotView = obj<SlotView>({ slot: str, name: str, kind: str as Check<SlotView["kind"]>, capacity: int, stock: int, price, enabled: bool });
const storedEvent = obj<StoredEvent>({ machineId: str, eventId: str, seq: int, type: str as Check<StoredEvent["type"]>, ts: int, receivedAt: int, body: record });
export const machineDetail = obj<MachineDetail>({
  machine: machineSummary,
  slots: arr(slotView),
  telemetry: nullable(telemetrySample),
  history: arr(telemetrySample),
  desired: nullable(desiredView),
  events: arr(storedEvent),
  gaps: arr(obj<MachineDetail["gaps"][number]>({ fromSeq: int, toSeq: int })),
  commands: arr(commandRecord),
  sales: arr(sale),
});

const wsChecks: { [K in FleetWsMessage["type"]]: Check<Extract<FleetWsMessage, { type: K }>> } = {
  hello: obj({ type: oneOf("hello"), machines: arr(machineSummary), alerts: arr(alert) }),
  machine: obj({ type: oneOf("machine"), machine: machineSummary }),
  sale: obj({ type: oneOf("sale"), sale }),
  alert: obj({ type: oneOf("alert"), alert }),
  command: obj({ type: oneOf("command"), command: commandRecord }),
  desired: obj({ type: oneOf("desired"), machineId: str, desired: desiredView }),
  telemetry: obj({ type: oneOf("telemetry"), machineId: str, sample: telemetrySample }),
};

/** A WebSocket frame of the fleet server, or null (logged) when it is not one the console knows. */
export function parseWsFrame(data: unknown): FleetWsMessage | null {
  if (typeof data !== "string" || data.length > 4 * 1024 * 1024) return null;
  try {
    const v: unknown = JSON.parse(data);
    const type = isRecord(v) ? v.type : undefined;
    if (typeof type !== "string" || !Object.hasOwn(wsChecks, type)) throw new CheckError("type", `unknown message type ${String(type)}`);
    return wsChecks[type as FleetWsMessage["type"]](v, "");
  } catch (err) {
    console.warn(`fleet console: dropped a live message: ${(err as Error).message}`);
    return null;
  }
}

const role = oneOf("viewer", "technician", "operator", "admin");
export const sessionInfo = obj<SessionInfo>({ user: str, role, csrfToken: nullable(str), via: oneOf("session", "token"), totp: bool, expiresAt: nullable(int) });
export const userView = obj<UserView>({ name: str, role, totp: bool, createdAt: int, lastLoginAt: nullable(int), sessions: int });
export const tokenView = obj<TokenView>({ id: str, name: str, role, createdAt: int, createdBy: str, lastUsedAt: nullable(int), revokedAt: nullable(int) });
export const tokenCreated = obj<TokenCreated>({ token: tokenView, secret: str });
export const auditEntry = obj<AuditEntry>({ id: str, at: int, actor: str, address: nullable(str), action: str, target: nullable(str), ok: bool, detail: record });
export const userAdded = obj<{ user: UserView; password?: string | undefined }>({ user: userView, password: opt(str) });
export const totpEnrollment = obj<{ secret: string; uri: string }>({ secret: str, uri: str });
export const okAnswer = record;
