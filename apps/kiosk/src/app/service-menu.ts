import { LitElement, css, html, nothing, type TemplateResult } from "lit";
import type { HarnessReport, MdbStatusView, ServiceSlot, ServiceStatusResponse, TestVendResponse } from "@zapvend/protocol";
import { KioskApiError, type MachineClient, type ServiceMode } from "./api.js";
import { t, type Lang, type MessageKey } from "./i18n.js";
import { baseStyles } from "./styles.js";

type Tab = "status" | "stock" | "harness" | "selections";

/** Longest PIN the pad takes (the machine accepts 4 to 12 digits). */
const MAX_PIN_DIGITS = 12;

/**
 * `<zapvend-service-menu>`: the technician's menu behind the PIN. Talks to `/api/service/*` with the bearer token
 * of a login; any `401` (token expired, machine restarted, door closed) brings the PIN pad back. The machine opens
 * the menu only with its door open (`403 door_closed`); on the sim board (`demoBoard`) the menu offers to open and
 * close the simulated door. Fires `exit` when closed.
 *
 * On an MDB machine (the status has `mdb`: zapvend is the card reader of a machine with its own controller, the VMC)
 * the machine has no door sensor of zapvend's: the menu opens while the VMC keeps the reader disabled (its service
 * mode, `403 vmc_not_in_service` otherwise) or, by config, with the PIN alone. It shows what applies there: the
 * reader's MDB state and counters, and the selection map with a test vend through the VMC; no stock, no hardware
 * checks (those are `zapvend-harness --board mdb`). The VMC enabling the reader again ends the session, and the menu
 * leaves so the buyer's next vend request shows.
 */
export class ZapvendServiceMenu extends LitElement {
  static override styles = [
    baseStyles,
    css`
      .pad {
        display: grid;
        grid-template-columns: repeat(3, 96px);
        gap: 10px;
      }
      .pad button {
        font-size: 30px;
        height: 64px;
      }
      .dots {
        font-size: 36px;
        letter-spacing: 8px;
        min-height: 44px;
      }
      .error {
        color: var(--bad);
        font-weight: 700;
      }
      header {
        display: flex;
        gap: 8px;
        align-items: center;
        padding: 8px 12px;
        border-bottom: 2px solid var(--line);
      }
      header h1 {
        flex: 1;
        font-size: 24px;
      }
      header button[aria-selected="true"] {
        background: var(--ink);
        color: var(--card);
      }
      main {
        flex: 1;
        overflow-y: auto;
        padding: 10px 16px;
      }
      table {
        border-collapse: collapse;
        width: 100%;
        font-size: 18px;
      }
      td,
      th {
        text-align: left;
        padding: 6px 8px;
        border-bottom: 1px solid var(--line);
      }
      td button {
        min-height: 48px;
        padding: 4px 12px;
      }
      .pass {
        color: var(--ok);
        font-weight: 700;
      }
      .fail {
        color: var(--bad);
        font-weight: 700;
      }
      .note {
        margin: 8px 0;
        font-weight: 700;
      }
      .moderow {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 6px 14px;
      }
      .moderow button {
        min-height: 48px;
        padding: 4px 14px;
      }
      .moderow button[aria-pressed="true"] {
        background: var(--ink);
        color: var(--card);
      }
      .row {
        display: flex;
        gap: 10px;
        flex-wrap: wrap;
      }
      .stockval {
        display: inline-block;
        min-width: 3ch;
        text-align: center;
        font-size: 24px;
        font-weight: 700;
      }
    `,
  ];

  /** Set by the kiosk. */
  client!: MachineClient;
  private currentLang: Lang = "en";
  get language(): Lang {
    return this.currentLang;
  }
  set language(v: Lang) {
    this.currentLang = v;
    this.requestUpdate();
  }

  /** Set by the kiosk: the board is the sim board, so `POST /api/demo/sim` can open and close its door. */
  demoBoard = false;
  /** Set by the kiosk: the machine is the reader of the sim VMC, so `POST /api/demo/vmc` can put it in its service mode. */
  demoVmc = false;
  /** The login was refused because the VMC is not in its service mode (MDB machine). */
  private vmcNotInService = false;
  private doorState: "open" | "closed" | undefined;
  /** Set by the kiosk from the machine's status pushes. Closing the door ends the session (the machine revokes it). */
  get door(): "open" | "closed" | undefined {
    return this.doorState;
  }
  set door(v: "open" | "closed" | undefined) {
    const closed = this.doorState === "open" && v === "closed";
    this.doorState = v;
    if (closed && this.signedIn) {
      this.client.serviceToken = undefined;
      this.signedIn = false;
      this.error = this.m("doorClosedSession");
    }
    this.requestUpdate();
  }

  /**
   * Set by the kiosk from the machine's status pushes: the stored mode (`normal` / `maintenance`, also while the door
   * is open), e.g. after the fleet changed it while the menu is open. Undefined from a daemon that does not send it.
   */
  get operatingMode(): ServiceMode | undefined {
    return this.pushedMode;
  }
  set operatingMode(v: ServiceMode | undefined) {
    this.pushedMode = v;
    if (v && this.status && this.status.operatingMode !== v) {
      this.status = { ...this.status, operatingMode: v };
      this.requestUpdate();
    }
  }
  private pushedMode: ServiceMode | undefined;

  /**
   * Set by the kiosk from the machine's status pushes: the MDB reader's state and counters (MDB machines only). The
   * VMC leaving its service mode (the reader no longer disabled) ends a `vmc-service` session, as the closing door
   * does; a test vend in flight still shows its result first.
   */
  get mdb(): MdbStatusView | undefined {
    return this.pushedMdb;
  }
  set mdb(v: MdbStatusView | undefined) {
    const left = this.pushedMdb?.state === "disabled" && v !== undefined && v.state !== "disabled";
    this.pushedMdb = v;
    if (v && this.status?.mdb) this.status = { ...this.status, mdb: v };
    if (left && this.signedIn && this.status?.serviceAccess === "vmc-service" && !this.testing) {
      this.client.serviceToken = undefined;
      this.signedIn = false;
      this.dispatchEvent(new CustomEvent("exit", { bubbles: true, composed: true }));
    }
    this.requestUpdate();
  }
  private pushedMdb: MdbStatusView | undefined;
  /** A test vend is waiting for the VMC (on an MDB machine: for the technician's keypad press). */
  private testing = false;

  /** A technician is signed in (the kiosk lets a buyer's MDB vend request replace only a menu nobody is using). */
  get inSession(): boolean {
    return this.signedIn;
  }

  private pin = "";
  /** The login was refused because the door is closed: the pad says so (and offers the demo door). */
  private doorClosed = false;
  /**
   * The mode set in this session. While the door is open the machine reports `service` whatever the mode is, so
   * the buttons show the mode the technician chose, which the machine applies once the door closes.
   */
  private modeSet: ServiceMode | undefined;
  private signedIn = false;
  private busy = false;
  private error: string | undefined;
  private note: string | undefined;
  private tab: Tab = "status";
  private status: ServiceStatusResponse | undefined;
  private edits = new Map<string, number>();
  private report: HarnessReport | undefined;

  private m(key: MessageKey, vars?: Record<string, string | number>): string {
    return t(this.language, key, vars);
  }

  private set(patch: Record<string, unknown>): void {
    Object.assign(this, patch);
    this.requestUpdate();
  }

  private async exit(): Promise<void> {
    try {
      await this.client.serviceLogout();
    } catch {
      // The token expires by itself.
    }
    this.dispatchEvent(new CustomEvent("exit", { bubbles: true, composed: true }));
  }

  /** Leaves the menu; in the demo, closes the simulated door first (the machine then sells again). */
  private async exitClosingDoor(): Promise<void> {
    try {
      await this.client.serviceLogout();
    } catch {
      // The door closing revokes the token anyway.
    }
    try {
      await this.client.demoSim({ door: "closed" });
    } catch (err) {
      this.set({ error: this.m("errGeneric", { code: err instanceof KioskApiError ? err.code : "internal" }) });
      return;
    }
    this.dispatchEvent(new CustomEvent("exit", { bubbles: true, composed: true }));
  }

  /** Demo: opens the simulated door, then signs in with the PIN already typed. */
  private async openDemoDoor(): Promise<void> {
    this.set({ busy: true, error: undefined });
    try {
      await this.client.demoSim({ door: "open" });
      this.doorState = "open";
      this.set({ doorClosed: false });
    } catch (err) {
      this.set({ error: this.m("errGeneric", { code: err instanceof KioskApiError ? err.code : "internal" }) });
      return;
    } finally {
      this.set({ busy: false });
    }
    await this.login();
  }

  /** Demo: the sim VMC goes into its service mode (it disables the reader), then signs in with the PIN typed. */
  private async openDemoVmc(): Promise<void> {
    this.set({ busy: true, error: undefined });
    try {
      await this.client.demoVmc({ inService: false });
      this.set({ vmcNotInService: false });
    } catch (err) {
      this.set({ error: this.m("errGeneric", { code: err instanceof KioskApiError ? err.code : "internal" }) });
      return;
    } finally {
      this.set({ busy: false });
    }
    // The reader's state follows the VMC's lines: the login may come a moment before the machine saw it.
    for (let attempt = 0; attempt < 10 && !this.signedIn; attempt++) {
      await this.login();
      if (!this.vmcNotInService) return;
      this.vmcNotInService = false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Demo: leaves the menu and takes the sim VMC out of its service mode (the machine sells again). */
  private async exitClosingVmc(): Promise<void> {
    try {
      await this.client.serviceLogout();
    } catch {
      // The VMC leaving its service mode ends the session anyway.
    }
    try {
      await this.client.demoVmc({ inService: true });
    } catch (err) {
      this.set({ error: this.m("errGeneric", { code: err instanceof KioskApiError ? err.code : "internal" }) });
      return;
    }
    this.dispatchEvent(new CustomEvent("exit", { bubbles: true, composed: true }));
  }

  private async login(): Promise<void> {
    if (this.pin.length < 4 || this.busy) return;
    this.set({ busy: true, error: undefined });
    try {
      await this.client.serviceLogin(this.pin);
      this.set({ signedIn: true, pin: "", doorClosed: false, vmcNotInService: false });
      await this.loadStatus();
    } catch (err) {
      const code = err instanceof KioskApiError ? err.code : "network";
      if (code === "door_closed") {
        // Checked before the PIN: keep what was typed, it is used once the door is open.
        this.set({ error: this.m("doorClosed"), doorClosed: true });
        return;
      }
      if (code === "vmc_not_in_service") {
        // The same for an MDB machine's VMC: the PIN waits until the machine is in its service mode.
        this.set({ error: this.m("vmcNotInService"), vmcNotInService: true });
        return;
      }
      const key: MessageKey =
        code === "wrong_pin" ? "wrongPin" : code === "locked" ? "locked" : code === "no_pin_configured" ? "noPin" : code === "vmc_not_in_service" ? "vmcNotInService" : "errGeneric";
      this.set({ error: this.m(key, { code }), pin: "" });
    } finally {
      this.set({ busy: false });
    }
  }

  /** Runs a service call; a 401 ends the session and shows the PIN pad again. */
  private async call<T>(fn: () => Promise<T>): Promise<T | undefined> {
    this.set({ busy: true, note: undefined, error: undefined });
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KioskApiError && err.status === 401) {
        this.client.serviceToken = undefined;
        this.set({ signedIn: false, error: this.m("sessionEnded") });
      } else {
        this.set({ error: this.m("errGeneric", { code: err instanceof KioskApiError ? err.code : "internal" }) });
      }
      return undefined;
    } finally {
      this.set({ busy: false });
    }
  }

  private async loadStatus(): Promise<void> {
    const st = await this.call(() => this.client.serviceStatus());
    if (st) {
      this.edits.clear();
      this.set({ status: st });
    }
  }

  private async setMode(mode: ServiceMode): Promise<void> {
    const st = await this.call(() => this.client.setMode(mode));
    if (st) this.set({ status: st, modeSet: mode, note: this.m("modeSaved", { mode: this.m(mode === "normal" ? "modeNormal" : "modeMaintenance") }) });
  }

  private async restock(slot: ServiceSlot): Promise<void> {
    const stock = this.edits.get(slot.slot) ?? slot.stock;
    const r = await this.call(() => this.client.restock(slot.slot, stock));
    if (r && this.status) {
      this.edits.delete(slot.slot);
      this.set({ status: { ...this.status, slots: this.status.slots.map((s) => (s.slot === r.slot ? r : s)) }, note: `${slot.slot}: ${this.m("saved")}` });
    }
  }

  private async testVend(slot: string): Promise<void> {
    const selection = this.isMdb ? /^S(\d+)$/.exec(slot)?.[1] : undefined;
    this.testing = true;
    let r: TestVendResponse | undefined;
    try {
      r = await this.call(() => {
        // Through the VMC: the machine waits for the technician to press the selection on the keypad.
        if (selection !== undefined) this.set({ note: this.m("testVendPress", { n: selection }) });
        return this.client.testVend(slot);
      });
    } finally {
      this.testing = false;
    }
    if (r) this.set({ note: r.ok ? this.m("testOk", { slot }) : this.m("testFailed", { slot, code: r.failure?.code ?? "?" }) });
  }

  /** The machine is the MDB card reader of a vending machine with its own controller. */
  private get isMdb(): boolean {
    return this.status?.mdb !== undefined;
  }

  private async runHarness(): Promise<void> {
    const r = await this.call(() => this.client.harness());
    if (r) this.set({ report: r });
  }

  override render(): TemplateResult {
    return this.signedIn ? this.renderMenu() : this.renderPad();
  }

  private renderPad(): TemplateResult {
    const digit = (d: string) =>
      html`<button ?disabled=${this.busy} @click=${() => this.pin.length < MAX_PIN_DIGITS && this.set({ pin: this.pin + d, error: undefined })}>${d}</button>`;
    return html`<div class="screen" data-screen="service-pin">
      <div class="center">
        <h1>${this.m("enterPin")}</h1>
        <p class="dots" aria-label=${this.m("enterPin")} data-dots>${"●".repeat(this.pin.length)}</p>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
        ${this.doorClosed && this.demoBoard
          ? html`<button class="primary" data-open-door ?disabled=${this.busy} @click=${() => this.openDemoDoor()}>${this.m("openDoorDemo")}</button>`
          : nothing}
        ${this.vmcNotInService && this.demoVmc
          ? html`<button class="primary" data-open-vmc ?disabled=${this.busy} @click=${() => this.openDemoVmc()}>${this.m("openVmcDemo")}</button>`
          : nothing}
        <div class="pad">
          ${["1", "2", "3", "4", "5", "6", "7", "8", "9"].map(digit)}
          <button @click=${() => this.set({ pin: "" })}>${this.m("clear")}</button>
          ${digit("0")}
          <button class="primary" ?disabled=${this.pin.length < 4 || this.busy} @click=${() => this.login()}>${this.m("signIn")}</button>
        </div>
        <div class="row">
          <button @click=${() => this.exit()}>${this.m("exit")}</button>
          ${this.demoBoard && this.door === "open"
            ? html`<button data-close-door @click=${() => this.exitClosingDoor()}>${this.m("closeDoorDemo")}</button>`
            : nothing}
        </div>
      </div>
    </div>`;
  }

  private renderMenu(): TemplateResult {
    const tabs: Array<[Tab, MessageKey]> = this.isMdb
      ? [
          ["status", "status"],
          ["selections", "selections"],
        ]
      : [
          ["status", "status"],
          ["stock", "stock"],
          ["harness", "harness"],
        ];
    return html`<div class="screen" data-screen="service">
      <header>
        <h1>${this.m("service")} · ${this.status?.machineId ?? ""}</h1>
        <div role="tablist" class="row">
          ${tabs.map(
            ([tab, key]) =>
              html`<button role="tab" aria-selected=${this.tab === tab ? "true" : "false"} @click=${() => this.set({ tab })}>${this.m(key)}</button>`,
          )}
        </div>
        <button @click=${() => this.exit()}>${this.m("exit")}</button>
        ${this.demoBoard && this.door === "open"
          ? html`<button data-close-door @click=${() => this.exitClosingDoor()}>${this.m("closeDoorDemo")}</button>`
          : nothing}
        ${this.demoVmc && this.status?.mdb?.state === "disabled"
          ? html`<button data-close-vmc @click=${() => this.exitClosingVmc()}>${this.m("closeVmcDemo")}</button>`
          : nothing}
      </header>
      <main role="tabpanel">
        ${this.error ? html`<p class="note error" role="alert">${this.error}</p>` : nothing}
        ${this.note ? html`<p class="note" role="status" data-note>${this.note}</p>` : nothing}
        ${this.tab === "status"
          ? this.renderStatus()
          : this.tab === "selections"
            ? this.renderSelections()
            : this.tab === "stock"
              ? this.renderStock()
              : this.renderHarness()}
      </main>
    </div>`;
  }

  private renderStatus(): TemplateResult {
    const st = this.status;
    if (!st) return html`<div class="spinner"></div>`;
    const health = (v: string) => html`<span class=${v === "up" ? "pass" : "fail"}>${v}</span>`;
    const modeKey: MessageKey = st.mode === "normal" ? "modeNormal" : st.mode === "maintenance" ? "modeMaintenance" : "modeService";
    // The stored mode when the machine says it (also while the door is open); an older daemon reports only `service`
    // with the door open, and then the mode set in this session is shown.
    const stored = st.operatingMode ?? (st.mode === "service" ? this.modeSet : st.mode);
    const modeButton = (mode: ServiceMode, key: MessageKey) =>
      html`<button data-set-mode=${mode} aria-pressed=${stored === mode ? "true" : "false"} ?disabled=${this.busy} @click=${() => this.setMode(mode)}>
        ${this.m(key)}
      </button>`;
    return html`<table data-status>
      <tr>
        <th>${this.m("mode")}</th>
        <td>
          <div class="moderow">
            <span data-mode=${st.mode}>${this.m(modeKey)}</span>
            <span class="row" role="group" aria-label=${this.m("mode")}>
              ${modeButton("normal", "setInService")} ${modeButton("maintenance", "setOutOfService")}
            </span>
          </div>
        </td>
      </tr>
      <tr><th>${this.m("selling")}</th><td>${st.selling ? this.m("yes") : this.m("no")}</td></tr>
      <tr><th>${this.m("payments")}</th><td>${health(st.payments)}</td></tr>
      ${st.mdb
        ? html`<tr><th>${this.m("mdbReader")}</th><td data-mdb-state=${st.mdb.state}><span class=${st.mdb.selling ? "pass" : "fail"}>${st.mdb.state}</span></td></tr>
            <tr><th>${this.m("mdbApprovalTimeout")}</th><td>${st.mdb.approvalTimeoutSec} s</td></tr>
            <tr><th>${this.m("mdbBadLines")}</th><td data-bad-lines>${st.mdb.badLines}</td></tr>
            <tr><th>${this.m("mdbUnconfirmed")}</th><td data-unconfirmed class=${st.mdb.unconfirmedVends > 0 ? "fail" : ""}>${st.mdb.unconfirmedVends}</td></tr>`
        : html`<tr><th>${this.m("hardware")}</th><td>${health(st.hardware)}</td></tr>
            <tr><th>${this.m("door")}</th><td>${st.door}</td></tr>`}
      <tr>
        <th>${this.m("faults")}</th>
        <td data-faults>${st.faults.length ? st.faults.map((f) => html`<div><b>${f.code}</b> ${f.message}</div>`) : this.m("none")}</td>
      </tr>
      <tr><th>${this.m("version")}</th><td>${st.version} (boot ${st.boot})</td></tr>
      <tr><th>${this.m("uptime")}</th><td>${Math.round(st.uptimeMs / 60_000)} min</td></tr>
    </table>`;
  }

  private renderStock(): TemplateResult {
    const st = this.status;
    if (!st) return html`<div class="spinner"></div>`;
    return html`<table data-stock>
      ${st.slots.map((s) => {
        const v = this.edits.get(s.slot) ?? s.stock;
        const edit = (n: number) => {
          this.edits.set(s.slot, Math.max(0, Math.min(s.capacity, n)));
          this.requestUpdate();
        };
        return html`<tr data-slot=${s.slot}>
          <th>${s.slot}</th>
          <td>${s.name}</td>
          <td>
            <button aria-label="−1 ${s.slot}" @click=${() => edit(v - 1)}>−</button>
            <span class="stockval" data-stock-value>${v}</span>/${s.capacity}
            <button aria-label="+1 ${s.slot}" @click=${() => edit(v + 1)}>+</button>
            <button @click=${() => edit(s.capacity)}>${this.m("fill")}</button>
          </td>
          <td>
            <button class="primary" ?disabled=${this.busy || v === s.stock} @click=${() => this.restock(s)}>${this.m("save")}</button>
            <button ?disabled=${this.busy} @click=${() => this.testVend(s.slot)}>${this.m("testVend")}</button>
          </td>
        </tr>`;
      })}
    </table>`;
  }

  /** The selection map of an MDB machine: the VMC's selection numbers, names, on sale or not, and a test vend each. */
  private renderSelections(): TemplateResult {
    const st = this.status;
    if (!st) return html`<div class="spinner"></div>`;
    return html`<table data-selections>
      <tr>
        <th>${this.m("selection")}</th>
        <th></th>
        <th>${this.m("enabled")}</th>
        <th></th>
      </tr>
      ${st.slots.map(
        (s) => html`<tr data-slot=${s.slot}>
          <th>${/^S(\d+)$/.exec(s.slot)?.[1] ?? s.slot}</th>
          <td>${s.name}</td>
          <td data-enabled>${s.enabled ? this.m("yes") : this.m("no")}</td>
          <td><button ?disabled=${this.busy} @click=${() => this.testVend(s.slot)}>${this.m("testVend")}</button></td>
        </tr>`,
      )}
    </table>`;
  }

  private renderHarness(): TemplateResult {
    return html`<button class="primary" ?disabled=${this.busy} @click=${() => this.runHarness()}>${this.busy ? this.m("running") : this.m("runChecks")}</button>
      ${this.report
        ? html`<table data-harness>
            ${this.report.checks.map(
              (c) => html`<tr>
                <td class=${c.status}>${this.m(c.status)}</td>
                <th>${c.name}</th>
                <td>${c.code ? html`<b>${c.code}</b> ` : nothing}${c.detail}</td>
              </tr>`,
            )}
          </table>`
        : nothing}`;
  }
}

customElements.define("zapvend-service-menu", ZapvendServiceMenu);
