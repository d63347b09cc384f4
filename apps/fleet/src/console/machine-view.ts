// A machine's page (`#/machines/<id>`): its state, slots with price and availability edits sent as signed desired
// state, each slot's catalog product beside the name the machine reports (a mismatch marked: not applied yet),
// commands, telemetry charts, recent orders and events. The app owns the detail (it patches it from the live
// feed); this element owns what is being typed and sent, and tells the app of a desired state it saved.
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import type { CatalogResponse, CommandRecord, DesiredStateEdit, DesiredView, FleetRole, MachineDetail, Price, SlotView } from "@zapvend/protocol";
import { api, ApiCallError, call, can } from "./api.js";
import { catalogAnswer } from "./catalog-check.js";
import { lineChart } from "./charts.js";
import { eventLine } from "./event-lines.js";
import { ago, fiat, parsePriceInput, price, priceInput, sats } from "./format.js";
import { kindBadge, stockBars } from "./overview-view.js";
import { styles } from "./styles.js";
import { thumb } from "./thumb.js";
import { clockTime, dateTime, timestamp } from "./zone-format.js";

export class FleetMachineView extends LitElement {
  static override styles = styles;
  static override properties = {
    detail: { attribute: false },
    now: { attribute: false },
    userRole: { attribute: false },
    timeZone: { attribute: false },
    showRaw: { state: true },
    edits: { state: true },
    busy: { state: true },
    error: { state: true },
    catalog: { state: true },
    catalogError: { state: true },
  };

  declare detail: MachineDetail | null;
  declare now: number;
  /** The signed-in user's role (not `role`: that is the element's ARIA role, a native property of every Element). */
  declare userRole: FleetRole | undefined;
  /** The operator's IANA zone the times are shown in. */
  declare timeZone: string;
  /** The events' raw JSON shown beside their readable lines. */
  declare showRaw: boolean;
  /** Price and enable edits typed but not saved yet, per slot. */
  declare edits: Record<string, { price?: string; enabled?: boolean }>;
  declare busy: boolean;
  declare error: string;
  /** This machine's part of the fleet catalog (GET /api/catalog/machines/:id); null until it arrives. */
  declare catalog: CatalogResponse | null;
  declare catalogError: string;
  /** The machine and desired-state version the catalog was last asked for (a catalog edit makes a new version). */
  private catalogKey = "";

  constructor() {
    super();
    this.detail = null;
    this.now = Date.now();
    this.userRole = undefined;
    this.timeZone = "UTC";
    this.showRaw = false;
    this.edits = {};
    this.busy = false;
    this.error = "";
    this.catalog = null;
    this.catalogError = "";
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // Another machine (or the same one opened again): nothing typed for the previous one carries over.
    const before = changed.get("detail") as MachineDetail | null | undefined;
    if (changed.has("detail") && before?.machine.id !== this.detail?.machine.id) {
      this.edits = {};
      this.error = "";
      this.catalog = null;
      this.catalogError = "";
    }
    const key = this.detail ? `${this.detail.machine.id}@${this.detail.desired?.version ?? 0}` : "";
    if (key !== this.catalogKey) {
      this.catalogKey = key;
      if (this.detail) void this.loadCatalog(this.detail.machine.id, key);
    }
  }

  private async loadCatalog(machineId: string, key: string): Promise<void> {
    try {
      const c = await call(catalogAnswer, `/api/catalog/machines/${encodeURIComponent(machineId)}`);
      if (key !== this.catalogKey) return; // another machine or version was asked for meanwhile
      this.catalog = c;
      this.catalogError = "";
    } catch (err) {
      if (key === this.catalogKey) this.catalogError = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
    }
  }

  /**
   * A slot's catalog product with its picture (or icon), and whether the machine reports it yet: it shows the
   * product's English name once it applied the desired state naming it, so another name means not applied yet.
   */
  private slotProduct(s: SlotView): TemplateResult {
    if (!this.catalog) return html`<span class="muted">${this.catalogError ? "?" : "…"}</span>`;
    const a = this.catalog.assignments.find((x) => x.slot === s.slot);
    const p = a && this.catalog.products.find((x) => x.id === a.product);
    if (!a || !p) return html`<span class="muted" data-catalog-product="">not in the catalog</span>`;
    return html`<span class="product" data-catalog-product=${p.id}>${thumb(p.picture, 32, p.icon)} <span data-catalog-name>${p.names.en}</span></span>`;
  }

  private reportedName(s: SlotView): TemplateResult {
    const a = this.catalog?.assignments.find((x) => x.slot === s.slot);
    const p = a && this.catalog?.products.find((x) => x.id === a.product);
    if (!p || p.names.en === s.name) return html`<span data-reported-name>${s.name}</span>`;
    return html`<span data-reported-name>${s.name}</span>
      <span class="badge pending" data-mismatch title="The catalog assigns ${p.names.en}; the machine still reports ${s.name}: not applied yet">not applied yet</span>`;
  }

  override render(): TemplateResult {
    const d = this.detail;
    if (!d) return html`<p class="muted">loading…</p>`;
    const m = d.machine;
    const t = d.telemetry;
    const desired = d.desired;
    const desiredBadge = !desired
      ? nothing
      : desired.pending
        ? html`<span class="badge pending" data-desired="pending">v${desired.version} pending</span>`
        : desired.reportedStatus === "refused" && desired.reportedVersion === desired.version
          ? html`<span class="badge refused" data-desired="refused">v${desired.version} refused: ${desired.reportedError?.message ?? ""}</span>`
          : html`<span class="badge applied" data-desired="applied">v${desired.version} applied</span>`;
    const dirty = Object.keys(this.edits).length > 0;
    const operator = can(this.userRole, "operator");
    const names = new Map(d.slots.map((x) => [x.slot, x.name]));
    return html`
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
      <section>
        <h2>${m.id} <span class="badge status-${m.status}" data-status>${m.status}</span></h2>
        <div class="muted">${kindBadge(m)} ${m.model ?? "?"} · software ${m.softwareVersion ?? "?"} · boot ${m.boot ?? "?"} · last seen ${ago(m.lastSeen, this.now)}
          ${t ? html` · ${t.temperatureC === null ? "no thermometer" : `${t.temperatureC.toFixed(1)} °C`} · door ${t.door} · payments ${t.payments} · hardware ${t.hardware}` : nothing}
          · <a href="/api/reports/dex/${m.id}" download>DEX file</a></div>
        ${m.faults.map((f) => html`<div class="error">${f.code}: ${f.message}</div>`)}
        ${d.gaps.length ? html`<div class="error" data-gaps>Missing events (sequence gaps): ${d.gaps.map((g) => (g.fromSeq === g.toSeq ? `${g.fromSeq}` : `${g.fromSeq}–${g.toSeq}`)).join(", ")}</div>` : nothing}
      </section>
      <section>
        <h2>Slots, prices and availability ${desiredBadge}</h2>
        ${this.catalogError ? html`<div class="error" data-catalog-error>The catalog could not be read: ${this.catalogError}</div>` : nothing}
        <div class="scroll-x"><table>
          <thead><tr><th>slot</th><th>catalog product</th><th>machine reports</th><th>stock</th><th>price now</th>${operator ? html`<th>new price</th><th>enabled</th>` : html`<th>enabled</th>`}</tr></thead>
          <tbody>
            ${d.slots.map((s) => {
              const e = this.edits[s.slot] ?? {};
              const want = desired?.slots[s.slot];
              return html`<tr data-slot-row=${s.slot}>
                <td>${s.slot}</td><td>${this.slotProduct(s)}</td><td>${this.reportedName(s)}</td>
                <td>${stockBars([{ slot: s.slot, name: s.name, stock: s.stock, capacity: s.capacity }])} / ${s.capacity}</td>
                <td data-price>${price(s.price)}${want?.price && desired?.pending ? html` <span class="muted">→ ${price(want.price)}</span>` : nothing}</td>
                ${!operator ? html`<td>${s.enabled ? "yes" : "no"}</td>` : html`<td><input type="text" aria-label="new price for ${s.slot}" .value=${e.price ?? priceInput(s.price)}
                  @input=${(ev: Event) => this.edit(s.slot, { price: (ev.target as HTMLInputElement).value }, s.price)} />
                  <span class="muted">${s.price.unit === "msat" ? "sat" : s.price.currency}</span></td>
                <td><input type="checkbox" aria-label="enable ${s.slot}" .checked=${e.enabled ?? s.enabled}
                  @change=${(ev: Event) => this.edit(s.slot, { enabled: (ev.target as HTMLInputElement).checked }, s.price)} /></td>`}
              </tr>`;
            })}
          </tbody>
        </table></div>
        ${operator
          ? html`<p><button class="primary" data-send-desired ?disabled=${!dirty || this.busy} @click=${() => void this.saveDesired()}>Send to machine</button>
              <span class="muted">Changes are signed and sent as the machine's desired state; they show as pending until the machine reports them applied.</span></p>`
          : nothing}
      </section>
      <div class="grid2">
        <section>
          <h2>Commands</h2>
          ${can(this.userRole, "technician")
            ? html`<p>
                <select aria-label="slot for commands" id="cmd-slot">${d.slots.map((s) => html`<option value=${s.slot}>${s.slot} ${s.name}</option>`)}</select>
                <button data-command-button="test-vend" ?disabled=${this.busy} @click=${() => void this.command("test-vend", { slot: this.selectedSlot() })}>Test vend</button>
                <button data-command-button="restock" ?disabled=${this.busy} @click=${() => void this.command("restock", { slot: this.selectedSlot() })}>Restock slot</button>
                ${operator
                  ? html`<button data-command-button="rebirth" ?disabled=${this.busy} @click=${() => void this.command("rebirth", {})}>Rebirth</button>
                      <button data-command-button="reboot" ?disabled=${this.busy} @click=${() => void this.command("reboot", {})}>Reboot</button>`
                  : nothing}
              </p>`
            : nothing}
          <table>
            <thead><tr><th>sent</th><th>command</th><th>status</th><th>result</th></tr></thead>
            <tbody>${d.commands.map((c) => this.commandRow(c))}</tbody>
          </table>
        </section>
        <section>
          <h2>Temperature <span class="muted">${d.history.length} samples, one a minute at most · ${this.timeZone}</span></h2>
          <svg width="100%" viewBox="0 0 420 150" role="group" aria-label="temperature chart" data-chart="temperature">
            ${lineChart(d.history.filter((s) => s.temperatureC !== null).map((s) => ({ x: s.ts, y: s.temperatureC! })), { width: 420, height: 150, unit: "°C", timeLabel: (ms) => clockTime(this.timeZone, ms) })}
          </svg>
          <h2>Memory</h2>
          <svg width="100%" viewBox="0 0 420 120" role="group" aria-label="memory chart" data-chart="memory">
            ${lineChart(d.history.map((s) => ({ x: s.ts, y: s.rssMb })), { width: 420, height: 120, unit: " MB", timeLabel: (ms) => clockTime(this.timeZone, ms), digits: 0 })}
          </svg>
        </section>
      </div>
      <section>
        <h2>Recent orders</h2>
        <table>
          <thead><tr><th>settled</th><th>slot</th><th>product</th><th>amount</th><th>payment</th><th>evidence</th></tr></thead>
          <tbody>${d.sales.map(
            (s) => html`<tr data-sale=${s.eventId}><td>${dateTime(this.timeZone, s.settledAt)}</td><td>${s.slot}</td><td>${s.productName}</td>
              <td>${sats(s.amountMsat)}${s.fiat ? html` <span class="muted">${fiat(s.fiat)}</span>` : nothing}</td>
              <td class="muted" title=${s.paymentHash}>${s.hold ? "hold, settled" : "paid"} · ${s.paymentHash.slice(0, 12)}…</td>
              <td class="muted">${s.evidence.kind === "pour"
                ? `poured ${s.evidence.pouredMl.toFixed(0)}/${s.evidence.targetMl} ml, ${s.evidence.pulses} pulses · ${s.evidence.runMs} ms`
                : s.evidence.kind === "spiral"
                  ? `drop ${s.evidence.dropSeen ? "seen" : "not seen"}, ${s.evidence.homed ? "homed" : "not homed"} · ${s.evidence.runMs} ms`
                  : `VMC selection ${s.evidence.selection}: VEND ${s.evidence.result.toUpperCase()} · ${s.evidence.waitedMs} ms`}</td></tr>`,
          )}</tbody>
        </table>
      </section>
      <section>
        <h2>Events <label class="muted"><input type="checkbox" data-raw-toggle .checked=${this.showRaw} @change=${(ev: Event) => (this.showRaw = (ev.target as HTMLInputElement).checked)} /> raw JSON</label></h2>
        <table>
          <thead><tr><th>seq</th><th>time</th><th>event</th></tr></thead>
          <tbody>${d.events.map(
            (e) => html`<tr data-event=${e.seq} data-event-type=${e.type}><td>${e.seq}</td><td>${dateTime(this.timeZone, e.ts)}</td>
              <td><span data-event-line>${eventLine(e, names)}</span>${this.showRaw ? html`<pre class="raw" data-event-raw>${JSON.stringify(e.body, null, 1)}</pre>` : nothing}</td></tr>`,
          )}</tbody>
        </table>
      </section>
    `;
  }

  private commandRow(c: CommandRecord): TemplateResult {
    const result = c.status === "sent" ? (c.expiresAt < this.now ? "no answer (expired)" : "waiting…") : c.error ? `${c.error.code}: ${c.error.message}` : JSON.stringify(c.data ?? {});
    return html`<tr data-command=${c.rid}><td>${timestamp(this.timeZone, c.sentAt)}</td><td>${c.name} <span class="muted">${JSON.stringify(c.args)}</span></td>
      <td><span class="badge ${c.status === "ok" ? "applied" : c.status === "error" ? "refused" : "pending"}" data-command-status>${c.status}</span></td>
      <td class="muted">${result}</td></tr>`;
  }

  private selectedSlot(): string {
    return (this.renderRoot.querySelector("#cmd-slot") as HTMLSelectElement | null)?.value ?? "";
  }

  private edit(slot: string, change: { price?: string; enabled?: boolean }, _current: Price): void {
    this.edits = { ...this.edits, [slot]: { ...this.edits[slot], ...change } };
  }

  private async saveDesired(): Promise<void> {
    const d = this.detail;
    if (!d) return;
    const edit: DesiredStateEdit = { slots: {} };
    for (const [slot, e] of Object.entries(this.edits)) {
      const s = d.slots.find((x) => x.slot === slot);
      if (!s) continue;
      const change: { price?: Price; enabled?: boolean } = {};
      if (e.price !== undefined && e.price !== priceInput(s.price)) {
        const p = parsePriceInput(e.price, s.price);
        if (!p) {
          this.error = `${slot}: "${e.price}" is not a price (${s.price.unit === "msat" ? "whole sats" : s.price.currency})`;
          return;
        }
        change.price = p;
      }
      if (e.enabled !== undefined && e.enabled !== s.enabled) change.enabled = e.enabled;
      if (Object.keys(change).length) edit.slots![slot] = change;
    }
    if (Object.keys(edit.slots!).length === 0) {
      this.edits = {};
      return;
    }
    this.busy = true;
    this.error = "";
    try {
      const desired = await api.editDesired(d.machine.id, edit);
      this.dispatchEvent(new CustomEvent<DesiredView>("desired", { detail: desired }));
      this.edits = {};
    } catch (err) {
      this.error = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
    } finally {
      this.busy = false;
    }
  }

  private async command(name: string, args: Record<string, unknown>): Promise<void> {
    const d = this.detail;
    if (!d) return;
    this.busy = true;
    this.error = "";
    try {
      await api.command(d.machine.id, name, args);
    } catch (err) {
      this.error = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
    } finally {
      this.busy = false;
    }
  }
}
