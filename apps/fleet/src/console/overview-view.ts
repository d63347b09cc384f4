// The overview (`#/`): every machine's state, stock and faults at a glance, live from the WebSocket's picture.
import { html, nothing, type TemplateResult } from "lit";
import type { Alert, MachineSummary } from "@zapvend/protocol";
import { ago } from "./format.js";

export function stockBars(stock: MachineSummary["stock"]): TemplateResult {
  return html`<span class="stock">${stock.map(
    (s) => html`<span title="${s.slot} ${s.name}: ${s.stock}/${s.capacity}" data-slot=${s.slot} data-stock=${s.stock}>
      <span class="stockbar ${s.stock / s.capacity < 0.2 ? "low" : ""}"><span style="width:${Math.round((s.stock / s.capacity) * 100)}%"></span></span>
      <span class="muted">${s.slot} ${s.stock}</span>
    </span>`,
  )}</span>`;
}

export function renderOverview(v: { machines: ReadonlyMap<string, MachineSummary>; alerts: readonly Alert[]; now: number }): TemplateResult {
  const list = [...v.machines.values()].sort((a, b) => a.id.localeCompare(b.id));
  const online = list.filter((m) => m.status === "online").length;
  return html`
    <div class="cards">
      <div class="card"><span class="muted">machines online</span><b data-test="online-count">${online} / ${list.length}</b></div>
      <div class="card"><span class="muted">open alerts</span><b>${v.alerts.filter((a) => a.clearedAt === null).length}</b></div>
      <div class="card"><span class="muted">faults</span><b>${list.reduce((n, m) => n + m.faults.length, 0)}</b></div>
    </div>
    <section>
      <table>
        <thead><tr><th>machine</th><th>state</th><th>last seen</th><th>stock</th><th>faults</th><th>missing events</th></tr></thead>
        <tbody>
          ${list.length === 0 ? html`<tr><td colspan="6" class="muted">No machine has reported yet.</td></tr>` : nothing}
          ${list.map(
            (m) => html`<tr data-machine=${m.id}>
              <td><a href="#/machines/${m.id}">${m.id}</a><div class="muted">${m.model ?? ""}</div></td>
              <td><span class="badge status-${m.status}" data-status>${m.status}</span></td>
              <td>${ago(m.lastSeen, v.now)}</td>
              <td>${stockBars(m.stock)}</td>
              <td>${m.faults.map((f) => html`<span class="badge sev-critical" title=${f.message}>${f.code}</span> `)}</td>
              <td>${m.missingEvents > 0 ? html`<span class="badge sev-warning" data-missing>${m.missingEvents} missing</span>` : html`<span class="muted">0</span>`}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
  `;
}
