// The console's side of the fleet API: every answer is checked (./check.ts, protocol's shapes) before it is shown,
// and the live WebSocket keeps a small in-browser picture of the fleet up to date.
import type {
  Alert,
  AuditEntry,
  CommandAccepted,
  DesiredStateEdit,
  DesiredView,
  FleetRole,
  FleetWsMessage,
  MachineDetail,
  MachineSummary,
  Sale,
  SalesReportRow,
  SessionInfo,
  TokenCreated,
  TokenView,
  UserView,
} from "@zapvend/protocol";
import {
  alert,
  arr,
  auditEntry,
  commandAccepted,
  desiredView,
  machineDetail,
  machineSummary,
  okAnswer,
  parseWsFrame,
  sale,
  salesReportRow,
  sessionInfo,
  tokenCreated,
  tokenView,
  totpEnrollment,
  userAdded,
  userView,
  type Check,
} from "./check.js";

/** The roles in order (kept here rather than imported: a value from protocol would bundle zod). */
const ROLES: readonly FleetRole[] = ["viewer", "technician", "operator", "admin"];
export const can = (role: FleetRole | undefined, needed: FleetRole): boolean => role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(needed);

/** The session's CSRF token, sent as `X-CSRF-Token` on every POST/PUT/DELETE (the server refuses them without). */
let csrfToken: string | null = null;
/** Called when the server says the session is gone (expired, revoked, logged out elsewhere). */
let onSessionLost: () => void = () => {};
export function setSession(s: SessionInfo | null, lost?: () => void): void {
  csrfToken = s?.csrfToken ?? null;
  if (lost) onSessionLost = lost;
}

export class ApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiCallError";
  }
}

/** One API call, its answer checked (exported for the lazily loaded pages, which bring their own checks). */
export async function call<T>(check: Check<T>, path: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { credentials: "same-origin", ...init });
  } catch {
    throw new ApiCallError("network", "the fleet server cannot be reached");
  }
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401 && path !== "/api/login" && path !== "/api/session") onSessionLost();
    throw new ApiCallError(err?.code ?? `http_${res.status}`, err?.message ?? `HTTP ${res.status}`);
  }
  try {
    return check(body, "");
  } catch (err) {
    throw new ApiCallError("bad_answer", `unexpected answer from ${path}: ${(err as Error).message}`);
  }
}

export const json = (method: string, body: unknown = {}): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...(csrfToken ? { "x-csrf-token": csrfToken } : {}) },
  body: JSON.stringify(body),
});
const enc = encodeURIComponent;

export const api = {
  machines: () => call<MachineSummary[]>(arr(machineSummary), "/api/machines"),
  machine: (id: string) => call<MachineDetail>(machineDetail, `/api/machines/${encodeURIComponent(id)}`),
  sales: (q: { machine?: string; from?: number; to?: number; limit?: number } = {}) => {
    const p = new URLSearchParams();
    if (q.machine) p.set("machine", q.machine);
    if (q.from !== undefined) p.set("from", String(q.from));
    if (q.to !== undefined) p.set("to", String(q.to));
    if (q.limit !== undefined) p.set("limit", String(q.limit));
    return call<Sale[]>(arr(sale), `/api/sales?${p}`);
  },
  /** `tz`: the IANA zone whose local days `group=day` counts (the server's default: the operator's zone). */
  salesReport: (group: "machine" | "slot" | "day", from?: number, tz?: string) => {
    const p = new URLSearchParams({ group });
    if (from !== undefined) p.set("from", String(from));
    if (tz !== undefined) p.set("tz", tz);
    return call<SalesReportRow[]>(arr(salesReportRow), `/api/reports/sales?${p}`);
  },
  alerts: (all: boolean) => call<Alert[]>(arr(alert), `/api/alerts${all ? "?all=1" : ""}`),
  acknowledge: (id: string) => call<Alert>(alert, `/api/alerts/${encodeURIComponent(id)}/acknowledge`, json("POST")),
  command: (machineId: string, name: string, args: Record<string, unknown>) =>
    call<CommandAccepted>(commandAccepted, `/api/machines/${encodeURIComponent(machineId)}/commands/${encodeURIComponent(name)}`, json("POST", { args })),
  editDesired: (machineId: string, edit: DesiredStateEdit) => call<DesiredView>(desiredView, `/api/machines/${encodeURIComponent(machineId)}/desired`, json("PUT", edit)),

  session: () => call<SessionInfo>(sessionInfo, "/api/session"),
  login: (username: string, password: string, totp?: string) => call<SessionInfo>(sessionInfo, "/api/login", json("POST", { username, password, ...(totp ? { totp } : {}) })),
  logout: () => call(okAnswer, "/api/logout", json("POST")),
  enrollTotp: () => call(totpEnrollment, "/api/totp/enroll", json("POST")),
  confirmTotp: (code: string) => call(okAnswer, "/api/totp/confirm", json("POST", { code })),
  users: () => call<UserView[]>(arr(userView), "/api/users"),
  addUser: (name: string, role: FleetRole) => call(userAdded, "/api/users", json("POST", { name, role })),
  setRole: (name: string, role: FleetRole) => call<UserView>(userView, `/api/users/${enc(name)}`, json("PUT", { role })),
  removeUser: (name: string) => call(okAnswer, `/api/users/${enc(name)}`, json("DELETE")),
  revokeSessions: (name: string) => call(okAnswer, `/api/users/${enc(name)}/revoke-sessions`, json("POST")),
  resetTotp: (name: string) => call(okAnswer, `/api/users/${enc(name)}/totp`, json("DELETE")),
  tokens: () => call<TokenView[]>(arr(tokenView), "/api/tokens"),
  createToken: (name: string, role: FleetRole) => call<TokenCreated>(tokenCreated, "/api/tokens", json("POST", { name, role })),
  revokeToken: (id: string) => call(arr(tokenView), `/api/tokens/${enc(id)}`, json("DELETE")),
  audit: (q: Record<string, string>) => call<AuditEntry[]>(arr(auditEntry), `/api/audit?${new URLSearchParams(q)}`),
};

/**
 * The live connection: reconnects with a growing delay and starts over from the server's `hello` each time, so
 * a console left open for days never drifts from the server.
 */
export class LiveFeed {
  private ws: WebSocket | undefined;
  private retryMs = 500;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  connected = false;

  constructor(
    private readonly onMessage: (msg: FleetWsMessage) => void,
    private readonly onState: (connected: boolean) => void,
  ) {}

  start(): void {
    this.stopped = false;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 500;
      this.connected = true;
      this.onState(true);
    };
    ws.onmessage = (ev) => {
      const msg = parseWsFrame(ev.data);
      if (msg) this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      this.connected = false;
      this.onState(false);
      if (this.stopped) return;
      // 4401: the server ended this session (logout elsewhere, revoked, password changed): back to the login page.
      if (ev.code === 4401) return onSessionLost();
      this.timer = setTimeout(() => this.start(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }
}
