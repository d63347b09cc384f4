// The overview (`#/`): money at a glance (today, yesterday, last 7 days in the operator's time zone; revenue per
// day and per hour; sales per machine today), then every machine's state, stock, faults, sales today and last sale,
// live from the WebSocket's picture (sales are applied in the browser: overview-live.ts).
import { html, nothing, svg, type TemplateResult } from "lit";
import type { Alert, FleetOverview, MachineSummary, PeriodTotals } from "@zapvend/protocol";
import { barChart } from "./charts.js";
import { ago, sats } from "./format.js";
import { clockTime, dateTime, fiatTotals, noFiatNote } from "./zone-format.js";

/** Products named per period card. */
const TOP_PRODUCTS = 3;
/** Machines in the "sales per machine today" chart. */
const TOP_MACHINES = 12;

export function stockBars(stock: MachineSummary["stock"]): TemplateResult {
  return html`<span class="stock">${stock.map(
    (s) => html`<span title="${s.slot} ${s.name}: ${s.stock}/${s.capacity}" data-slot=${s.slot} data-stock=${s.stock}>
      <span class="stockbar ${s.stock / s.capacity < 0.2 ? "low" : ""}"><span style="width:${Math.round((s.stock / s.capacity) * 100)}%"></span></span>
      <span class="muted">${s.slot} ${s.stock}</span>
    </span>`,
  )}</span>`;
}

const satsOf = (msat: string): number => Number(BigInt(msat) / 1000n);
const salesWord = (n: number): string => `${n} ${n === 1 ? "sale" : "sales"}`;

function periodCard(key: string, title: string, p: PeriodTotals): TemplateResult {
  const note = noFiatNote(p);
  return html`<div class="card period" data-period=${key}>
    <span class="muted">${title}</span>
    <b data-sales-count>${salesWord(p.count)}</b>
    <div data-revenue-sats>${sats(p.amountMsat)}</div>
    <div class="muted" data-revenue-fiat>${fiatTotals(p)}${note ? html` · <span data-no-fiat>${note}</span>` : nothing}</div>
    <ol class="top" data-top-products>${p.products.slice(0, TOP_PRODUCTS).map((x) => html`<li data-product=${x.product}>${x.product} <span class="muted">× ${x.count} · ${sats(x.amountMsat)}</span></li>`)}</ol>
  </div>`;
}

export function renderOverview(v: { machines: ReadonlyMap<string, MachineSummary>; alerts: readonly Alert[]; now: number; overview: FleetOverview | null }): TemplateResult {
  const list = [...v.machines.values()].sort((a, b) => a.id.localeCompare(b.id));
  const online = list.filter((m) => m.status === "online").length;
  const o = v.overview;
  const tz = o?.timeZone ?? "UTC";
  const sold = new Map((o?.machines ?? []).map((m) => [m.id, m]));
  const topMachines = [...(o?.machines ?? [])]
    .filter((m) => m.count > 0)
    .sort((a, b) => satsOf(b.amountMsat) - satsOf(a.amountMsat) || a.id.localeCompare(b.id))
    .slice(0, TOP_MACHINES);
  return html`
    ${o
      ? html`<div class="cards" data-overview>
            ${periodCard("today", "today", o.periods.today)} ${periodCard("yesterday", "yesterday", o.periods.yesterday)}
            ${periodCard("last7Days", "last 7 days", o.periods.last7Days)}
          </div>
          <div class="grid2">
            <section>
              <h2>Revenue per day (sat) <span class="muted">last ${o.perDay.length} days · ${tz}</span></h2>
              <svg width="100%" viewBox="0 0 520 180" role="group" aria-label="revenue per day" data-chart="per-day">
                ${barChart(
                  o.perDay.map((p) => ({ label: p.label.slice(5), value: satsOf(p.amountMsat), title: `${p.label}: ${salesWord(p.count)}, ${sats(p.amountMsat)}` })),
                  { width: 520, height: 180 },
                )}
              </svg>
            </section>
            <section>
              <h2>Revenue per hour today (sat) <span class="muted">${tz}</span></h2>
              <svg width="100%" viewBox="0 0 520 180" role="group" aria-label="revenue per hour today" data-chart="per-hour">
                ${barChart(
                  o.perHour.map((p) => ({ label: p.label.slice(0, 2), value: satsOf(p.amountMsat), title: `${p.label}–${clockTime(tz, p.to)}: ${salesWord(p.count)}, ${sats(p.amountMsat)}` })),
                  { width: 520, height: 180 },
                )}
              </svg>
            </section>
          </div>
          <section>
            <h2>Sales per machine today (sat) <span class="muted">top ${TOP_MACHINES}</span></h2>
            <svg width="100%" viewBox="0 0 720 170" role="group" aria-label="sales per machine today" data-chart="per-machine">
              ${topMachines.length
                ? barChart(
                    topMachines.map((m) => ({ label: m.id, value: satsOf(m.amountMsat), title: `${m.id}: ${salesWord(m.count)} today, ${sats(m.amountMsat)}` })),
                    { width: 720, height: 170 },
                  )
                : svg`<text x="8" y="20" fill="#888">no sales today yet</text>`}
            </svg>
          </section>`
      : html`<p class="muted" data-overview-loading>loading the numbers…</p>`}
    <div class="cards">
      <div class="card"><span class="muted">machines online</span><b data-test="online-count">${online} / ${list.length}</b></div>
      <div class="card"><span class="muted">open alerts</span><b>${v.alerts.filter((a) => a.clearedAt === null).length}</b></div>
      <div class="card"><span class="muted">faults</span><b>${list.reduce((n, m) => n + m.faults.length, 0)}</b></div>
    </div>
    <section>
      <div class="scroll-x"><table>
        <thead><tr><th>machine</th><th>state</th><th>last seen</th><th>stock</th><th>today</th><th>last sale</th><th>faults</th><th>missing events</th></tr></thead>
        <tbody>
          ${list.length === 0 ? html`<tr><td colspan="8" class="muted">No machine has reported yet.</td></tr>` : nothing}
          ${list.map((m) => {
            const s = sold.get(m.id);
            return html`<tr data-machine=${m.id}>
              <td><a href="#/machines/${m.id}">${m.id}</a><div class="muted">${m.model ?? ""} ${kindBadge(m)}</div></td>
              <td><span class="badge status-${m.status}" data-status>${m.status}</span></td>
              <td>${ago(m.lastSeen, v.now)}</td>
              <td>${stockBars(m.stock)}</td>
              <td data-today-sales=${s?.count ?? 0}>${s && s.count > 0 ? html`${s.count} · ${sats(s.amountMsat)}` : html`<span class="muted">0</span>`}</td>
              <td data-last-sale>${s?.lastSaleAt ? html`${dateTime(tz, s.lastSaleAt)} <div class="muted">${ago(s.lastSaleAt, v.now)}</div>` : html`<span class="muted">never</span>`}</td>
              <td>${m.faults.map((f) => html`<span class="badge sev-critical" title=${f.message}>${f.code}</span> `)}</td>
              <td>${m.missingEvents > 0 ? html`<span class="badge sev-warning" data-missing>${m.missingEvents} missing</span>` : html`<span class="muted">0</span>`}</td>
            </tr>`;
          })}
        </tbody>
      </table></div>
    </section>
  `;
}

/** An MDB machine is the card reader of a VMC (the machine's own controller vends): said on its row and its page. */
export function kindBadge(m: Pick<MachineSummary, "kind">): TemplateResult | typeof nothing {
  return m.kind === "mdb" ? html`<span class="badge" data-kind="mdb" title="the card reader of the machine's own controller (VMC), over MDB">MDB</span>` : nothing;
}
