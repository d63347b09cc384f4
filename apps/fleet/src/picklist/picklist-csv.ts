// The pick list as CSV for a spreadsheet or a warehouse tool: one row per machine and slot, in the pick list's
// order (by need), then the van's totals per product. Issued lists add the restock matched and the shrinkage.
import type { IssuedPickList, PickList } from "@zapvend/protocol";
import { csvField } from "../reports.js";

type Cell = string | number | boolean | null;

function csv(rows: Cell[][]): string {
  return rows.map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** `GET /api/picklist?format=csv`: `machine_id,slot,product,kind,stock,par,to_load,sold_in_window,per_day,days_left`, then `TOTAL` rows. */
export function picklistCsv(list: PickList): string {
  const rows: Cell[][] = [["machine_id", "slot", "product", "kind", "stock", "par", "to_load", `sold_${list.windowDays}d`, "per_day", "days_left"]];
  for (const m of list.machines) for (const l of m.lines) rows.push([m.machineId, l.slot, l.name, l.kind, l.stock, l.par, l.toLoad, l.sold, l.perDay, l.daysLeft]);
  for (const t of list.totals) rows.push(["TOTAL", null, t.name, t.kind, null, null, t.toLoad, null, null, null]);
  return csv(rows);
}

/** `GET /api/picklists/:id?format=csv`: the issued lines with the restock matched (empty until the technician restocked). */
export function issuedPicklistCsv(list: IssuedPickList): string {
  const rows: Cell[][] = [["picklist_id", "issued_at", "machine_id", "slot", "product", "stock_at_issue", "par", "to_load", "restocked_at", "previous", "counted", "loaded", "expected", "shrinkage"]];
  const at = new Date(list.issuedAt).toISOString();
  for (const m of list.machines) {
    for (const l of m.lines) {
      const r = l.restock;
      rows.push([list.id, at, m.machineId, l.slot, l.name, l.stock, l.par, l.toLoad, r ? new Date(r.at).toISOString() : null, r?.previous ?? null, r?.counted ?? null, r?.loaded ?? null, r?.expected ?? null, r?.shrinkage ?? null]);
    }
  }
  return csv(rows);
}
