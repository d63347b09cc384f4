// The alerts page (`#/alerts`): open alerts (and cleared ones on request), acknowledged by technicians and up.
import { html, nothing, type TemplateResult } from "lit";
import type { Alert } from "@zapvend/protocol";
import { ago } from "./format.js";

export function renderAlerts(v: { alerts: readonly Alert[]; showCleared: boolean; now: number; canAcknowledge: boolean; onShowCleared: (show: boolean) => void; onAcknowledge: (id: string) => void }): TemplateResult {
  const list = v.alerts;
  return html`
    <section>
      <h2>Alerts
        <label class="muted"><input type="checkbox" .checked=${v.showCleared} @change=${(e: Event) => v.onShowCleared((e.target as HTMLInputElement).checked)} /> show cleared</label></h2>
      <table>
        <thead><tr><th>severity</th><th>machine</th><th>alert</th><th>raised</th><th>state</th><th></th></tr></thead>
        <tbody>
          ${list.length === 0 ? html`<tr><td colspan="6" class="muted">No open alert. All good.</td></tr>` : nothing}
          ${list.map(
            (a) => html`<tr data-alert=${a.id} data-kind=${a.kind}>
              <td><span class="badge sev-${a.severity}">${a.severity}</span></td>
              <td><a href="#/machines/${a.machineId}">${a.machineId}</a></td>
              <td>${a.message}</td>
              <td>${ago(a.raisedAt, v.now)}</td>
              <td>${a.clearedAt !== null ? html`cleared ${ago(a.clearedAt, v.now)}` : a.acknowledgedAt !== null ? html`<span data-acknowledged>acknowledged</span>` : html`<b>open</b>`}</td>
              <td>${a.acknowledgedAt === null && a.clearedAt === null && v.canAcknowledge ? html`<button @click=${() => v.onAcknowledge(a.id)}>Acknowledge</button>` : nothing}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
  `;
}
