// The fleet console: one lit element with its views (overview, machine, sales, alerts, and for admins users/tokens
// and the audit), routed by the URL hash, behind the login page. Live: the WebSocket's `hello` gives the whole
// picture, later messages patch it; nothing polls. What a role may not do is not shown (the server refuses it anyway).
import { LitElement, html, nothing, type TemplateResult } from "lit";
import type { Alert, CommandRecord, DesiredStateEdit, FleetRole, FleetWsMessage, MachineDetail, MachineSummary, Price, Sale, SalesReportRow, SessionInfo } from "@zapvend/protocol";
import { api, ApiCallError, can, LiveFeed, setSession } from "./api.js";
import { barChart, lineChart } from "./charts.js";
import { ago, fiat, parsePriceInput, price, priceInput, sats, time } from "./format.js";
import { styles } from "./styles.js";

type Route = { view: "overview" } | { view: "machine"; id: string } | { view: "sales" } | { view: "alerts" } | { view: "admin" } | { view: "audit" };

function parseRoute(hash: string): Route {
  const m = /^#\/machines\/([a-z0-9-]+)$/.exec(hash);
  if (m) return { view: "machine", id: m[1]! };
  if (hash === "#/sales") return { view: "sales" };
  if (hash === "#/alerts") return { view: "alerts" };
  if (hash === "#/admin") return { view: "admin" };
  if (hash === "#/audit") return { view: "audit" };
  return { view: "overview" };
}

const DAY_MS = 86_400_000;

export class FleetApp extends LitElement {
  static override styles = styles;
  static override properties = {
    route: { state: true },
    machines: { state: true },
    alerts: { state: true },
    connected: { state: true },
    detail: { state: true },
    error: { state: true },
    now: { state: true },
    showCleared: { state: true },
    report: { state: true },
    recentSales: { state: true },
    edits: { state: true },
    busy: { state: true },
    session: { state: true },
  };

  declare route: Route;
  declare machines: Map<string, MachineSummary>;
  declare alerts: Alert[];
  declare connected: boolean;
  declare detail: MachineDetail | null;
  declare error: string;
  declare now: number;
  declare showCleared: boolean;
  declare report: { byDay: SalesReportRow[]; byMachine: SalesReportRow[] } | null;
  declare recentSales: Sale[];
  /** Price and enable edits typed but not saved yet, per slot. */
  declare edits: Record<string, { price?: string; enabled?: boolean }>;
  declare busy: boolean;
  /** undefined while asking the server, null when logged out (the login page shows). */
  declare session: SessionInfo | null | undefined;

  private readonly feed = new LiveFeed(
    (m) => this.onLive(m),
    (c) => (this.connected = c),
  );
  private clockTimer: ReturnType<typeof setInterval> | undefined;
  private readonly onHash = () => this.navigate();

  constructor() {
    super();
    this.route = parseRoute(location.hash);
    this.machines = new Map();
    this.alerts = [];
    this.connected = false;
    this.detail = null;
    this.error = "";
    this.now = Date.now();
    this.showCleared = false;
    this.report = null;
    this.recentSales = [];
    this.edits = {};
    this.busy = false;
    this.session = undefined;
  }

  private can(role: FleetRole): boolean {
    return can(this.session?.role, role);
  }

  private readonly lost = () => {
    setSession(null);
    this.session = null;
    this.feed.stop();
  };

  private async checkSession(): Promise<void> {
    try {
      this.loggedIn(await api.session());
    } catch {
      this.session = null;
    }
  }

  private loggedIn(s: SessionInfo): void {
    setSession(s, this.lost);
    this.session = s;
    this.feed.start();
    void this.navigate();
  }

  private async logout(): Promise<void> {
    await api.logout().catch(() => {});
    this.lost();
  }

  /** Enrols a TOTP second factor: the key to add to an authenticator app, then its current code. */
  private async enrollTotp(): Promise<void> {
    try {
      const e = await api.enrollTotp();
      const code = prompt(`Add this key to your authenticator app (or open ${e.uri}):\n\n${e.secret}\n\nthen type the 6-digit code it shows:`);
      if (!code) return;
      await api.confirmTotp(code.trim());
      this.session = { ...this.session!, totp: true };
    } catch (err) {
      this.error = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
    }
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener("hashchange", this.onHash);
    this.clockTimer = setInterval(() => (this.now = Date.now()), 5_000);
    void this.checkSession();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener("hashchange", this.onHash);
    this.feed.stop();
    clearInterval(this.clockTimer);
  }

  private async navigate(): Promise<void> {
    this.route = parseRoute(location.hash);
    if (!this.session) return;
    this.error = "";
    this.edits = {};
    try {
      if (this.route.view === "machine") {
        this.detail = null;
        this.detail = await api.machine(this.route.id);
      } else if (this.route.view === "sales") {
        await this.loadSales();
      } else if (this.route.view === "alerts") {
        this.alerts = await api.alerts(this.showCleared);
      }
    } catch (err) {
      this.error = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
    }
  }

  private async loadSales(): Promise<void> {
    const from = Math.floor(Date.now() / DAY_MS) * DAY_MS - 29 * DAY_MS;
    const [byDay, byMachine, recent] = await Promise.all([api.salesReport("day", from), api.salesReport("machine", from), api.sales({ limit: 100 })]);
    this.report = { byDay, byMachine };
    this.recentSales = recent;
  }

  private onLive(m: FleetWsMessage): void {
    switch (m.type) {
      case "hello":
        this.machines = new Map(m.machines.map((x) => [x.id, x]));
        if (!this.showCleared) this.alerts = m.alerts;
        break;
      case "machine":
        this.machines = new Map(this.machines).set(m.machine.id, m.machine);
        if (this.detail?.machine.id === m.machine.id) this.detail = { ...this.detail, machine: m.machine };
        break;
      case "alert": {
        const rest = this.alerts.filter((a) => a.id !== m.alert.id);
        this.alerts = m.alert.clearedAt !== null && !this.showCleared ? rest : [m.alert, ...rest];
        break;
      }
      case "sale":
        if (this.detail?.machine.id === m.sale.machineId) this.detail = { ...this.detail, sales: [m.sale, ...this.detail.sales].slice(0, 50) };
        if (this.route.view === "sales") {
          this.recentSales = [m.sale, ...this.recentSales].slice(0, 100);
          void this.loadSales();
        }
        break;
      case "command":
        if (this.detail?.machine.id === m.command.machineId) {
          const rest = this.detail.commands.filter((c) => c.rid !== m.command.rid);
          this.detail = { ...this.detail, commands: [m.command, ...rest].sort((a, b) => b.sentAt - a.sentAt) };
        }
        break;
      case "desired":
        if (this.detail?.machine.id === m.machineId) {
          this.detail = { ...this.detail, desired: m.desired };
          // The machine applied something: its slots changed; fetch them again.
          if (!m.desired.pending) void api.machine(m.machineId).then((d) => (this.detail = d), () => {});
        }
        break;
      case "telemetry":
        if (this.detail?.machine.id === m.machineId) {
          const last = this.detail.history.at(-1);
          const history = last && m.sample.ts - last.ts < 60_000 ? this.detail.history : [...this.detail.history, m.sample].slice(-200);
          this.detail = { ...this.detail, telemetry: m.sample, history };
        }
        break;
    }
  }

  override render(): TemplateResult {
    if (this.session === undefined) return html`<main><p class="muted">loading…</p></main>`;
    if (this.session === null) return html`<zv-fleet-login @login=${(e: CustomEvent<SessionInfo>) => this.loggedIn(e.detail)}></zv-fleet-login>`;
    const s = this.session;
    const r = this.route;
    const openAlerts = this.alerts.filter((a) => a.clearedAt === null).length;
    const link = (hash: string, label: string, active: boolean) => html`<a href=${hash} class=${active ? "active" : ""}>${label}</a>`;
    return html`
      <header>
        <h1>⚡ zapvend fleet</h1>
        <nav>
          ${link("#/", "Overview", r.view === "overview" || r.view === "machine")} ${link("#/sales", "Sales", r.view === "sales")}
          ${link("#/alerts", `Alerts${openAlerts ? ` (${openAlerts})` : ""}`, r.view === "alerts")}
          ${this.can("admin") ? html`${link("#/admin", "Users", r.view === "admin")} ${link("#/audit", "Audit", r.view === "audit")}` : nothing}
        </nav>
        <span class="live ${this.connected ? "on" : "off"}" data-live=${this.connected ? "on" : "off"}>${this.connected ? "live" : "reconnecting…"}</span>
        <span class="user" data-user-menu>${s.user} <span class="badge" data-role=${s.role}>${s.role}</span>
          ${s.via === "session" && !s.totp ? html`<button @click=${() => void this.enrollTotp()}>Set up 2FA</button>` : nothing}
          <button data-logout @click=${() => void this.logout()}>Log out</button></span>
      </header>
      <main>
        ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
        ${r.view === "overview"
          ? this.renderOverview()
          : r.view === "machine"
            ? this.renderMachine()
            : r.view === "sales"
              ? this.renderSales()
              : r.view === "admin"
                ? html`<zv-fleet-admin></zv-fleet-admin>`
                : r.view === "audit"
                  ? html`<zv-fleet-audit></zv-fleet-audit>`
                  : this.renderAlerts()}
      </main>
    `;
  }

  // ---------------------------------------------------------------- overview

  private stockBars(stock: MachineSummary["stock"]): TemplateResult {
    return html`<span class="stock">${stock.map(
      (s) => html`<span title="${s.slot} ${s.name}: ${s.stock}/${s.capacity}" data-slot=${s.slot} data-stock=${s.stock}>
        <span class="stockbar ${s.stock / s.capacity < 0.2 ? "low" : ""}"><span style="width:${Math.round((s.stock / s.capacity) * 100)}%"></span></span>
        <span class="muted">${s.slot} ${s.stock}</span>
      </span>`,
    )}</span>`;
  }

  private renderOverview(): TemplateResult {
    const list = [...this.machines.values()].sort((a, b) => a.id.localeCompare(b.id));
    const online = list.filter((m) => m.status === "online").length;
    return html`
      <div class="cards">
        <div class="card"><span class="muted">machines online</span><b data-test="online-count">${online} / ${list.length}</b></div>
        <div class="card"><span class="muted">open alerts</span><b>${this.alerts.filter((a) => a.clearedAt === null).length}</b></div>
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
                <td>${ago(m.lastSeen, this.now)}</td>
                <td>${this.stockBars(m.stock)}</td>
                <td>${m.faults.map((f) => html`<span class="badge sev-critical" title=${f.message}>${f.code}</span> `)}</td>
                <td>${m.missingEvents > 0 ? html`<span class="badge sev-warning" data-missing>${m.missingEvents} missing</span>` : html`<span class="muted">0</span>`}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </section>
    `;
  }

  // ---------------------------------------------------------------- machine detail

  private renderMachine(): TemplateResult {
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
    const operator = this.can("operator");
    return html`
      <section>
        <h2>${m.id} <span class="badge status-${m.status}" data-status>${m.status}</span></h2>
        <div class="muted">${m.model ?? "?"} · software ${m.softwareVersion ?? "?"} · boot ${m.boot ?? "?"} · last seen ${ago(m.lastSeen, this.now)}
          ${t ? html` · ${t.temperatureC === null ? "no thermometer" : `${t.temperatureC.toFixed(1)} °C`} · door ${t.door} · payments ${t.payments} · hardware ${t.hardware}` : nothing}
          · <a href="/api/reports/dex/${m.id}" download>DEX file</a></div>
        ${m.faults.map((f) => html`<div class="error">${f.code}: ${f.message}</div>`)}
        ${d.gaps.length ? html`<div class="error" data-gaps>Missing events (sequence gaps): ${d.gaps.map((g) => (g.fromSeq === g.toSeq ? `${g.fromSeq}` : `${g.fromSeq}–${g.toSeq}`)).join(", ")}</div>` : nothing}
      </section>
      <section>
        <h2>Slots, prices and availability ${desiredBadge}</h2>
        <table>
          <thead><tr><th>slot</th><th>product</th><th>stock</th><th>price now</th>${operator ? html`<th>new price</th><th>enabled</th>` : html`<th>enabled</th>`}</tr></thead>
          <tbody>
            ${d.slots.map((s) => {
              const e = this.edits[s.slot] ?? {};
              const want = desired?.slots[s.slot];
              return html`<tr data-slot-row=${s.slot}>
                <td>${s.slot}</td><td>${s.name}</td>
                <td>${this.stockBars([{ slot: s.slot, name: s.name, stock: s.stock, capacity: s.capacity }])} / ${s.capacity}</td>
                <td data-price>${price(s.price)}${want?.price && desired?.pending ? html` <span class="muted">→ ${price(want.price)}</span>` : nothing}</td>
                ${!operator ? html`<td>${s.enabled ? "yes" : "no"}</td>` : html`<td><input type="text" aria-label="new price for ${s.slot}" .value=${e.price ?? priceInput(s.price)}
                  @input=${(ev: Event) => this.edit(s.slot, { price: (ev.target as HTMLInputElement).value }, s.price)} />
                  <span class="muted">${s.price.unit === "msat" ? "sat" : s.price.currency}</span></td>
                <td><input type="checkbox" aria-label="enable ${s.slot}" .checked=${e.enabled ?? s.enabled}
                  @change=${(ev: Event) => this.edit(s.slot, { enabled: (ev.target as HTMLInputElement).checked }, s.price)} /></td>`}
              </tr>`;
            })}
          </tbody>
        </table>
        ${operator
          ? html`<p><button class="primary" data-send-desired ?disabled=${!dirty || this.busy} @click=${() => void this.saveDesired()}>Send to machine</button>
              <span class="muted">Changes are signed and sent as the machine's desired state; they show as pending until the machine reports them applied.</span></p>`
          : nothing}
      </section>
      <div class="grid2">
        <section>
          <h2>Commands</h2>
          ${this.can("technician")
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
          <h2>Temperature</h2>
          <svg width="100%" viewBox="0 0 420 140" role="img" aria-label="temperature chart" data-chart="temperature">
            ${lineChart(d.history.filter((s) => s.temperatureC !== null).map((s) => ({ x: s.ts, y: s.temperatureC! })), { width: 420, height: 140, unit: "°" })}
          </svg>
          <h2>Memory</h2>
          <svg width="100%" viewBox="0 0 420 100" role="img" aria-label="memory chart">
            ${lineChart(d.history.map((s) => ({ x: s.ts, y: s.rssMb })), { width: 420, height: 100, unit: "MB" })}
          </svg>
        </section>
      </div>
      <section>
        <h2>Recent orders</h2>
        <table>
          <thead><tr><th>settled</th><th>slot</th><th>product</th><th>amount</th><th>payment</th><th>evidence</th></tr></thead>
          <tbody>${d.sales.map(
            (s) => html`<tr data-sale=${s.eventId}><td>${time(s.settledAt)}</td><td>${s.slot}</td><td>${s.productName}</td>
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
        <h2>Events</h2>
        <table>
          <thead><tr><th>seq</th><th>time</th><th>type</th><th>detail</th></tr></thead>
          <tbody>${d.events.map((e) => html`<tr><td>${e.seq}</td><td>${time(e.ts)}</td><td>${e.type}</td><td class="muted">${JSON.stringify(e.body).slice(0, 160)}</td></tr>`)}</tbody>
        </table>
      </section>
    `;
  }

  private commandRow(c: CommandRecord): TemplateResult {
    const result = c.status === "sent" ? (c.expiresAt < this.now ? "no answer (expired)" : "waiting…") : c.error ? `${c.error.code}: ${c.error.message}` : JSON.stringify(c.data ?? {});
    return html`<tr data-command=${c.rid}><td>${time(c.sentAt)}</td><td>${c.name} <span class="muted">${JSON.stringify(c.args)}</span></td>
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
      this.detail = { ...d, desired };
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

  // ---------------------------------------------------------------- sales

  private renderSales(): TemplateResult {
    const rep = this.report;
    if (!rep) return html`<p class="muted">loading…</p>`;
    const total = rep.byMachine.reduce((n, r) => n + BigInt(r.amountMsat), 0n);
    const count = rep.byMachine.reduce((n, r) => n + r.count, 0);
    return html`
      <div class="cards">
        <div class="card"><span class="muted">sales, last 30 days</span><b data-test="sales-count">${count}</b></div>
        <div class="card"><span class="muted">revenue, last 30 days</span><b data-test="sales-total">${sats(total.toString())}</b></div>
      </div>
      <section>
        <h2>Revenue per day (sats)</h2>
        <svg width="100%" viewBox="0 0 720 180" role="img" aria-label="sales per day">
          ${barChart(rep.byDay.map((r) => ({ label: r.day!.slice(5), value: Number(BigInt(r.amountMsat) / 1000n), title: `${r.day}: ${r.count} sales, ${sats(r.amountMsat)}` })), { width: 720, height: 180 })}
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
          <tbody>${this.recentSales.map(
            (s) => html`<tr data-sale=${s.eventId}><td>${time(s.settledAt)}</td><td>${s.machineId}</td><td>${s.slot}</td><td>${s.productName}</td>
              <td>${sats(s.amountMsat)}${s.fiat ? html` <span class="muted">${fiat(s.fiat)}</span>` : nothing}</td><td class="muted">${s.paymentHash.slice(0, 16)}…</td></tr>`,
          )}</tbody>
        </table>
      </section>
    `;
  }

  // ---------------------------------------------------------------- alerts

  private renderAlerts(): TemplateResult {
    const list = this.alerts;
    return html`
      <section>
        <h2>Alerts
          <label class="muted"><input type="checkbox" .checked=${this.showCleared} @change=${(e: Event) => {
            this.showCleared = (e.target as HTMLInputElement).checked;
            void this.navigate();
          }} /> show cleared</label></h2>
        <table>
          <thead><tr><th>severity</th><th>machine</th><th>alert</th><th>raised</th><th>state</th><th></th></tr></thead>
          <tbody>
            ${list.length === 0 ? html`<tr><td colspan="6" class="muted">No open alert. All good.</td></tr>` : nothing}
            ${list.map(
              (a) => html`<tr data-alert=${a.id} data-kind=${a.kind}>
                <td><span class="badge sev-${a.severity}">${a.severity}</span></td>
                <td><a href="#/machines/${a.machineId}">${a.machineId}</a></td>
                <td>${a.message}</td>
                <td>${ago(a.raisedAt, this.now)}</td>
                <td>${a.clearedAt !== null ? html`cleared ${ago(a.clearedAt, this.now)}` : a.acknowledgedAt !== null ? html`<span data-acknowledged>acknowledged</span>` : html`<b>open</b>`}</td>
                <td>${a.acknowledgedAt === null && a.clearedAt === null && this.can("technician") ? html`<button @click=${() => void this.ack(a.id)}>Acknowledge</button>` : nothing}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </section>
    `;
  }

  private async ack(id: string): Promise<void> {
    try {
      const a = await api.acknowledge(id);
      this.alerts = this.alerts.map((x) => (x.id === id ? a : x));
    } catch (err) {
      this.error = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
    }
  }
}

