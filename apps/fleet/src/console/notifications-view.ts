// The notification settings page (`#/notifications`, operators and admins; issue #18): the channels (webhook, SMTP,
// ntfy) with "send a test", the groups, the per-alert-kind routes, quiet hours and the digest, and the recent
// deliveries with their outcome. Edits are made on a draft and saved at once (PUT with the version they started
// from: a concurrent save is refused, not overwritten). Secrets are write-only: the server never sends them, the
// page shows "set" and an empty secret field keeps the one in force. Loaded lazily by the shell on first visit.
import { LitElement, css, html, nothing, type TemplateResult } from "lit";
import type { AlertKind } from "@zapvend/protocol";
import { ApiCallError, call, json } from "./api.js";
import { arr, bool, int, nullable, obj, oneOf, record, str, type Check } from "./check.js";
import { timestamp } from "./zone-format.js";
import { styles } from "./styles.js";

// ---------------------------------------------------------------- the API's shapes (apps/fleet/src/notify/settings.ts)

type Severity = "info" | "warning" | "critical";
type Day = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";
export type ChannelView =
  | { type: "webhook"; url: string; secretSet?: boolean; secret?: string }
  | { type: "email"; smtp: { host: string; port: number; secure: boolean; user?: string; passSet?: boolean; pass?: string }; from: string; to: string[] }
  | { type: "ntfy"; server: string; topic: string; tokenSet?: boolean; token?: string };
export interface RouteView {
  kinds?: AlertKind[];
  severities?: Severity[];
  when: "any" | "open" | "closed";
  to: string[];
}
export interface SettingsView {
  channels: Record<string, ChannelView>;
  groups: Record<string, string[]>;
  routes: RouteView[];
  quietHours?: { tz: string; days: Partial<Record<Day, string[]>> };
  digestSeverities: Severity[];
  digestIntervalMs: number;
  resolved: boolean;
  maxAttempts: number;
  retryBaseMs: number;
}
export interface SettingsAnswer {
  source: "store" | "config" | "none";
  version: number;
  updatedAt: number | null;
  updatedBy: string | null;
  configFile: boolean;
  settings: SettingsView;
}
export interface Delivery {
  id: string;
  event: string;
  channel: string;
  channelType: string;
  attempt: number;
  at: number;
  ok: boolean;
  status: string | null;
  error: string | null;
  alertIds: string[];
}
interface TestOutcome {
  channel: string;
  ok: boolean;
  status: string | null;
  error: string | null;
}

const opt = <T>(c: Check<T>): Check<T | undefined> => (v, p) => (v === undefined ? undefined : c(v, p));
const settingsView = obj<SettingsView>({
  channels: record as Check<SettingsView["channels"]>,
  groups: record as Check<SettingsView["groups"]>,
  routes: arr(obj<RouteView>({ kinds: opt(arr(str as Check<AlertKind>)), severities: opt(arr(oneOf("info", "warning", "critical"))), when: oneOf("any", "open", "closed"), to: arr(str) })),
  quietHours: opt(obj<NonNullable<SettingsView["quietHours"]>>({ tz: str, days: record })),
  digestSeverities: arr(oneOf("info", "warning", "critical")),
  digestIntervalMs: int,
  resolved: bool,
  maxAttempts: int,
  retryBaseMs: int,
});
const settingsAnswer = obj<SettingsAnswer>({
  source: oneOf("store", "config", "none"),
  version: int,
  updatedAt: nullable(int),
  updatedBy: nullable(str),
  configFile: bool,
  settings: settingsView,
});
const delivery = obj<Delivery>({ id: str, event: str, channel: str, channelType: str, attempt: int, at: int, ok: bool, status: nullable(str), error: nullable(str), alertIds: arr(str) });
const testOutcome = obj<TestOutcome>({ channel: str, ok: bool, status: nullable(str), error: nullable(str) });

const notifyApi = {
  settings: () => call(settingsAnswer, "/api/notifications/settings"),
  save: (version: number, settings: SettingsView) => call(settingsAnswer, "/api/notifications/settings", json("PUT", { version, settings })),
  reset: () => call(settingsAnswer, "/api/notifications/settings", json("DELETE")),
  test: (channel: string) => call(testOutcome, `/api/notifications/channels/${encodeURIComponent(channel)}/test`, json("POST")),
  deliveries: () => call(arr(delivery), "/api/notifications/deliveries?limit=50"),
};

// ---------------------------------------------------------------- the page

const KINDS: readonly AlertKind[] = ["machine-lost", "machine-offline", "no-sales", "low-stock", "door-open", "temperature", "vend-failures", "payments-down", "events-missing"];
const SEVERITIES: readonly Severity[] = ["info", "warning", "critical"];
const DAYS: readonly Day[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function message(err: unknown): string {
  return err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
}
const list = (text: string): string[] =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
const toggle = <T>(values: readonly T[] | undefined, v: T, on: boolean): T[] => (on ? [...(values ?? []).filter((x) => x !== v), v] : (values ?? []).filter((x) => x !== v));

function target(c: ChannelView): string {
  if (c.type === "webhook") return c.url;
  if (c.type === "email") return `${c.to.join(", ")} via ${c.smtp.host}:${c.smtp.port}`;
  return `${c.server.replace(/\/$/, "")}/${c.topic}`;
}
function secretState(c: ChannelView): string {
  const set = c.type === "webhook" ? c.secretSet || !!c.secret : c.type === "email" ? c.smtp.passSet || !!c.smtp.pass : c.tokenSet || !!c.token;
  const what = c.type === "webhook" ? "HMAC secret" : c.type === "email" ? "SMTP password" : "token";
  return `${what}: ${set ? "set" : "none"}`;
}

const local = css`
  input[type="number"], input[type="password"] { background: #0f1115; color: #e6e6e6; border: 1px solid #3a3f4a; border-radius: 6px; padding: 4px 6px; }
  .card label { display: inline-block; margin: 3px 0; }
  td label, p label { white-space: nowrap; }
`;

export class FleetNotifications extends LitElement {
  static override styles = [styles, local];
  static override properties = {
    answer: { state: true },
    draft: { state: true },
    dirty: { state: true },
    deliveries: { state: true },
    tests: { state: true },
    editing: { state: true },
    error: { state: true },
    notice: { state: true },
    timeZone: { attribute: false },
  };
  declare answer: SettingsAnswer | null;
  declare draft: SettingsView | null;
  declare dirty: boolean;
  declare deliveries: Delivery[];
  declare tests: Record<string, TestOutcome | "sending">;
  /** The channel whose form is open (a new one has no entry in the draft yet). */
  declare editing: { name: string; isNew: boolean; channel: ChannelView } | null;
  declare error: string;
  declare notice: string;
  /** The operator's IANA zone: the deliveries' and the saved settings' times are on its clock. */
  declare timeZone: string;

  constructor() {
    super();
    this.answer = null;
    this.draft = null;
    this.dirty = false;
    this.deliveries = [];
    this.tests = {};
    this.editing = null;
    this.error = "";
    this.notice = "";
    this.timeZone = "UTC";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      const [a, d] = await Promise.all([notifyApi.settings(), notifyApi.deliveries()]);
      this.shown(a);
      this.deliveries = d;
    } catch (err) {
      this.error = message(err);
    }
  }

  private shown(a: SettingsAnswer): void {
    this.answer = a;
    this.draft = structuredClone(a.settings);
    this.dirty = false;
    this.editing = null;
  }

  private change(fn: (d: SettingsView) => void): void {
    if (!this.draft) return;
    const d = structuredClone(this.draft);
    fn(d);
    this.draft = d;
    this.dirty = true;
    this.notice = "";
  }

  private async save(): Promise<void> {
    if (!this.answer || !this.draft) return;
    this.error = "";
    try {
      this.shown(await notifyApi.save(this.answer.version, this.draft));
      this.notice = `Saved (version ${this.answer.version}). Every fleet server uses these settings now.`;
    } catch (err) {
      this.error = message(err);
    }
  }

  private async reset(): Promise<void> {
    if (!confirm("Drop the settings saved here and use the config file's again?")) return;
    this.error = "";
    try {
      this.shown(await notifyApi.reset());
      this.notice = "The config file's settings apply again.";
    } catch (err) {
      this.error = message(err);
    }
  }

  private async test(name: string): Promise<void> {
    this.tests = { ...this.tests, [name]: "sending" };
    try {
      const out = await notifyApi.test(name);
      this.tests = { ...this.tests, [name]: out };
    } catch (err) {
      this.tests = { ...this.tests, [name]: { channel: name, ok: false, status: null, error: message(err) } };
    }
    this.deliveries = await notifyApi.deliveries().catch(() => this.deliveries);
  }

  private value(id: string): string {
    return (this.renderRoot.querySelector(`#${id}`) as HTMLInputElement | HTMLSelectElement | null)?.value ?? "";
  }
  private checked(id: string): boolean {
    return (this.renderRoot.querySelector(`#${id}`) as HTMLInputElement | null)?.checked ?? false;
  }

  private startNew(): void {
    const name = this.value("new-channel").trim();
    const type = this.value("new-channel-type") as ChannelView["type"];
    if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name)) return void (this.error = "A channel name is lower-case letters, digits, - and _ (at most 32).");
    if (this.draft?.channels[name]) return void (this.error = `There is already a channel "${name}".`);
    this.error = "";
    const channel: ChannelView =
      type === "webhook" ? { type, url: "https://", secretSet: false } : type === "email" ? { type, smtp: { host: "", port: 587, secure: false, passSet: false }, from: "", to: [] } : { type, server: "https://ntfy.sh", topic: "", tokenSet: false };
    this.editing = { name, isNew: true, channel };
  }

  /** The open form into the draft (a secret field left empty keeps the one in force). */
  private applyForm(): void {
    const e = this.editing;
    if (!e) return;
    const c = e.channel;
    let next: ChannelView;
    if (c.type === "webhook") {
      const secret = this.value("ch-secret");
      next = { type: "webhook", url: this.value("ch-url").trim(), ...(secret ? { secret } : { secretSet: c.secretSet ?? false }) };
    } else if (c.type === "email") {
      const pass = this.value("ch-pass");
      const user = this.value("ch-user").trim();
      next = {
        type: "email",
        smtp: { host: this.value("ch-host").trim(), port: Number(this.value("ch-port")), secure: this.checked("ch-secure"), ...(user ? { user } : {}), ...(pass ? { pass } : { passSet: c.smtp.passSet ?? false }) },
        from: this.value("ch-from").trim(),
        to: list(this.value("ch-to")),
      };
    } else {
      const token = this.value("ch-token");
      next = { type: "ntfy", server: this.value("ch-server").trim(), topic: this.value("ch-topic").trim(), ...(token ? { token } : { tokenSet: c.tokenSet ?? false }) };
    }
    this.change((d) => (d.channels[e.name] = next));
    this.editing = null;
  }

  private removeChannel(name: string): void {
    this.change((d) => {
      delete d.channels[name];
      for (const [g, names] of Object.entries(d.groups)) d.groups[g] = names.filter((n) => n !== name);
    });
  }

  override render(): TemplateResult {
    const a = this.answer;
    const d = this.draft;
    if (!a || !d) return html`${this.error ? html`<div class="error" role="alert">${this.error}</div>` : html`<p class="muted">loading…</p>`}`;
    const from =
      a.source === "store"
        ? html`saved in the console (version ${a.version}${a.updatedBy ? html`, by ${a.updatedBy}` : nothing}${a.updatedAt ? html`, ${timestamp(this.timeZone, a.updatedAt)}` : nothing}); they replace the config file's <code>notifications</code>`
        : a.source === "config"
          ? html`the config file's <code>notifications</code>. Saving here stores them in the fleet database, where they replace the file's`
          : html`none yet: alerts stay in the console until a channel and a route are set`;
    return html`
      ${this.error ? html`<div class="error" role="alert" data-error>${this.error}</div>` : nothing}
      ${this.notice ? html`<div class="card" data-notice>${this.notice}</div>` : nothing}
      <section>
        <h2>Notifications</h2>
        <p class="muted" data-source=${a.source}>Settings in force: ${from}.</p>
        <p>
          <button class="primary" data-save ?disabled=${!this.dirty} @click=${() => void this.save()}>Save</button>
          <button ?disabled=${!this.dirty} @click=${() => this.shown(a)}>Discard changes</button>
          ${a.source === "store" && a.configFile ? html`<button data-reset @click=${() => void this.reset()}>Use the config file's settings</button>` : nothing}
          ${this.dirty ? html`<span class="muted" data-dirty>unsaved changes</span>` : nothing}
        </p>
      </section>
      ${this.renderChannels(d)} ${this.renderGroups(d)} ${this.renderRoutes(d)} ${this.renderRules(d)} ${this.renderDeliveries()}
    `;
  }

  private renderChannels(d: SettingsView): TemplateResult {
    return html`<section>
      <h2>Channels</h2>
      <table>
        <thead><tr><th>name</th><th>type</th><th>to</th><th>secret</th><th></th><th>last test</th></tr></thead>
        <tbody>
          ${Object.keys(d.channels).length === 0 ? html`<tr><td colspan="6" class="muted">No channel yet.</td></tr>` : nothing}
          ${Object.entries(d.channels).map(([name, c]) => {
            const t = this.tests[name];
            const saved = this.answer?.settings.channels[name] !== undefined;
            return html`<tr data-channel=${name}>
              <td>${name}</td><td>${c.type}</td><td>${target(c)}</td><td class="muted">${secretState(c)}</td>
              <td><button data-edit=${name} @click=${() => (this.editing = { name, isNew: false, channel: c })}>Edit</button>
                <button data-test=${name} ?disabled=${!saved || this.dirty || t === "sending"} title=${saved && !this.dirty ? "" : "save first"} @click=${() => void this.test(name)}>Send a test</button>
                <button @click=${() => this.removeChannel(name)}>Remove</button></td>
              <td data-test-result=${name}>${t === undefined ? nothing : t === "sending" ? html`<span class="muted">sending…</span>` : t.ok ? html`<span class="badge applied">delivered ${t.status ?? ""}</span>` : html`<span class="badge refused">failed</span> <span class="muted">${t.error}</span>`}</td>
            </tr>`;
          })}
        </tbody>
      </table>
      ${this.editing ? this.renderForm(this.editing.name, this.editing.channel, this.editing.isNew) : html`<p>
        <input type="text" id="new-channel" aria-label="new channel name" placeholder="name" />
        <select id="new-channel-type" aria-label="channel type"><option value="webhook">webhook</option><option value="email">e-mail (SMTP)</option><option value="ntfy">ntfy</option></select>
        <button data-add-channel @click=${() => this.startNew()}>Add channel</button></p>`}
    </section>`;
  }

  private renderForm(name: string, c: ChannelView, isNew: boolean): TemplateResult {
    const field = (id: string, label: string, value: string, type = "text", placeholder = "") =>
      html`<label>${label} <input type=${type} id=${id} .value=${value} placeholder=${placeholder} style="width: 260px" /></label><br />`;
    const keep = (set: boolean | undefined) => (set ? "set; leave empty to keep it" : "none");
    return html`<div class="card" data-channel-form=${name}>
      <b style="font-size: 14px">${isNew ? "New" : "Edit"} ${c.type} channel ${name}</b>
      ${c.type === "webhook"
        ? html`${field("ch-url", "URL", c.url)}${field("ch-secret", "HMAC secret (16+ characters)", "", "password", keep(c.secretSet))}`
        : c.type === "email"
          ? html`${field("ch-host", "SMTP host", c.smtp.host)}${field("ch-port", "port", String(c.smtp.port), "number")}
              <label><input type="checkbox" id="ch-secure" .checked=${c.smtp.secure} /> implicit TLS (port 465)</label><br />
              ${field("ch-user", "user", c.smtp.user ?? "")}${field("ch-pass", "password", "", "password", keep(c.smtp.passSet))}
              ${field("ch-from", "from", c.from)}${field("ch-to", "to (comma-separated)", c.to.join(", "))}`
          : html`${field("ch-server", "server", c.server)}${field("ch-topic", "topic", c.topic)}${field("ch-token", "access token", "", "password", keep(c.tokenSet))}`}
      <button data-apply-channel @click=${() => this.applyForm()}>${isNew ? "Add" : "Apply"}</button> <button @click=${() => (this.editing = null)}>Cancel</button>
      <span class="muted">then Save</span>
    </div>`;
  }

  private renderGroups(d: SettingsView): TemplateResult {
    const channels = Object.keys(d.channels);
    return html`<section>
      <h2>Groups</h2>
      <table>
        <thead><tr><th>group</th><th>channels</th><th></th></tr></thead>
        <tbody>${Object.entries(d.groups).map(
          ([g, names]) => html`<tr data-group=${g}><td>${g}</td>
            <td>${channels.map((c) => html`<label><input type="checkbox" .checked=${names.includes(c)} @change=${(e: Event) => this.change((x) => (x.groups[g] = toggle(x.groups[g], c, (e.target as HTMLInputElement).checked)))} /> ${c}</label> `)}</td>
            <td><button @click=${() => this.change((x) => {
              delete x.groups[g];
              x.routes = x.routes.map((r) => ({ ...r, to: r.to.filter((t) => t !== g) }));
            })}>Remove</button></td></tr>`,
        )}</tbody>
      </table>
      <p><input type="text" id="new-group" aria-label="new group name" placeholder="group" />
        <button @click=${() => {
          const g = this.value("new-group").trim();
          if (/^[a-z0-9][a-z0-9_-]{0,31}$/.test(g) && !d.groups[g]) this.change((x) => (x.groups[g] = []));
        }}>Add group</button> <span class="muted">A group sends to each of its channels.</span></p>
    </section>`;
  }

  private renderRoutes(d: SettingsView): TemplateResult {
    const groups = Object.keys(d.groups);
    const set = (i: number, fn: (r: RouteView) => void) => this.change((x) => fn(x.routes[i]!));
    return html`<section>
      <h2>Routes <span class="muted">every matching route sends; a channel gets each alert once</span></h2>
      <table>
        <thead><tr><th>alert kinds (none ticked: every kind)</th><th>severities</th><th>when</th><th>to groups</th><th></th></tr></thead>
        <tbody>${d.routes.map(
          (r, i) => html`<tr data-route=${i}>
            <td>${KINDS.map((k) => html`<label style="white-space: nowrap"><input type="checkbox" data-kind=${k} .checked=${r.kinds?.includes(k) ?? false}
              @change=${(e: Event) => set(i, (x) => {
                const kinds = toggle(x.kinds, k, (e.target as HTMLInputElement).checked);
                if (kinds.length) x.kinds = kinds;
                else delete x.kinds;
              })} /> ${k}</label> `)}</td>
            <td>${SEVERITIES.map((s) => html`<label><input type="checkbox" data-severity=${s} .checked=${r.severities?.includes(s) ?? false}
              @change=${(e: Event) => set(i, (x) => {
                const sev = toggle(x.severities, s, (e.target as HTMLInputElement).checked);
                if (sev.length) x.severities = sev;
                else delete x.severities;
              })} /> ${s}</label> `)}</td>
            <td><select aria-label="when" data-when @change=${(e: Event) => set(i, (x) => (x.when = (e.target as HTMLSelectElement).value as RouteView["when"]))}>
              ${(["any", "open", "closed"] as const).map((w) => html`<option value=${w} ?selected=${r.when === w}>${w === "any" ? "any time" : w === "open" ? "opening hours" : "outside opening hours"}</option>`)}</select></td>
            <td>${groups.map((g) => html`<label><input type="checkbox" data-to=${g} .checked=${r.to.includes(g)} @change=${(e: Event) => set(i, (x) => (x.to = toggle(x.to, g, (e.target as HTMLInputElement).checked)))} /> ${g}</label> `)}</td>
            <td><button @click=${() => this.change((x) => x.routes.splice(i, 1))}>Remove</button></td>
          </tr>`,
        )}</tbody>
      </table>
      <p><button data-add-route ?disabled=${groups.length === 0} @click=${() => this.change((x) => x.routes.push({ when: "any", to: [groups[0]!] }))}>Add route</button></p>
    </section>`;
  }

  private renderRules(d: SettingsView): TemplateResult {
    const q = d.quietHours;
    return html`<section>
      <h2>Quiet hours, digest and retries</h2>
      <p><label><input type="checkbox" data-quiet .checked=${q !== undefined} @change=${(e: Event) => this.change((x) => {
        if ((e.target as HTMLInputElement).checked) x.quietHours = { tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC", days: { mon: ["22:00-07:00"], tue: ["22:00-07:00"], wed: ["22:00-07:00"], thu: ["22:00-07:00"], fri: ["22:00-07:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"] } };
        else delete x.quietHours;
      })} /> Quiet hours: only critical alerts go at once, the rest wait for the digest</label></p>
      ${q
        ? html`<p><label>time zone <input type="text" style="width: 160px" data-quiet-tz .value=${q.tz} @change=${(e: Event) => this.change((x) => (x.quietHours!.tz = (e.target as HTMLInputElement).value.trim()))} /></label></p>
            <table data-quiet-days><tbody>${DAYS.map((day) => html`<tr><td>${day}</td><td><input type="text" style="width: 260px" data-quiet-day=${day} .value=${(q.days[day] ?? []).join(", ")} placeholder="e.g. 22:00-07:00"
              @change=${(e: Event) => this.change((x) => {
                const ranges = list((e.target as HTMLInputElement).value);
                if (ranges.length) x.quietHours!.days[day] = ranges;
                else delete x.quietHours!.days[day];
              })} /></td></tr>`)}</tbody></table>`
        : nothing}
      <p>Digest of: ${SEVERITIES.map((s) => html`<label><input type="checkbox" data-digest=${s} .checked=${d.digestSeverities.includes(s)} @change=${(e: Event) => this.change((x) => (x.digestSeverities = toggle(x.digestSeverities, s, (e.target as HTMLInputElement).checked)))} /> ${s}</label> `)}
        <br />Digest every <input type="number" min="1" style="width: 70px" data-digest-minutes .value=${String(Math.round(d.digestIntervalMs / 60_000))} @change=${(e: Event) => this.change((x) => (x.digestIntervalMs = Math.round(Number((e.target as HTMLInputElement).value) * 60_000)))} /> min</p>
      <p><label><input type="checkbox" .checked=${d.resolved} @change=${(e: Event) => this.change((x) => (x.resolved = (e.target as HTMLInputElement).checked))} /> tell the channels when an alert they were sent clears</label></p>
      <p>Attempts per message <input type="number" min="1" max="10" style="width: 60px" .value=${String(d.maxAttempts)} @change=${(e: Event) => this.change((x) => (x.maxAttempts = Number((e.target as HTMLInputElement).value)))} />,
        first retry after <input type="number" min="1" style="width: 70px" .value=${String(d.retryBaseMs / 1000)} @change=${(e: Event) => this.change((x) => (x.retryBaseMs = Math.round(Number((e.target as HTMLInputElement).value) * 1000)))} /> s, doubling</p>
    </section>`;
  }

  private renderDeliveries(): TemplateResult {
    return html`<section>
      <h2>Recent deliveries <button @click=${() => void notifyApi.deliveries().then((x) => (this.deliveries = x), (err: unknown) => (this.error = message(err)))}>Refresh</button></h2>
      <table>
        <thead><tr><th>when</th><th>channel</th><th>message</th><th>attempt</th><th>outcome</th><th>answer</th></tr></thead>
        <tbody>
          ${this.deliveries.length === 0 ? html`<tr><td colspan="6" class="muted">Nothing sent yet.</td></tr>` : nothing}
          ${this.deliveries.map(
            (x) => html`<tr data-delivery=${x.id} data-delivery-channel=${x.channel} data-delivery-event=${x.event} data-ok=${x.ok ? "yes" : "no"}>
              <td>${timestamp(this.timeZone, x.at)}</td><td>${x.channel} <span class="muted">${x.channelType}</span></td>
              <td>${x.event}${x.alertIds.length ? html` <span class="muted">${x.alertIds.length} alert${x.alertIds.length === 1 ? "" : "s"}</span>` : nothing}</td>
              <td>${x.attempt}</td>
              <td>${x.ok ? html`<span class="badge applied">delivered</span>` : html`<span class="badge refused">failed</span>`}</td>
              <td class="muted">${x.status ?? ""} ${x.error ?? ""}</td></tr>`,
          )}
        </tbody>
      </table>
    </section>`;
  }
}

if (!customElements.get("zv-fleet-notifications")) customElements.define("zv-fleet-notifications", FleetNotifications);
