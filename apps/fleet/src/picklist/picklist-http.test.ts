// The pick list over the fleet's HTTP API as each role uses it: real HTTP on 127.0.0.1, a real SQLite file, API
// tokens of each role. A viewer reads the pick list (read-only); a technician also issues one (saved with its
// lines) and sees the shrinkage after the restock; only an operator sets par levels.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IssuedPickList, IssuedPickListSummary, PickList, SlotPar, type FleetRole } from "@zapvend/protocol";
import { issuedPickList, issuedSummary, pickList, slotPar } from "../console/picklist-check.js";
import { bearer, testAuth } from "../__fixtures__/auth.js";
import { event } from "../__fixtures__/messages.js";
import { H, NOW, seedPicklistFleet } from "../__fixtures__/picklist.js";
import { RecordingLink } from "../__fixtures__/recording-link.js";
import { engines } from "../__fixtures__/stores.js";
import { FleetService } from "../fleet-service.js";
import { FleetHttpServer } from "../http-server.js";

describe("pick list HTTP API", () => {
  let service: FleetService;
  let http: FleetHttpServer;
  let cleanup: () => Promise<void>;
  let base: string;
  let clock = NOW;
  const tokens = new Map<FleetRole, Record<string, string>>();

  beforeEach(async () => {
    clock = NOW;
    const opened = await engines[0]!.open();
    cleanup = opened.cleanup;
    service = new FleetService({ store: opened.store, link: new RecordingLink(), alertIntervalMs: 60_000 });
    await service.start();
    http = new FleetHttpServer({ service, port: 0, now: () => clock, auth: testAuth(service) });
    await http.start();
    base = http.url;
    for (const role of ["viewer", "technician", "operator"] as const) tokens.set(role, await bearer(http.auth, role));
    await seedPicklistFleet((msgs) => service.ingest(msgs));
  });

  afterEach(async () => {
    await http.stop();
    await service.stop();
    await cleanup();
  });

  const call = async (role: FleetRole, method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      headers: { ...tokens.get(role), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const type = r.headers.get("content-type") ?? "";
    return { status: r.status, type, disposition: r.headers.get("content-disposition"), body: type.startsWith("application/json") ? ((await r.json()) as unknown) : await r.text() };
  };
  const code = (r: { body: unknown }) => (r.body as { error?: { code?: string } }).error?.code;

  it("answers the pick list as JSON for a viewer, ordered by need with the van's totals, and for a group", async () => {
    const r = await call("viewer", "GET", "/api/picklist");
    expect(r.status).toBe(200);
    const list = r.body as PickList;
    // The answer is what protocol says, and what the console's checks accept.
    expect(PickList.safeParse(list).error).toBeUndefined();
    expect(() => pickList(list, "")).not.toThrow();
    expect(list.generatedAt).toBe(NOW);
    expect(list.machines.map((m) => [m.machineId, m.toLoad, m.daysLeft])).toEqual([["m-1", 21, 2], ["m-2", 6, 14], ["m-3", 5, null]]);
    expect(list.totals.map((t) => [t.name, t.toLoad])).toEqual([["Product A1", 19], ["Product A2", 10], ["Product A3", 3]]);
    const group = (await call("viewer", "GET", "/api/picklist?machines=m-3,m-2&window=1")).body as PickList;
    expect(group.windowDays).toBe(1);
    expect(group.machines.map((m) => [m.machineId, m.daysLeft])).toEqual([["m-2", 2], ["m-3", null]]);
  });

  it("answers the pick list as CSV with a total row per product", async () => {
    const a = await call("technician", "GET", "/api/picklist?format=csv&machines=m-2");
    const b = await call("technician", "GET", "/api/picklist.csv?machines=m-2");
    expect(a.type).toBe("text/csv; charset=utf-8");
    expect(a.disposition).toBe('attachment; filename="zapvend-picklist.csv"');
    expect(a.body).toBe(b.body);
    expect(String(a.body).split("\r\n")).toEqual([
      "machine_id,slot,product,kind,stock,par,to_load,sold_7d,per_day,days_left",
      "m-2,A1,Product A1,spiral,4,10,6,2,0.29,14",
      "TOTAL,,Product A1,spiral,,,6,,,",
      "",
    ]);
  });

  it("refuses bad queries with coded errors", async () => {
    expect(code(await call("viewer", "GET", "/api/picklist?window=0"))).toBe("bad_value");
    expect(code(await call("viewer", "GET", "/api/picklist?window=91"))).toBe("bad_value");
    expect(code(await call("viewer", "GET", "/api/picklist?format=xml"))).toBe("bad_value");
    expect(code(await call("viewer", "GET", "/api/picklist?machines=Bad%20Id"))).toBe("bad_value");
    expect(code(await call("viewer", "GET", "/api/picklist?machine=m-1"))).toBe("unknown_key");
    expect(code(await call("viewer", "GET", "/api/picklists/pl-no-such-list"))).toBe("picklist_not_found");
  });

  it("lets only an operator set par levels, and the pick list follows them", async () => {
    expect(((await call("viewer", "GET", "/api/machines/m-1/pars")).body as SlotPar[]).map((p) => p.par)).toEqual([10, 10, 12]);
    for (const role of ["viewer", "technician"] as const) {
      const r = await call(role, "PUT", "/api/machines/m-1/pars", { pars: { A1: 8 } });
      expect([r.status, code(r)]).toEqual([403, "forbidden"]);
    }
    const ok = await call("operator", "PUT", "/api/machines/m-1/pars", { pars: { A1: 8 } });
    expect(ok.status).toBe(200);
    expect((ok.body as SlotPar[]).find((p) => p.slot === "A1")).toMatchObject({ par: 8, parSet: true });
    expect(SlotPar.array().safeParse(ok.body).error).toBeUndefined();
    expect(() => (ok.body as SlotPar[]).map((p) => slotPar(p, ""))).not.toThrow();
    const above = await call("operator", "PUT", "/api/machines/m-1/pars", { pars: { A1: 11 } });
    expect([above.status, code(above)]).toEqual([400, "par_above_capacity"]);
    expect([(await call("operator", "PUT", "/api/machines/m-1/pars", { pars: { A1: -1 } })).status]).toEqual([400]);
    expect(code(await call("operator", "PUT", "/api/machines/m-9/pars", { pars: { A1: 1 } }))).toBe("machine_not_found");
    const list = (await call("technician", "GET", "/api/picklist?machines=m-1")).body as PickList;
    expect(list.machines[0]!.lines.find((l) => l.slot === "A1")).toMatchObject({ stock: 2, par: 8, toLoad: 6 });
    // Every par edit is in the audit.
    const audit = await http.auth.listAudit({ action: "pars.edit", limit: 10 });
    expect(audit.map((e) => [e.target, e.ok])).toEqual([["m-1", true]]);
  });

  it("lets a technician (not a viewer) issue a pick list, then shows the restock's shrinkage per slot", async () => {
    const refused = await call("viewer", "POST", "/api/picklists", { machines: ["m-1"] });
    expect([refused.status, code(refused)]).toEqual([403, "forbidden"]);
    const r = await call("technician", "POST", "/api/picklists", { machines: ["m-1"] });
    expect(r.status).toBe(201);
    const issued = r.body as IssuedPickList;
    expect(issued.toLoad).toBe(21);
    clock = NOW + 3 * H;
    await service.ingest([event("m-1", "restock", { seq: 500, ts: NOW + 2 * H, body: { slot: "A2", previous: 0, stock: 8 } })]);
    const got = (await call("viewer", "GET", `/api/picklists/${issued.id}`)).body as IssuedPickList;
    expect(got.machines[0]!.lines.find((l) => l.slot === "A2")!.restock).toEqual({ at: NOW + 2 * H, previous: 0, counted: 8, loaded: 8, expected: 10, shrinkage: 2 });
    expect([got.restocked, got.shrinkage]).toEqual([1, 2]);
    expect(IssuedPickList.safeParse(got).error).toBeUndefined();
    expect(() => issuedPickList(got, "")).not.toThrow();
    const csv = String((await call("viewer", "GET", `/api/picklists/${issued.id}?format=csv`)).body).split("\r\n");
    expect(csv[0]).toBe("picklist_id,issued_at,machine_id,slot,product,stock_at_issue,par,to_load,restocked_at,previous,counted,loaded,expected,shrinkage");
    expect(csv[2]).toBe(`${issued.id},2026-11-20T00:00:00.000Z,m-1,A2,Product A2,0,10,10,2026-11-20T02:00:00.000Z,0,8,8,10,2`);
    const listed = (await call("viewer", "GET", "/api/picklists")).body as Array<{ id: string; shrinkage: number }>;
    expect(IssuedPickListSummary.array().safeParse(listed).error).toBeUndefined();
    expect(() => listed.map((l) => issuedSummary(l, ""))).not.toThrow();
    expect(listed.map((l) => [l.id, l.shrinkage])).toEqual([[issued.id, 2]]);
    const audit = await http.auth.listAudit({ action: "picklist.issue", limit: 10 });
    expect(audit.map((e) => e.target)).toEqual([issued.id]);
    const extra = await call("technician", "POST", "/api/picklists", { machines: ["m-1"], extra: 1 });
    expect([extra.status, code(extra)]).toEqual([400, "unknown_key"]);
  });
});
