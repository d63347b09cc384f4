// The pick list's HTTP routes (issue #18), registered on the fleet's router with their roles: reading the pick list
// and the issued ones is a viewer's (read-only, like every other GET); issuing one (it is saved, and the restocks
// after it are matched against it) is a technician's; setting par levels is an operator's.
import type http from "node:http";
import { MachineId, PICKLIST_MAX_GROUP, PICKLIST_MAX_PAGE, parseIssuePickListRequest, parseParsEdit } from "@zapvend/protocol";
import { by } from "../http-auth-routes.js";
import type { RouteRegistrar } from "../http-routes.js";
import { FleetError, FleetErrorCode } from "../errors.js";
import type { AuditInput } from "../auth/auth-store.js";
import type { SqlDb } from "../store/db.js";
import { issuedPicklistCsv, picklistCsv } from "./picklist-csv.js";
import { PicklistErrorCode, PicklistStore } from "./picklist-store.js";

export interface PicklistRouteDeps {
  db: SqlDb;
  audit: (e: Omit<AuditInput, "at">) => Promise<unknown>;
  readBody: (req: http.IncomingMessage) => Promise<string>;
  now: () => number;
}

function machineIdOf(id: string | undefined): string {
  const r = MachineId.safeParse(id);
  if (!r.success) throw new FleetError("bad_value", "not a machine id", 400);
  return r.data;
}

function onlyKeys(url: URL, keys: readonly string[]): void {
  for (const k of url.searchParams.keys()) {
    if (!keys.includes(k)) throw new FleetError("unknown_key", `unknown query key "${k}" (${keys.join(", ")})`, 400);
  }
}

/** `machines=a,b,c` (or repeated `machines=`): the group; absent: every machine. */
export function groupOf(url: URL): string[] | undefined {
  const values = url.searchParams.getAll("machines");
  if (values.length === 0) return undefined;
  const ids = values.flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  if (ids.length === 0) throw new FleetError("bad_value", "machines must name at least one machine id", 400);
  if (ids.length > PICKLIST_MAX_GROUP) throw new FleetError("bad_value", `at most ${PICKLIST_MAX_GROUP} machines`, 400);
  return ids.map((id) => machineIdOf(id));
}

export function windowOf(url: URL): number | undefined {
  const w = url.searchParams.get("window");
  if (w === null) return undefined;
  if (!/^[0-9]{1,2}$/.test(w) || Number(w) < 1 || Number(w) > 90) throw new FleetError("bad_value", "window must be 1..90 days", 400);
  return Number(w);
}

/** `limit=` (1..PICKLIST_MAX_PAGE machines with their lines) and `offset=` (default 0): a page; absent: all. */
export function pageOf(url: URL): { offset: number; limit: number } | null {
  const l = url.searchParams.get("limit");
  const o = url.searchParams.get("offset");
  if (l === null) {
    if (o !== null) throw new FleetError("bad_value", "offset needs a limit", 400);
    return null;
  }
  if (!/^[0-9]{1,4}$/.test(l) || Number(l) < 1 || Number(l) > PICKLIST_MAX_PAGE) throw new FleetError("bad_value", `limit must be 1..${PICKLIST_MAX_PAGE} machines`, 400);
  if (o !== null && !/^[0-9]{1,6}$/.test(o)) throw new FleetError("bad_value", "offset must be a whole number of machines", 400);
  return { limit: Number(l), offset: o === null ? 0 : Number(o) };
}

function formatOf(url: URL): "json" | "csv" {
  const f = url.searchParams.get("format");
  if (f === null || f === "json") return "json";
  if (f === "csv") return "csv";
  throw new FleetError("bad_value", "format must be json or csv", 400);
}

export function definePicklistRoutes(router: RouteRegistrar, deps: PicklistRouteDeps): PicklistStore {
  const store = new PicklistStore(deps.db);

  const current = async (url: URL, csv: boolean) => {
    const machineIds = groupOf(url);
    const windowDays = windowOf(url);
    const q = { ...(machineIds ? { machineIds } : {}), ...(windowDays ? { windowDays } : {}), nowMs: deps.now() };
    const page = csv ? null : pageOf(url);
    if (page) return { status: 200, body: await store.computePage({ ...q, ...page }) };
    const list = await store.compute(q);
    return csv ? { status: 200, body: picklistCsv(list), type: "text/csv; charset=utf-8", filename: "zapvend-picklist.csv" } : { status: 200, body: list };
  };
  router.route("GET", "/api/picklist", "viewer", async ({ url }) => {
    onlyKeys(url, ["machines", "window", "format", "limit", "offset"]);
    return current(url, formatOf(url) === "csv");
  });
  router.route("GET", "/api/picklist.csv", "viewer", async ({ url }) => {
    onlyKeys(url, ["machines", "window"]);
    return current(url, true);
  });

  router.route("POST", "/api/picklists", "technician", async (ctx) => {
    const body = parseIssuePickListRequest(await deps.readBody(ctx.req));
    if (!body.ok) throw new FleetError(body.error.code, `${body.error.path}: ${body.error.message}`, 400);
    const who = by(ctx);
    const list = await store.issue({ ...(body.value.machines ? { machineIds: body.value.machines } : {}), ...(body.value.windowDays ? { windowDays: body.value.windowDays } : {}), nowMs: deps.now() }, who.actor);
    await deps.audit({ ...who, action: "picklist.issue", target: list.id, detail: { machines: list.machines.length, toLoad: list.toLoad } });
    return { status: 201, body: list };
  });
  router.route("GET", "/api/picklists", "viewer", async ({ url }) => {
    onlyKeys(url, ["limit"]);
    const l = url.searchParams.get("limit");
    if (l !== null && !/^[0-9]{1,3}$/.test(l)) throw new FleetError("bad_value", "limit must be 1..100", 400);
    return { status: 200, body: await store.listIssued(l === null ? 20 : Number(l)) };
  });
  router.route("GET", "/api/picklists/:id", "viewer", async ({ url, params: [id] }) => {
    onlyKeys(url, ["format"]);
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(id ?? "")) throw new FleetError("bad_value", "not a pick list id", 400);
    const list = await store.issued(id!);
    if (!list) throw new FleetError(PicklistErrorCode.PICKLIST_NOT_FOUND, `no pick list ${id}`, 404);
    if (formatOf(url) === "csv") return { status: 200, body: issuedPicklistCsv(list), type: "text/csv; charset=utf-8", filename: `zapvend-${list.id}.csv` };
    return { status: 200, body: list };
  });

  router.route("GET", "/api/machines/:id/pars", "viewer", async ({ params: [id] }) => {
    const pars = await store.pars(machineIdOf(id));
    if (!pars) throw new FleetError(FleetErrorCode.MACHINE_NOT_FOUND, `no machine ${id}`, 404);
    return { status: 200, body: pars };
  });
  router.route("PUT", "/api/machines/:id/pars", "operator", async (ctx) => {
    const id = machineIdOf(ctx.params[0]);
    const body = parseParsEdit(await deps.readBody(ctx.req));
    if (!body.ok) throw new FleetError(body.error.code, `${body.error.path}: ${body.error.message}`, 400);
    const who = by(ctx);
    const pars = await store.setPars(id, body.value, who.actor, deps.now());
    await deps.audit({ ...who, action: "pars.edit", target: id, detail: { pars: body.value.pars } });
    return { status: 200, body: pars };
  });
  return store;
}
