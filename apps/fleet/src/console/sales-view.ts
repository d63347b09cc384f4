// The sales page (`#/sales`): the last 30 local days of the operator's zone per day and per machine, the exports,
// and the latest sales on the operator's clock.
import { html, nothing, type TemplateResult } from "lit";
import type { Sale, SalesReportRow } from "@zapvend/protocol";
import { barChart } from "./charts.js";
import { fiat, sats } from "./format.js";
import { dateTime } from "./zone-format.js";

export interface SalesReport {
  byDay: SalesReportRow[];
  byMachine: SalesReportRow[];
  /** The operator's IANA zone: its local days are the chart's, and the latest sales' times are on its clock. */
  timeZone: string;
  /** The period's local days (`YYYY-MM-DD`), oldest first: one bar each, days without sales at zero. */
  days: string[];
}

export function renderSales(rep: SalesReport | null, recentSales: readonly Sale[]): TemplateResult {
  if (!rep) return html`<p class="muted">loading…</p>`;
  const total = rep.byMachine.reduce((n, r) => n + BigInt(r.amountMsat), 0n);
  const count = rep.byMachine.reduce((n, r) => n + r.count, 0);
  const byDay = new Map(rep.byDay.map((r) => [r.day, r]));
  const n = rep.days.length;
  return html`
    <div class="cards">
      <div class="card"><span class="muted">sales, last ${n} days</span><b data-test="sales-count">${count}</b></div>
      <div class="card"><span class="muted">revenue, last ${n} days</span><b data-test="sales-total">${sats(total.toString())}</b></div>
    </div>
    <section>
      <h2>Revenue per day (sats) <span class="muted" data-test="sales-zone">days in ${rep.timeZone}</span></h2>
      <svg width="100%" viewBox="0 0 720 180" role="group" aria-label="sales per day">
        ${barChart(
          // No sales at all: the chart's "no sales" note rather than 30 empty bars.
          (rep.byDay.length === 0 ? [] : rep.days).map((day) => {
            const r = byDay.get(day);
            return { label: day.slice(5), value: r ? Number(BigInt(r.amountMsat) / 1000n) : 0, title: `${day}: ${r?.count ?? 0} sales, ${sats(r?.amountMsat ?? "0")}` };
          }),
          { width: 720, height: 180 },
        )}
      </svg>
    </section>
    <section>
      <h2>Per machine <span class="muted"><a href="/api/sales.csv" download>sales CSV</a> · <a href="/api/reports/reconciliation?format=csv" download>reconciliation CSV</a></span></h2>
      <table>
        <thead><tr><th>machine</th><th>sales</th><th>sats</th><th>fiat</th><th>export</th></tr></thead>
        <tbody>${rep.byMachine.map(
          (r) => html`<tr data-report-machine=${r.machineId ?? ""}><td><a href="#/machines/${r.machineId}">${r.machineId}</a></td><td>${r.count}</td><td>${sats(r.amountMsat)}</td>
            <td>${r.fiat.map((f) => fiat(f)).join(" + ")}</td><td><a href="/api/reports/dex/${r.machineId}" download>DEX</a></td></tr>`,
        )}</tbody>
      </table>
    </section>
    <section>
      <h2>Latest sales</h2>
      <table>
        <thead><tr><th>settled</th><th>machine</th><th>slot</th><th>product</th><th>amount</th><th>payment hash</th></tr></thead>
        <tbody>${recentSales.map(
          (s) => html`<tr data-sale=${s.eventId}><td>${dateTime(rep.timeZone, s.settledAt)}</td><td>${s.machineId}</td><td>${s.slot}</td><td>${s.productName}</td>
            <td>${sats(s.amountMsat)}${s.fiat ? html` <span class="muted">${fiat(s.fiat)}</span>` : nothing}</td><td class="muted">${s.paymentHash.slice(0, 16)}…</td></tr>`,
        )}</tbody>
      </table>
    </section>
  `;
}
