// The admin's pages: users (role, second factor, sessions) and API tokens (`#/admin`), and the audit trail with
// filters and a CSV export (`#/audit`). The server refuses all of it to anyone but an admin; the app only shows the
// links to admins.
import { LitElement, html, nothing, type TemplateResult } from "lit";
import type { AuditEntry, FleetRole, TokenView, UserView } from "@zapvend/protocol";
import { api, ApiCallError } from "./api.js";
import { timestamp } from "./zone-format.js";
import { styles } from "./styles.js";

const ROLES: FleetRole[] = ["viewer", "technician", "operator", "admin"];

function message(err: unknown): string {
  return err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
}

export class FleetAdmin extends LitElement {
  static override styles = styles;
  static override properties = { users: { state: true }, tokens: { state: true }, error: { state: true }, secret: { state: true }, timeZone: { attribute: false } };
  declare users: UserView[];
  declare tokens: TokenView[];
  declare error: string;
  /** A password or token secret just created: shown once. */
  declare secret: string;
  /** The operator's IANA zone: the logins' and tokens' times are on its clock. */
  declare timeZone: string;

  constructor() {
    super();
    this.users = [];
    this.tokens = [];
    this.error = "";
    this.secret = "";
    this.timeZone = "UTC";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      [this.users, this.tokens] = await Promise.all([api.users(), api.tokens()]);
    } catch (err) {
      this.error = message(err);
    }
  }

  private async act(fn: () => Promise<unknown>): Promise<void> {
    this.error = "";
    try {
      await fn();
      await this.load();
    } catch (err) {
      this.error = message(err);
    }
  }

  private field(id: string): string {
    return (this.renderRoot.querySelector(`#${id}`) as HTMLInputElement | HTMLSelectElement | null)?.value ?? "";
  }

  override render(): TemplateResult {
    const roleSelect = (id: string, value: FleetRole, onChange?: (r: FleetRole) => void) =>
      html`<select id=${id} aria-label="role" @change=${(e: Event) => onChange?.((e.target as HTMLSelectElement).value as FleetRole)}>
        ${ROLES.map((r) => html`<option value=${r} ?selected=${r === value}>${r}</option>`)}</select>`;
    return html`
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
      ${this.secret ? html`<div class="card" data-secret>Shown once, copy it now: <code>${this.secret}</code> <button @click=${() => (this.secret = "")}>Done</button></div>` : nothing}
      <section>
        <h2>Users</h2>
        <table>
          <thead><tr><th>user</th><th>role</th><th>2FA</th><th>sessions</th><th>last login</th><th></th></tr></thead>
          <tbody>${this.users.map(
            (u) => html`<tr data-user=${u.name}><td>${u.name}</td>
              <td>${roleSelect(`role-${u.name}`, u.role, (r) => void this.act(() => api.setRole(u.name, r)))}</td>
              <td>${u.totp ? html`on <button @click=${() => void this.act(() => api.resetTotp(u.name))}>Reset</button>` : "off"}</td>
              <td>${u.sessions} <button ?disabled=${u.sessions === 0} @click=${() => void this.act(() => api.revokeSessions(u.name))}>End all</button></td>
              <td>${u.lastLoginAt ? timestamp(this.timeZone, u.lastLoginAt) : "never"}</td>
              <td><button @click=${() => confirm(`Remove ${u.name}?`) && void this.act(() => api.removeUser(u.name))}>Remove</button></td></tr>`,
          )}</tbody>
        </table>
        <p><input type="text" id="new-user" aria-label="new user name" placeholder="name" /> ${roleSelect("new-user-role", "viewer")}
          <button @click=${() => void this.act(async () => {
            const r = await api.addUser(this.field("new-user"), this.field("new-user-role") as FleetRole);
            this.secret = r.password ? `password of ${r.user.name}: ${r.password}` : "";
          })}>Add user</button> <span class="muted">A password is generated and shown once.</span></p>
      </section>
      <section>
        <h2>API tokens</h2>
        <table>
          <thead><tr><th>name</th><th>role</th><th>created</th><th>last used</th><th>state</th><th></th></tr></thead>
          <tbody>${this.tokens.map(
            (t) => html`<tr data-token=${t.id}><td>${t.name}</td><td>${t.role}</td><td>${timestamp(this.timeZone, t.createdAt)} <span class="muted">${t.createdBy}</span></td>
              <td>${t.lastUsedAt ? timestamp(this.timeZone, t.lastUsedAt) : "never"}</td><td>${t.revokedAt ? "revoked" : "live"}</td>
              <td>${t.revokedAt ? nothing : html`<button @click=${() => void this.act(() => api.revokeToken(t.id))}>Revoke</button>`}</td></tr>`,
          )}</tbody>
        </table>
        <p><input type="text" id="new-token" aria-label="new token name" placeholder="name" /> ${roleSelect("new-token-role", "viewer")}
          <button @click=${() => void this.act(async () => {
            const r = await api.createToken(this.field("new-token"), this.field("new-token-role") as FleetRole);
            this.secret = `token ${r.token.name}: ${r.secret}`;
          })}>Create token</button></p>
      </section>
    `;
  }
}

export class FleetAudit extends LitElement {
  static override styles = styles;
  static override properties = { rows: { state: true }, error: { state: true }, timeZone: { attribute: false } };
  declare rows: AuditEntry[];
  declare error: string;
  /** The operator's IANA zone: the audit rows' times are on its clock. */
  declare timeZone: string;
  private filter: Record<string, string> = {};

  constructor() {
    super();
    this.rows = [];
    this.error = "";
    this.timeZone = "UTC";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      this.rows = await api.audit({ ...this.filter, limit: "500" });
      this.error = "";
    } catch (err) {
      this.error = message(err);
    }
  }

  private set(key: string, value: string): void {
    if (value) this.filter = { ...this.filter, [key]: value };
    else {
      const { [key]: _drop, ...rest } = this.filter;
      this.filter = rest;
    }
    void this.load();
  }

  override render(): TemplateResult {
    const input = (key: string, label: string) =>
      html`<input type="text" aria-label=${label} placeholder=${label} @change=${(e: Event) => this.set(key, (e.target as HTMLInputElement).value.trim())} />`;
    return html`<section>
      <h2>Audit trail <span class="muted"><a href="/api/audit?${new URLSearchParams({ ...this.filter, format: "csv" })}" download>CSV</a></span></h2>
      <p>${input("actor", "actor (user:name)")} ${input("action", "action (command, login, user…)")} ${input("target", "target")}</p>
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
      <!-- On a phone (styles.ts, table.stack) each entry's cells stack, each labelled by its data-label. -->
      <table class="stack">
        <thead><tr><th>when</th><th>who</th><th>from</th><th>what</th><th>target</th><th>detail</th></tr></thead>
        <tbody>${this.rows.map(
          (r) => html`<tr data-audit=${r.action}><td data-label="when">${timestamp(this.timeZone, r.at)}</td><td data-label="who">${r.actor}</td><td data-label="from" class="muted">${r.address ?? ""}</td>
            <td data-label="what">${r.ok ? r.action : html`<span class="badge refused">${r.action}</span>`}</td><td data-label="target">${r.target ?? ""}</td>
            <td data-label="detail" class="muted wrap">${JSON.stringify(r.detail).slice(0, 240)}</td></tr>`,
        )}</tbody>
      </table>
    </section>`;
  }
}
