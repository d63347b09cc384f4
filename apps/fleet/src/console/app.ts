// The fleet console's shell: the session, the live feed and the routing by URL hash, behind the login page. Each
// view lives in its own module (overview-view, machine-view, sales-view, alerts-view, admin). Live: the
// WebSocket's `hello` gives the whole picture, later messages patch it; nothing polls. What a role may not do is not shown (the server refuses it anyway).
import { LitElement, html, nothing, type TemplateResult } from "lit";
import type { Alert, DesiredView, FleetOverview, FleetRole, FleetWsMessage, MachineDetail, MachineSummary, Sale, SessionInfo } from "@zapvend/protocol";
import { renderAlerts } from "./alerts-view.js";
import { api, ApiCallError, call, can, LiveFeed, setSession } from "./api.js";
import { defined, ensureElement } from "./lazy.js";
import { fleetOverview, timeZoneAnswer } from "./overview-check.js";
import { applySale, stale } from "./overview-live.js";
import { renderOverview } from "./overview-view.js";
import { renderSales, type SalesReport } from "./sales-view.js";
import { styles } from "./styles.js";

type Route =
  | { view: "overview" }
  | { view: "machine"; id: string }
  | { view: "sales" }
  | { view: "alerts" }
  | { view: "admin" }
  | { view: "audit" }
  | { view: "notifications" }
  | { view: "catalog" }
  | { view: "picklist"; id: string | null };

function parseRoute(hash: string): Route {
  const m = /^#\/machines\/([a-z0-9-]+)$/.exec(hash);
  if (m) return { view: "machine", id: m[1]! };
  if (hash === "#/sales") return { view: "sales" };
  const pick = /^#\/picklist(?:\/([A-Za-z0-9_-]{8,64}))?$/.exec(hash);
  if (pick) return { view: "picklist", id: pick[1] ?? null };
  if (hash === "#/alerts") return { view: "alerts" };
  if (hash === "#/admin") return { view: "admin" };
  if (hash === "#/audit") return { view: "audit" };
  if (hash === "#/notifications") return { view: "notifications" };
  if (hash === "#/catalog") return { view: "catalog" };
  return { view: "overview" };
}

/** The sales page's period: this many local days of the operator's zone, today included. */
const SALES_DAYS = 30;

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
    session: { state: true },
    overview: { state: true },
    timeZone: { state: true },
  };

  declare route: Route;
  declare machines: Map<string, MachineSummary>;
  declare alerts: Alert[];
  declare connected: boolean;
  declare detail: MachineDetail | null;
  declare error: string;
  declare now: number;
  declare showCleared: boolean;
  declare report: SalesReport | null;
  declare recentSales: Sale[];
  /** undefined while asking the server, null when logged out (the login page shows). */
  declare session: SessionInfo | null | undefined;
  /** The overview's numbers (GET /api/overview), kept up to date by live sales. */
  declare overview: FleetOverview | null;
  /** The operator's IANA zone of every time shown (the fleet's `timeZone`). */
  declare timeZone: string;

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
    this.session = undefined;
    this.overview = null;
    this.timeZone = "UTC";
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
    this.zoneLoad = null;
    void this.operatorZone().catch(() => {});
    void this.navigate();
  }

  private zoneLoad: Promise<string> | null = null;
  /** The operator's zone (`GET /api/time-zone`), asked once per login; a failed answer is asked again next time. */
  private operatorZone(): Promise<string> {
    this.zoneLoad ??= call(timeZoneAnswer, "/api/time-zone").then(
      (z) => (this.timeZone = z.timeZone),
      (err: unknown) => {
        this.zoneLoad = null;
        throw err;
      },
    );
    return this.zoneLoad;
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
    this.clockTimer = setInterval(() => {
      this.now = Date.now();
      // Local midnight passed: today is another day.
      if (this.overview && this.route.view === "overview" && stale(this.overview, this.now)) void this.loadOverview();
    }, 5_000);
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
    try {
      if (this.route.view === "machine") {
        this.detail = null;
        const [detail] = await Promise.all([api.machine(this.route.id), ensureElement("zv-fleet-machine", () => import("./machine-view.js").then((m) => m.FleetMachineView))]);
        this.detail = detail;
      } else if (this.route.view === "admin") {
        await ensureElement("zv-fleet-admin", () => import("./admin.js").then((m) => m.FleetAdmin));
        this.requestUpdate();
      } else if (this.route.view === "audit") {
        await ensureElement("zv-fleet-audit", () => import("./admin.js").then((m) => m.FleetAudit));
        this.requestUpdate();
      } else if (this.route.view === "overview") {
        await this.loadOverview();
      } else if (this.route.view === "sales") {
        await this.loadSales();
      } else if (this.route.view === "catalog") {
        await ensureElement("zv-fleet-catalog", () => import("./catalog-view.js").then((m) => m.FleetCatalogView));
        this.requestUpdate();
      } else if (this.route.view === "picklist") {
        await ensureElement("zv-fleet-picklist", () => import("./picklist-view.js").then((m) => m.FleetPicklistView));
        this.requestUpdate();
      } else if (this.route.view === "alerts") {
        this.alerts = await api.alerts(this.showCleared);
      } else if (this.route.view === "notifications") {
        await ensureElement("zv-fleet-notifications", () => import("./notifications-view.js").then((m) => m.FleetNotifications));
        this.requestUpdate();
      }
    } catch (err) {
      this.error = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
    }
  }

  private async loadOverview(): Promise<void> {
    this.overview = await call(fleetOverview, "/api/overview");
    this.timeZone = this.overview.timeZone;
  }

  /**
   * The last 30 local days of the operator's zone, from local midnight 29 days ago (a daylight saving change makes
   * one of them 23 or 25 hours long); the server counts the days in the same zone. The zone arithmetic (periods.ts)
   * is loaded with the page, not with the first screen.
   */
  private async loadSales(): Promise<void> {
    const [timeZone, { lastDays }] = await Promise.all([this.operatorZone(), import("../periods.js")]);
    const days = lastDays(timeZone, Date.now(), SALES_DAYS);
    const from = days[0]!.from;
    const [byDay, byMachine, recent] = await Promise.all([api.salesReport("day", from, timeZone), api.salesReport("machine", from), api.sales({ limit: 100 })]);
    this.report = { byDay, byMachine, timeZone, days: days.map((d) => d.label) };
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
        if (this.overview) this.overview = applySale(this.overview, m.sale);
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
        <h1>⚡<span class="brand"> zapvend fleet</span></h1>
        <nav aria-label="pages">
          ${link("#/", "Overview", r.view === "overview" || r.view === "machine")} ${link("#/sales", "Sales", r.view === "sales")} ${link("#/picklist", "Pick list", r.view === "picklist")}
          ${link("#/alerts", `Alerts${openAlerts ? ` (${openAlerts})` : ""}`, r.view === "alerts")} ${link("#/catalog", "Catalog", r.view === "catalog")}
          ${this.can("operator") ? link("#/notifications", "Notifications", r.view === "notifications") : nothing}
          ${this.can("admin") ? html`${link("#/admin", "Users", r.view === "admin")} ${link("#/audit", "Audit", r.view === "audit")}` : nothing}
        </nav>
        <span class="live ${this.connected ? "on" : "off"}" data-live=${this.connected ? "on" : "off"}><span class="live-text">${this.connected ? "live" : "reconnecting…"}</span></span>
        <span class="user" data-user-menu title=${`signed in as ${s.user} (${s.role})`}><span class="user-name">${s.user}</span> <span class="badge" data-role=${s.role}>${s.role}</span>
          ${s.via === "session" && !s.totp ? html`<button aria-label="Set up 2FA" @click=${() => void this.enrollTotp()}><span class="long">Set up </span>2FA</button>` : nothing}
          <button data-logout @click=${() => void this.logout()}>Log out</button></span>
      </header>
      <main>
        ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
        ${r.view === "overview"
          ? renderOverview({ machines: this.machines, alerts: this.alerts, now: this.now, overview: this.overview })
          : r.view === "machine"
            ? !defined("zv-fleet-machine") ? html`<p class="muted">loading…</p>` : html`<zv-fleet-machine .detail=${this.detail} .now=${this.now} .userRole=${s.role} .timeZone=${this.timeZone}
                @desired=${(e: CustomEvent<DesiredView>) => this.detail && (this.detail = { ...this.detail, desired: e.detail })}></zv-fleet-machine>`
            : r.view === "sales"
              ? renderSales(this.report, this.recentSales)
              : r.view === "picklist"
                ? defined("zv-fleet-picklist")
                  ? html`<zv-fleet-picklist .userRole=${s.role} .issuedId=${r.id}></zv-fleet-picklist>`
                  : html`<p class="muted">loading…</p>`
              : r.view === "admin"
                ? defined("zv-fleet-admin") ? html`<zv-fleet-admin .timeZone=${this.timeZone}></zv-fleet-admin>` : html`<p class="muted">loading…</p>`
                : r.view === "audit"
                  ? defined("zv-fleet-audit") ? html`<zv-fleet-audit .timeZone=${this.timeZone}></zv-fleet-audit>` : html`<p class="muted">loading…</p>`
                  : r.view === "notifications"
                    ? defined("zv-fleet-notifications") ? html`<zv-fleet-notifications .timeZone=${this.timeZone}></zv-fleet-notifications>` : html`<p class="muted">loading…</p>`
                  : r.view === "catalog"
                    ? defined("zv-fleet-catalog")
                      ? html`<zv-fleet-catalog .userRole=${s.role} .machines=${this.machines}></zv-fleet-catalog>`
                      : html`<p class="muted">loading…</p>`
                  : renderAlerts({
                      alerts: this.alerts,
                      showCleared: this.showCleared,
                      now: this.now,
                      canAcknowledge: this.can("technician"),
                      onShowCleared: (show) => {
                        this.showCleared = show;
                        void this.navigate();
                      },
                      onAcknowledge: (id) => void this.ack(id),
                    })}
      </main>
    `;
  }

  protected override updated(changed: Map<PropertyKey, unknown>): void {
    if (changed.has("route") || changed.has("session")) this.revealActiveLink();
  }

  /**
   * On a narrow screen the nav scrolls sideways (styles.ts): the current page's link is scrolled into the nav's view
   * (the nav only: scrollIntoView would scroll the page too).
   */
  private revealActiveLink(): void {
    const nav = this.renderRoot.querySelector("nav");
    const a = nav?.querySelector("a.active");
    if (!nav || !a || nav.scrollWidth <= nav.clientWidth) return;
    const n = nav.getBoundingClientRect();
    const r = a.getBoundingClientRect();
    if (r.left < n.left) nav.scrollLeft -= n.left - r.left + 16;
    else if (r.right > n.right) nav.scrollLeft += r.right - n.right + 16;
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

