// The console's login page: username and password, then the authenticator code when the account has one. Fires
// `login` with the session once the server has set its cookie.
import { LitElement, html, nothing, type TemplateResult } from "lit";
import type { SessionInfo } from "@zapvend/protocol";
import { api, ApiCallError } from "./api.js";
import { styles } from "./styles.js";

export class FleetLogin extends LitElement {
  static override styles = styles;
  static override properties = { error: { state: true }, needTotp: { state: true }, busy: { state: true } };
  declare error: string;
  declare needTotp: boolean;
  declare busy: boolean;

  constructor() {
    super();
    this.error = "";
    this.needTotp = false;
    this.busy = false;
  }

  private value(id: string): string {
    return (this.renderRoot.querySelector(`#${id}`) as HTMLInputElement | null)?.value ?? "";
  }

  private async submit(ev: Event): Promise<void> {
    ev.preventDefault();
    this.busy = true;
    this.error = "";
    try {
      const s: SessionInfo = await api.login(this.value("username"), this.value("password"), this.needTotp ? this.value("totp") : undefined);
      this.dispatchEvent(new CustomEvent<SessionInfo>("login", { detail: s, bubbles: true, composed: true }));
    } catch (err) {
      if (err instanceof ApiCallError && err.code === "totp_required") {
        this.needTotp = true;
        this.error = "Enter the 6-digit code of your authenticator app.";
      } else this.error = err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
    } finally {
      this.busy = false;
    }
  }

  override render(): TemplateResult {
    return html`<main class="login">
      <section>
        <h2>⚡ zapvend fleet: log in</h2>
        <form @submit=${(e: Event) => void this.submit(e)}>
          <p><label>user<br /><input id="username" name="username" autocomplete="username" required /></label></p>
          <p><label>password<br /><input id="password" name="password" type="password" autocomplete="current-password" required /></label></p>
          ${this.needTotp ? html`<p><label>authenticator code<br /><input id="totp" name="totp" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required /></label></p>` : nothing}
          ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
          <p><button class="primary" type="submit" ?disabled=${this.busy}>Log in</button></p>
        </form>
      </section>
    </main>`;
  }
}
