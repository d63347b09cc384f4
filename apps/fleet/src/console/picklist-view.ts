// The pick list page (`#/picklist`, issue #18): what to load in the van for every machine or a group, by need, with
// the van's totals; operators set par levels in place; a technician issues the list (saved with its lines, then
// printed) and later sees each issued list (`#/picklist/<id>`) with the restocks matched against it: the shrinkage
// per slot. Printing (`@media print`) drops the navigation and the controls, prints black on white, the van's totals
// on the first page and one table per machine on a page of its own. Loaded on first navigation (app.ts imports it
// lazily) and registers its element itself.
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import type { FleetRole, IssuedPickList, IssuedPickListSummary, PickList, PickListPage, SlotPar } from "@zapvend/protocol";
import { ApiCallError, call, can, json } from "./api.js";
import { arr } from "./check.js";
import { issuedPickList, issuedSummary, pickListPage, slotPar } from "./picklist-check.js";
import { styles } from "./styles.js";

const enc = encodeURIComponent;
const days = (d: number | null) => (d === null ? "–" : `${d.toFixed(1)} d`);
/** Machines (with their lines) on one page: a fleet of 10,000 is read page by page, in the order of need. */
export const PICKLIST_PAGE = 50;
const when = (ms: number) => new Date(ms).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

/** `machines` as the API takes it: ids separated by commas or spaces. */
function groupParam(text: string): string {
  return text
    .split(/[\s,]+/)
    .filter((s) => s !== "")
    .join(",");
}

export const picklistApi = {
  current: (machines: string, windowDays: number, offset: number) =>
    call<PickListPage>(pickListPage, `/api/picklist?window=${windowDays}&limit=${PICKLIST_PAGE}&offset=${offset}${machines ? `&machines=${enc(machines)}` : ""}`),
  issue: (machines: string, windowDays: number) =>
    call<IssuedPickList>(issuedPickList, "/api/picklists", json("POST", { windowDays, ...(machines ? { machines: machines.split(",") } : {}) })),
  issued: (id: string) => call<IssuedPickList>(issuedPickList, `/api/picklists/${enc(id)}`),
  history: () => call<IssuedPickListSummary[]>(arr(issuedSummary), "/api/picklists?limit=20"),
  setPars: (machineId: string, pars: Record<string, number | null>) => call<SlotPar[]>(arr(slotPar), `/api/machines/${enc(machineId)}/pars`, json("PUT", { pars })),
};

const pageStyles = css`
  .controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 12px; }
  .controls input[type="text"] { width: 260px; }
  input[type="number"] { background: #0f1115; color: #e6e6e6; border: 1px solid #3a3f4a; border-radius: 6px; padding: 3px 4px; width: 56px; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .need { font-weight: 600; color: #f7931a; }
  .empty { color: #f85149; font-weight: 600; }
  .short { color: #f85149; font-weight: 600; }
  .over { color: #d29922; }
  .machine h2 { display: flex; flex-wrap: wrap; gap: 10px; align-items: baseline; }
  .machine h2 a { color: inherit; }
  .print-only { display: none; }
  .pager { display: flex; gap: 12px; align-items: center; margin: 8px 0 12px; }
  .summary { display: flex; flex-wrap: wrap; gap: 16px; margin: 4px 0 12px; }
  @media (max-width: 700px) {
    .controls input[type="text"] { width: 100%; }
    .wide { display: none; }
  }
  @media print {
    :host { color: #000; background: #fff; font-size: 11pt; }
    .no-print { display: none !important; }
    .print-only { display: inline; }
    section { background: #fff; border: none; border-radius: 0; padding: 0; margin: 0 0 8mm; color: #000; }
    section h2 { color: #000; }
    section.machine { break-before: page; page-break-before: always; }
    table { border-collapse: collapse; }
    th, td { border: 1px solid #000; color: #000; padding: 3px 6px; }
    th { font-weight: 700; }
    a { color: #000; text-decoration: none; }
    .badge { background: none; border: 1px solid #000; color: #000; }
    .need, .empty, .short, .over, .muted { color: #000; }
    .wide { display: table-cell; }
  }
`;

export class FleetPicklistView extends LitElement {
  static override styles = [styles, pageStyles];
  static override properties = {
    userRole: { attribute: false },
    issuedId: { attribute: false },
    list: { state: true },
    issued: { state: true },
    history: { state: true },
    machines: { state: true },
    windowDays: { state: true },
    offset: { state: true },
    parEdits: { state: true },
    busy: { state: true },
    error: { state: true },
  };

  declare userRole: FleetRole | undefined;
  /** Set: show this issued pick list (`#/picklist/<id>`); null: the pick list now. */
  declare issuedId: string | null;
  declare list: PickListPage | null;
  declare issued: IssuedPickList | null;
  declare history: IssuedPickListSummary[];
  /** The group typed: machine ids, empty for every machine. */
  declare machines: string;
  declare windowDays: number;
  /** The first machine of the page shown (0-based, in the order of need). */
  declare offset: number;
  /** Pars typed but not saved, per machine and slot. */
  declare parEdits: Record<string, Record<string, number>>;
  declare busy: boolean;
  declare error: string;

  constructor() {
    super();
    this.userRole = undefined;
    this.issuedId = null;
    this.list = null;
    this.issued = null;
    this.history = [];
    this.machines = "";
    this.windowDays = 7;
    this.offset = 0;
    this.parEdits = {};
    this.busy = false;
    this.error = "";
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("issuedId")) void this.load();
  }

  private fail(err: unknown): void {
    this.error = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
  }

  async load(): Promise<void> {
    this.error = "";
    try {
      if (this.issuedId) {
        this.issued = null;
        this.issued = await picklistApi.issued(this.issuedId);
      } else {
        const [list, history] = await Promise.all([picklistApi.current(groupParam(this.machines), this.windowDays, this.offset), picklistApi.history()]);
        this.list = list;
        this.history = history;
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Saves the pick list with its lines (so the restocks are matched against it), shows it, and prints it. */
  private async issueAndPrint(): Promise<void> {
    this.busy = true;
    try {
      const issued = await picklistApi.issue(groupParam(this.machines), this.windowDays);
      this.issued = issued;
      location.hash = `#/picklist/${issued.id}`;
      await this.updateComplete;
      window.print();
    } catch (err) {
      this.fail(err);
    } finally {
      this.busy = false;
    }
  }

  private async savePars(machineId: string): Promise<void> {
    const pars = this.parEdits[machineId];
    if (!pars) return;
    this.busy = true;
    try {
      await picklistApi.setPars(machineId, pars);
      const { [machineId]: _saved, ...rest } = this.parEdits;
      this.parEdits = rest;
      await this.load();
    } catch (err) {
      this.fail(err);
    } finally {
      this.busy = false;
    }
  }

  private editPar(machineId: string, slot: string, value: string): void {
    const n = Number(value);
    if (value === "" || !Number.isInteger(n) || n < 0) return;
    this.parEdits = { ...this.parEdits, [machineId]: { ...this.parEdits[machineId], [slot]: n } };
  }

  override render(): TemplateResult {
    return html`${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
    ${this.issuedId ? this.renderIssued() : this.renderCurrent()}`;
  }

  private renderCurrent(): TemplateResult {
    const l = this.list;
    const csvHref = `/api/picklist.csv?window=${this.windowDays}${groupParam(this.machines) ? `&machines=${enc(groupParam(this.machines))}` : ""}`;
    return html`
      <div class="controls no-print">
        <label>Machines <input type="text" data-group placeholder="all machines, or ids: m-1, m-2" .value=${this.machines}
          @change=${(e: Event) => ((this.machines = (e.target as HTMLInputElement).value), (this.offset = 0), void this.load())}></label>
        <label>Sales rate over <select data-window @change=${(e: Event) => ((this.windowDays = Number((e.target as HTMLSelectElement).value)), (this.offset = 0), void this.load())}>
          ${[7, 14, 28].map((d) => html`<option value=${d} ?selected=${d === this.windowDays}>last ${d} days</option>`)}
        </select></label>
        <button @click=${() => void this.load()}>Refresh</button>
        <a href=${csvHref} download data-csv>CSV</a>
        <button @click=${() => window.print()}>Print</button>
        ${can(this.userRole, "technician") ? html`<button class="primary" data-issue ?disabled=${this.busy || !l?.machines.length} @click=${() => void this.issueAndPrint()}>Issue and print</button>` : nothing}
      </div>
      ${!l
        ? html`<p class="muted">loading…</p>`
        : html`
            <h2 class="print-only">Pick list, ${when(l.generatedAt)}</h2>
            <section data-totals>
              <h2>Van load: <span data-test="picklist-total">${l.toLoad}</span> units for ${l.page.withLoad} of ${l.page.machines} machines</h2>
              ${l.totals.length === 0
                ? html`<p class="muted">Every slot is at its par.</p>`
                : html`<table>
                    <thead><tr><th>Product</th><th class="n">To load</th><th class="n">Machines</th></tr></thead>
                    <tbody>${l.totals.map((t) => html`<tr data-product=${t.name}><td>${t.name}</td><td class="n" data-total>${t.toLoad}</td><td class="n">${t.machines}</td></tr>`)}</tbody>
                  </table>`}
              <p class="muted">Machines by need: empty slots first, then days of stock left at the sales rate of the last ${l.windowDays} days${l.windowFrom === undefined ? "" : html` (sales since <span data-window-from>${utcDay(l.windowFrom)}</span> 00:00 UTC)`}.</p>
            </section>
            ${this.renderPager(l)}
            ${l.machines.map((m, i) => this.renderMachine(m, l.page.offset + i + 1, l.windowDays))}
            ${l.page.machines > l.machines.length ? this.renderPager(l) : nothing}
            ${this.history.length ? this.renderHistory() : nothing}
          `}
    `;
  }

  /** "Machines 51-100 of 10,000" with the previous and next pages (the whole list is in the CSV). */
  private renderPager(l: PickListPage): TemplateResult | typeof nothing {
    const { offset, limit, machines } = l.page;
    if (machines <= limit && offset === 0) return nothing;
    const go = (to: number) => {
      this.offset = Math.max(0, to);
      void this.load().then(() => window.scrollTo(0, 0));
    };
    return html`<nav class="pager no-print" data-pager aria-label="pages of the pick list">
      <button data-prev ?disabled=${offset === 0} @click=${() => go(offset - limit)}>Previous</button>
      <span data-page-range>Machines ${machines === 0 ? 0 : offset + 1}–${Math.min(offset + limit, machines)} of ${machines.toLocaleString("en")}</span>
      <button data-next ?disabled=${offset + limit >= machines} @click=${() => go(offset + limit)}>Next</button>
    </nav>`;
  }

  private renderMachine(m: PickList["machines"][number], rank: number, windowDays: number): TemplateResult {
    const operator = can(this.userRole, "operator");
    const edits = this.parEdits[m.machineId];
    return html`<section class="machine" data-machine=${m.machineId}>
      <h2><span>${rank}. <a href="#/machines/${m.machineId}">${m.machineId}</a></span>
        <span class="badge status-${m.status}">${m.status}</span>
        ${m.emptySlots ? html`<span class="empty" data-empty=${m.emptySlots}>${m.emptySlots} empty</span>` : nothing}
        <span data-days-left>${m.daysLeft === null ? "no sales" : `${days(m.daysLeft)} left`}</span>
        <span class="need" data-machine-load=${m.toLoad}>${m.toLoad} to load</span></h2>
      <table>
        <thead><tr><th>Slot</th><th>Product</th><th class="n">Stock</th><th class="n">Par</th><th class="n">To load</th>
          <th class="n wide">Sold ${windowDays} d</th><th class="n">Days left</th><th class="print-only">Loaded</th></tr></thead>
        <tbody>${m.lines.map(
          (l) => html`<tr data-slot=${l.slot}>
            <td>${l.slot}</td><td>${l.name}</td>
            <td class="n ${l.stock === 0 ? "empty" : ""}" data-stock>${l.stock}</td>
            <td class="n" data-par>${operator
              ? html`<input class="no-print" type="number" min="0" max=${l.capacity} aria-label="par of ${l.slot}" .value=${String(edits?.[l.slot] ?? l.par)}
                  @change=${(e: Event) => this.editPar(m.machineId, l.slot, (e.target as HTMLInputElement).value)}><span class="print-only">${l.par}</span>`
              : l.par}${l.parSet ? nothing : html`<span class="muted no-print" title="the capacity (no par set)"> cap</span>`}</td>
            <td class="n ${l.toLoad ? "need" : ""}" data-to-load>${l.toLoad}</td>
            <td class="n wide" data-sold>${l.sold}</td>
            <td class="n" data-slot-days>${days(l.daysLeft)}</td>
            <td class="print-only"></td>
          </tr>`,
        )}</tbody>
      </table>
      ${operator && edits ? html`<p class="no-print"><button class="primary" data-save-pars ?disabled=${this.busy} @click=${() => void this.savePars(m.machineId)}>Save pars</button></p>` : nothing}
    </section>`;
  }

  private renderHistory(): TemplateResult {
    return html`<section class="no-print" data-history>
      <h2>Issued pick lists</h2>
      <table>
        <thead><tr><th>Issued</th><th>By</th><th class="n">Machines</th><th class="n">To load</th><th class="n">Restocked</th><th class="n">Shrinkage</th></tr></thead>
        <tbody>${this.history.map(
          (h) => html`<tr data-issued=${h.id}><td><a href="#/picklist/${h.id}">${when(h.issuedAt)}</a></td><td>${h.issuedBy}</td>
            <td class="n">${h.machineIds.length}</td><td class="n">${h.toLoad}</td><td class="n">${h.restocked}</td>
            <td class="n ${h.shrinkage > 0 ? "short" : ""}" data-shrinkage>${h.shrinkage}</td></tr>`,
        )}</tbody>
      </table>
    </section>`;
  }

  private renderIssued(): TemplateResult {
    const p = this.issued;
    if (!p) return html`<p class="muted">loading…</p>`;
    const toRestock = p.machines.flatMap((m) => m.lines).filter((l) => l.toLoad > 0).length;
    return html`
      <div class="controls no-print">
        <a href="#/picklist">← Pick list now</a>
        <a href="/api/picklists/${p.id}?format=csv" download>CSV</a>
        <button @click=${() => window.print()}>Print</button>
      </div>
      <section data-totals data-picklist=${p.id}>
        <h2>Pick list ${p.id}, issued ${when(p.issuedAt)} by ${p.issuedBy}</h2>
        <div class="summary">
          <span>Van load: <b data-test="picklist-total">${p.toLoad}</b> units</span>
          <span>Restocked: <b data-restocked>${p.restocked}</b> of ${toRestock} slots to load</span>
          <span>Shrinkage: <b class=${p.shrinkage > 0 ? "short" : ""} data-test="picklist-shrinkage">${p.shrinkage}</b></span>
        </div>
        <table>
          <thead><tr><th>Product</th><th class="n">To load</th><th class="n">Machines</th></tr></thead>
          <tbody>${p.totals.map((t) => html`<tr data-product=${t.name}><td>${t.name}</td><td class="n" data-total>${t.toLoad}</td><td class="n">${t.machines}</td></tr>`)}</tbody>
        </table>
        <p class="muted">Expected = the machine's own count before the restock + the units to load; shrinkage = expected − the stock counted after the restock
          (units missing from the slot or not loaded; negative: more than planned).</p>
      </section>
      ${p.machines.map(
        (m, i) => html`<section class="machine" data-machine=${m.machineId}>
          <h2><span>${i + 1}. <a href="#/machines/${m.machineId}">${m.machineId}</a></span>
            ${m.emptySlots ? html`<span class="empty">${m.emptySlots} empty</span>` : nothing}
            <span class="need">${m.toLoad} to load</span></h2>
          <table>
            <thead><tr><th>Slot</th><th>Product</th><th class="n">Stock</th><th class="n">Par</th><th class="n">To load</th>
              <th class="wide">Restocked</th><th class="n">Before</th><th class="n">Counted</th><th class="n">Loaded</th><th class="n">Expected</th><th class="n">Shrinkage</th></tr></thead>
            <tbody>${m.lines.map((l) => {
              const r = l.restock;
              return html`<tr data-slot=${l.slot}>
                <td>${l.slot}</td><td>${l.name}</td><td class="n" data-stock>${l.stock}</td><td class="n" data-par>${l.par}</td>
                <td class="n ${l.toLoad ? "need" : ""}" data-to-load>${l.toLoad}</td>
                ${r
                  ? html`<td class="wide">${when(r.at)}</td><td class="n" data-previous>${r.previous}</td><td class="n" data-counted>${r.counted}</td>
                      <td class="n" data-loaded>${r.loaded}</td><td class="n" data-expected>${r.expected}</td>
                      <td class="n ${r.shrinkage > 0 ? "short" : r.shrinkage < 0 ? "over" : ""}" data-shrinkage>${signed(r.shrinkage)}</td>`
                  : html`<td class="wide muted">not yet</td><td></td><td></td><td></td><td></td><td data-shrinkage></td>`}
              </tr>`;
            })}</tbody>
          </table>
        </section>`,
      )}
    `;
  }
}

if (!customElements.get("zv-fleet-picklist")) customElements.define("zv-fleet-picklist", FleetPicklistView);
