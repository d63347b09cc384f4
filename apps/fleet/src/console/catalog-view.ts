// The catalog editor (`#/catalog`, issue #18): the fleet's products with their names in four languages, picture,
// icon and price, and which machine slot (or MDB selection) shows which product. Everyone with a role reads it;
// operators edit (the server refuses everyone else anyway). A picture is uploaded as JSON base64 and shown back as
// the fleet compressed it (the WebP the machines get), with its size. Loaded on first navigation (app.ts).
import { LitElement, html, nothing, type TemplateResult } from "lit";
import type { CatalogResponse, FleetProduct, FleetRole, MachineSummary, PictureRef, PictureUploadResponse, Price, ProductNames } from "@zapvend/protocol";
import { ApiCallError, call, can, json } from "./api.js";
import { catalogAnswer, pictureRef } from "./catalog-check.js";
import { arr, bool, int, nullable, obj, opt, str } from "./check.js";
import { fiatDigits, price as priceText } from "./format.js";
import { styles } from "./styles.js";
import { thumb } from "./thumb.js";

const LANGS = [
  ["en", "English"],
  ["fr", "Français"],
  ["ja", "日本語"],
  ["zh", "中文"],
] as const;
const UNITS = ["sat", "EUR", "USD", "CHF", "GBP", "JPY"] as const;

const upload = obj<PictureUploadResponse>({ picture: pictureRef, sourceBytes: int, sourceWidth: int, sourceHeight: int, quality: int });
type Sync = { machineId: string; version: number | null; sent: boolean; error?: { code: string; message: string } };
const sync = obj<Sync>({ machineId: str, version: nullable(int), sent: bool, error: opt(obj({ code: str, message: str })) });
const syncs = obj<{ machines: Sync[] }>({ machines: arr(sync) });

const enc = encodeURIComponent;
const catalogApi = {
  get: () => call(catalogAnswer, "/api/catalog"),
  save: (id: string, body: { names: ProductNames; icon: string | null; picture: string | null; price: Price }) => call(syncs, `/api/catalog/products/${enc(id)}`, json("PUT", body)),
  remove: (id: string) => call(obj({}), `/api/catalog/products/${enc(id)}`, json("DELETE")),
  assign: (machineId: string, slot: string, productId: string | null) => call(syncs, `/api/catalog/machines/${enc(machineId)}/slots/${enc(slot)}`, json("PUT", { product: productId })),
  upload: (dataBase64: string) => call(upload, "/api/pictures", json("POST", { dataBase64 })),
};

function message(err: unknown): string {
  return err instanceof ApiCallError ? `${err.message} (${err.code})` : String(err);
}

/** A file's bytes as base64, in chunks (a spread of megabytes into String.fromCharCode overflows the stack). */
async function base64Of(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The price the form's unit and amount say, or null when the amount is not one. */
function priceOf(unit: string, amount: string): Price | null {
  const t = amount.trim();
  if (unit === "sat") return /^[0-9]{1,15}$/.test(t) ? { unit: "msat", amountMsat: (BigInt(t) * 1000n).toString() } : null;
  const d = fiatDigits(unit);
  const m = new RegExp(`^([0-9]{1,9})(?:\\.([0-9]{1,${Math.max(d, 1)}}))?$`).exec(t);
  if (!m || (d === 0 && m[2] !== undefined)) return null;
  return { unit: "fiat", currency: unit, amountMinor: Number(m[1]) * 10 ** d + Number((m[2] ?? "").padEnd(d, "0") || "0") };
}

interface Draft {
  id: string;
  names: Record<string, string>;
  icon: string;
  picture: PictureRef | null;
  unit: string;
  amount: string;
  /** Editing an existing product (its id is fixed). */
  existing: boolean;
}

const emptyDraft = (): Draft => ({ id: "", names: {}, icon: "", picture: null, unit: "EUR", amount: "", existing: false });

export class FleetCatalogView extends LitElement {
  static override styles = styles;
  static override properties = {
    userRole: { attribute: false },
    machines: { attribute: false },
    catalog: { state: true },
    draft: { state: true },
    error: { state: true },
    notice: { state: true },
    busy: { state: true },
    uploadInfo: { state: true },
  };
  declare userRole: FleetRole | undefined;
  declare machines: Map<string, MachineSummary>;
  declare catalog: CatalogResponse | null;
  declare draft: Draft;
  declare error: string;
  declare notice: string;
  declare busy: boolean;
  declare uploadInfo: string;

  constructor() {
    super();
    this.userRole = undefined;
    this.machines = new Map();
    this.catalog = null;
    this.draft = emptyDraft();
    this.error = "";
    this.notice = "";
    this.busy = false;
    this.uploadInfo = "";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private get canEdit(): boolean {
    return can(this.userRole, "operator");
  }

  private async load(): Promise<void> {
    try {
      this.catalog = await catalogApi.get();
    } catch (err) {
      this.error = message(err);
    }
  }

  private async act(fn: () => Promise<{ machines: Sync[] } | unknown>, done: string): Promise<boolean> {
    this.error = "";
    this.notice = "";
    this.busy = true;
    try {
      const r = await fn();
      const machines = (r as { machines?: Sync[] } | null)?.machines ?? [];
      const sent = machines.filter((m) => m.sent).map((m) => `${m.machineId} v${m.version}`);
      const held = machines.filter((m) => m.error).map((m) => `${m.machineId} (${m.error!.code})`);
      this.notice = [done, sent.length ? `sent to ${sent.join(", ")}` : "", held.length ? `saved, sent when the broker is back: ${held.join(", ")}` : ""].filter(Boolean).join(" — ");
      await this.load();
      return true;
    } catch (err) {
      this.error = message(err);
      return false;
    } finally {
      this.busy = false;
    }
  }

  private edit(p: FleetProduct): void {
    const fiat = p.price.unit === "fiat" ? p.price : null;
    const d = fiat ? fiatDigits(fiat.currency) : 0;
    this.draft = {
      id: p.id,
      names: { ...p.names },
      icon: p.icon ?? "",
      picture: p.picture,
      unit: fiat ? fiat.currency : "sat",
      amount: fiat ? (fiat.amountMinor / 10 ** d).toFixed(d) : p.price.unit === "msat" ? (BigInt(p.price.amountMsat) / 1000n).toString() : "",
      existing: true,
    };
    this.uploadInfo = "";
  }

  private async onFile(e: Event): Promise<void> {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    input.value = ""; // the preview shows what was uploaded; the same file may be chosen again
    this.error = "";
    this.busy = true;
    this.uploadInfo = `uploading ${Math.round(file.size / 1024)} KB…`;
    try {
      const r = await catalogApi.upload(await base64Of(file));
      this.draft = { ...this.draft, picture: r.picture };
      this.uploadInfo = `${Math.round(r.sourceBytes / 1024)} KB ${r.sourceWidth}×${r.sourceHeight} → ${(r.picture.bytes / 1024).toFixed(1)} KB WebP ${r.picture.width}×${r.picture.height}`;
    } catch (err) {
      this.uploadInfo = "";
      this.error = message(err);
    } finally {
      this.busy = false;
    }
  }

  private async save(): Promise<void> {
    const d = this.draft;
    if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(d.id)) return void (this.error = 'the id is lower-case letters, digits and dashes, e.g. "crisps-salt"');
    if (!d.names.en?.trim()) return void (this.error = "the English name is required (the other languages fall back to it)");
    const price = priceOf(d.unit, d.amount);
    if (!price) return void (this.error = d.unit === "sat" ? "the price is whole sats" : `the price is an amount in ${d.unit}, e.g. 1.50`);
    const n: ProductNames = { en: d.names.en.trim() };
    for (const [lang] of LANGS) if (lang !== "en" && d.names[lang]?.trim()) n[lang] = d.names[lang]!.trim();
    const ok = await this.act(() => catalogApi.save(d.id, { names: n, icon: d.icon.trim() || null, picture: d.picture?.sha256 ?? null, price }), `saved ${d.id}`);
    if (ok) {
      this.draft = emptyDraft();
      this.uploadInfo = "";
    }
  }

  override render(): TemplateResult {
    const c = this.catalog;
    return html`
      <style>
        .form { display: grid; grid-template-columns: 110px 1fr; gap: 6px 10px; align-items: center; max-width: 560px; }
        .form input[type="text"] { width: 100%; box-sizing: border-box; }
        .form .inline { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
        .form .inline input[type="text"] { width: 120px; }
        .notice { color: #3fb950; margin: 8px 0; }
        .slots { display: flex; flex-wrap: wrap; gap: 8px; }
        .slots label { display: inline-flex; gap: 4px; align-items: center; background: #0f1115; padding: 4px 6px; border-radius: 6px; }
      </style>
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
      ${this.notice ? html`<div class="notice" role="status" data-notice>${this.notice}</div>` : nothing}
      <section>
        <h2>Products</h2>
        ${!c
          ? html`<p class="muted">loading…</p>`
          : c.products.length === 0
            ? html`<p class="muted">No products yet.${this.canEdit ? " Add the first one below." : ""}</p>`
            : html`<table>
                <thead><tr><th></th><th>id</th><th>name</th><th>fr / ja / zh</th><th>price</th><th>slots</th><th></th></tr></thead>
                <tbody>${c.products.map((p) => {
                  const shown = c.assignments.filter((a) => a.product === p.id);
                  return html`<tr data-product=${p.id}>
                    <td>${thumb(p.picture, 40, p.icon)}</td><td><code>${p.id}</code></td><td>${p.names.en}</td>
                    <td class="muted">${[p.names.fr, p.names.ja, p.names.zh].map((x) => x ?? "—").join(" / ")}</td>
                    <td>${priceText(p.price)}</td><td data-slots>${shown.map((a) => `${a.machineId} ${a.slot}`).join(", ") || html`<span class="muted">none</span>`}</td>
                    <td>${this.canEdit
                      ? html`<button @click=${() => this.edit(p)}>Edit</button>
                          <button ?disabled=${shown.length > 0 || this.busy} title=${shown.length ? "shown by a slot" : ""}
                            @click=${() => confirm(`Delete ${p.id}?`) && void this.act(() => catalogApi.remove(p.id), `deleted ${p.id}`)}>Delete</button>`
                      : nothing}</td></tr>`;
                })}</tbody>
              </table>`}
      </section>
      ${this.canEdit ? this.renderForm() : nothing}
      ${c ? this.renderAssignments(c) : nothing}
    `;
  }

  private renderForm(): TemplateResult {
    const d = this.draft;
    const set = (patch: Partial<Draft>) => (this.draft = { ...this.draft, ...patch });
    const input = (label: string, value: string, onInput: (v: string) => void, o: { id?: string; disabled?: boolean; placeholder?: string } = {}) =>
      html`<label for=${o.id ?? label}>${label}</label><input type="text" id=${o.id ?? label} aria-label=${label} .value=${value} ?disabled=${o.disabled}
        placeholder=${o.placeholder ?? ""} @input=${(e: Event) => onInput((e.target as HTMLInputElement).value)} />`;
    return html`<section data-product-form>
      <h2>${d.existing ? `Edit ${d.id}` : "New product"}</h2>
      <div class="form">
        ${input("id", d.id, (v) => set({ id: v }), { disabled: d.existing, placeholder: "crisps-salt" })}
        ${LANGS.map(([lang, label]) => input(`name (${label})`, d.names[lang] ?? "", (v) => set({ names: { ...this.draft.names, [lang]: v } }), { id: `name-${lang}`, placeholder: lang === "en" ? "required" : "falls back to English" }))}
        ${input("icon", d.icon, (v) => set({ icon: v }), { placeholder: "an emoji, shown without a picture" })}
        <label for="price">price</label>
        <span class="inline"><select aria-label="price unit" .value=${d.unit} @change=${(e: Event) => set({ unit: (e.target as HTMLSelectElement).value })}>
            ${UNITS.map((u) => html`<option value=${u} ?selected=${u === d.unit}>${u}</option>`)}</select>
          <input type="text" id="price" aria-label="price" .value=${d.amount} placeholder=${d.unit === "sat" ? "1500" : "1.50"}
            @input=${(e: Event) => set({ amount: (e.target as HTMLInputElement).value })} /></span>
        <label for="picture">picture</label>
        <span class="inline">${thumb(d.picture, 96, d.icon || null)}
          <input type="file" id="picture" aria-label="picture" accept="image/jpeg,image/png,image/webp,image/avif,image/heic,image/gif" @change=${(e: Event) => void this.onFile(e)} />
          ${d.picture ? html`<button @click=${() => set({ picture: null })}>Remove</button>` : nothing}
          <span class="muted" data-upload-info>${this.uploadInfo}</span></span>
      </div>
      <p><button class="primary" ?disabled=${this.busy} @click=${() => void this.save()}>Save</button>
        ${d.existing || d.id ? html`<button @click=${() => ((this.draft = emptyDraft()), (this.uploadInfo = ""))}>Cancel</button>` : nothing}</p>
    </section>`;
  }

  private renderAssignments(c: CatalogResponse): TemplateResult {
    const machines = [...this.machines.values()].sort((a, b) => a.id.localeCompare(b.id));
    const of = new Map(c.assignments.map((a) => [`${a.machineId}/${a.slot}`, a.product]));
    return html`<section>
      <h2>Slots</h2>
      <p class="muted">Each slot (or MDB selection) shows its product's names, picture and price; a change is sent to the machine as a new signed desired state.</p>
      <table>
        <tbody>${machines.map(
          (m) => html`<tr data-machine=${m.id}><td><a href="#/machines/${m.id}">${m.id}</a></td><td><div class="slots">
            ${m.stock.map((s) => {
              const cur = of.get(`${m.id}/${s.slot}`) ?? "";
              return html`<label>${s.slot}
                <select aria-label="${m.id} ${s.slot}" ?disabled=${!this.canEdit || this.busy}
                  @change=${(e: Event) => {
                    const v = (e.target as HTMLSelectElement).value;
                    void this.act(() => catalogApi.assign(m.id, s.slot, v === "" ? null : v), `${m.id} ${s.slot}: ${v || "no product"}`);
                  }}>
                  <option value="" ?selected=${cur === ""}>— (${s.name})</option>
                  ${c.products.map((p) => html`<option value=${p.id} ?selected=${p.id === cur}>${p.names.en}</option>`)}
                </select></label>`;
            })}</div></td></tr>`,
        )}</tbody>
      </table>
    </section>`;
  }
}

if (!customElements.get("zv-fleet-catalog")) customElements.define("zv-fleet-catalog", FleetCatalogView);
