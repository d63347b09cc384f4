import { LitElement, html, nothing, svg, unsafeCSS, type TemplateResult } from "lit";
import type { Catalog, CatalogEntry, HealthResponse, MachineStatusView, Order, OrderState, VendProgress } from "@zapvend/protocol";
import { KioskApiError, MachineClient, MachineConnection, bootOf, creditOf, isOrderLike, takeEarlyStart, type EarlyStart } from "./api.js";
import { canRender, probingStarted, startProbing } from "./glyphs.js";
import { LANGS, LANG_LATIN_NAME, LANG_NAME, formatAge, formatCountdown, formatFiat, formatSats, isLang, t, warmFormats, type Lang, type MessageKey } from "./i18n.js";
import { entryName, pictureStyles, productVisual } from "./product-card.js";
import { KIOSK_CSS } from "./kiosk-css.js";
import { paymentUri, walletLink } from "./qr.js";
import type * as QrCodeModule from "./qr-code.js";
import { baseStyles } from "./styles.js";

type QrCode = typeof QrCodeModule;
/** The QR encoder and the service menu are loaded apart (code splitting): the first paint does not wait for them. */
let qrCode: QrCode | undefined;
let qrLoading: Promise<QrCode> | undefined;
function loadQrCode(): Promise<QrCode> {
  qrLoading ??= import("./qr-code.js").then((m) => (qrCode = m));
  return qrLoading;
}

/** The order as the kiosk follows it: the create answer first, then `GET /api/orders/:id` and WebSocket pushes. */
interface OrderView {
  orderId: string;
  slot: string;
  /** Null when a credit paid the whole price: nothing to scan. */
  bolt11: string | null;
  amountMsat: string;
  expiresAt: number;
  state: OrderState;
  productName: string;
  fiat: { currency: string; amountMinor: number } | null;
  credit: { amountMsat: string } | null;
  /** The credit this order spends, if any, and how much of it the machine applied. */
  usedCreditId: string | null;
  creditAppliedMsat: string | null;
  /** The machine's code of why the order failed (`underpaid`, a vend fault), else null. */
  failureCode: string | null;
  /** `mdb`: the machine's own controller (VMC) vends it; the buyer chose on its keypad. */
  kind?: string;
}

function failureCodeOf(o: Order): string | null {
  const code = (o.failure as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : null;
}

interface Credit {
  creditId: string;
  amountMsat: string;
}

/** The view of an order the kiosk did not create (a reload mid-vend, an invoice paid after a reload). */
function viewOf(o: Order): OrderView {
  return {
    orderId: o.orderId,
    slot: o.slot,
    bolt11: typeof o.bolt11 === "string" ? o.bolt11 : null,
    amountMsat: o.amountMsat,
    expiresAt: o.expiresAt,
    state: o.state,
    productName: o.productName,
    fiat: o.fiat ?? null,
    credit: o.credit ?? null,
    usedCreditId: null,
    creditAppliedMsat: null,
    failureCode: failureCodeOf(o),
    kind: o.kind,
  };
}

/** States in which money is held or the vend is under way: the buyer must see the vend, whatever else is on screen. */
const VENDING_STATES: readonly OrderState[] = ["held", "dispensing"];
/** States of an order worth showing after a reload of the page (never `pending`: no stale QR; never `expired`). */
const SHOWN_AFTER_RELOAD: readonly OrderState[] = ["held", "dispensing", "completed", "refunded", "credited"];

type FailureKind = "refunded" | "credited" | "expired" | "cancelled" | "withdrawn";

type Screen =
  | { name: "catalog"; error?: MessageKey; errorCode?: string; notice?: MessageKey }
  | { name: "creating"; slot: string }
  | { name: "payment"; order: OrderView; paying?: boolean }
  | { name: "vending"; order: OrderView; progress?: VendProgress }
  | { name: "done"; order: OrderView }
  | { name: "failed"; kind: FailureKind; order?: OrderView }
  | { name: "service" };

/**
 * How long the daemon's snapshot in the page (status, catalog, current order as of the page's request) stands in for
 * the WebSocket, ms: a socket that neither opens nor fails by then brings the "connecting" screen back.
 */
const BOOT_TRUST_MS = 5_000;
/** How long the WebSocket waits at most for the first frame of a page served with the daemon's snapshot, ms. */
const FIRST_FRAME_WAIT_MS = 1_000;
/** How long the "take your product" screen stays before the catalog comes back, ms. */
const DONE_SCREEN_MS = 8_000;
/** How long a failure screen stays unless the buyer taps OK, ms. */
const FAILED_SCREEN_MS = 20_000;
/** A credit the buyer leaves untouched this long is forgotten by the screen (the machine keeps its record), ms. */
export const CREDIT_IDLE_MS = 120_000;

/**
 * `<zapvend-kiosk>`: every screen of the machine's touch display. The order's truth is the machine's: the kiosk
 * shows an invoice only while the machine says the order is `pending`, the connection is up, the machine is
 * selling and the invoice has not expired on the kiosk's clock.
 */
export class ZapvendKiosk extends LitElement {
  static override styles = [baseStyles, pictureStyles, unsafeCSS(KIOSK_CSS)];

  private readonly early: EarlyStart | undefined = takeEarlyStart();
  private client = new MachineClient(location.origin, this.early);
  private conn: MachineConnection | undefined;
  private uiLang: Lang = "en";
  private screen: Screen = { name: "catalog" };
  private connected = false;
  private everConnected = false;
  private catalog: Catalog | undefined;
  private status: MachineStatusView | undefined;
  private health: HealthResponse | undefined;
  /** A credit from a failed vend that the next product tap spends; forgotten after CREDIT_IDLE_MS idle or "done". */
  private credit: Credit | undefined;
  private creditTimer: ReturnType<typeof setTimeout> | undefined;
  /** Orders this screen already followed: a reconnect never shows one of them again. */
  private readonly known = new Set<string>();
  /**
   * Whether the machine was asked which order it is vending (`GET /api/orders/current`): until then the first
   * screen is not the catalog, so a reload mid-vend never shows a tappable catalog while the product comes out.
   */
  private currentChecked = false;
  private firstCheck: Promise<void> | undefined;
  /**
   * The screens run on the daemon's snapshot in the page until the WebSocket opens (then its greeting and pushes
   * are the truth) or fails, or BOOT_TRUST_MS passed; a first open then asks for the current order again (an order
   * paid between the page's request and the socket's subscription reaches the screen that way).
   */
  private fromBoot = false;
  private bootRecheck = false;
  private bootTimer: ReturnType<typeof setTimeout> | undefined;
  private marked = false;
  /** The WebSocket waits for the first frame (a page with the daemon's snapshot): see `updated`. */
  private deferredStart = false;
  private startQueued = false;
  private startTimer: ReturnType<typeof setTimeout> | undefined;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private boot: number | undefined;
  private now = Date.now();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private leaveTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last order this kiosk created: updates of other orders are not ours to show. */
  private follow: OrderView | undefined;
  /**
   * False from a lost connection until the machine confirmed the order again: an invoice is shown only while
   * the machine is known to still stand behind it (a restarted daemon may have forgotten or cancelled it).
   */
  private orderConfirmed = true;

  override connectedCallback(): void {
    super.connectedCallback();
    const q = new URLSearchParams(location.search).get("lang");
    // A language this screen has no font for would be boxes from top to bottom: English instead.
    this.setLang(isLang(q) && languageDrawable(q) ? q : "en");
    this.probeTimer = setTimeout(() => this.probeGlyphs(), 3000);
    const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    this.conn = new MachineConnection(wsUrl, {
      onOpen: () => this.onOpen(),
      onClose: () => this.onClose(),
      onMessage: (m) => {
        switch (m.type) {
          case "hello":
            if (this.boot !== undefined && this.boot !== m.boot) void this.refreshOrder();
            this.boot = m.boot;
            break;
          case "status":
            this.onStatus(m.status);
            break;
          case "catalog":
            this.catalog = m.catalog;
            break;
          case "order":
            if (this.follow?.orderId === m.order.orderId) this.onOrder(m.order);
            // The VMC's vend request (the buyer chose on the machine's keypad): its invoice is this screen's to show.
            else if (m.order.kind === "mdb" && m.order.state === "pending") this.adoptVendRequest(m.order);
            // Someone paid an invoice this screen showed before a reload: show that vend.
            else if (VENDING_STATES.includes(m.order.state)) this.adopt(m.order);
            break;
          case "progress":
            if (this.screen.name === "vending" && this.screen.order.orderId === m.orderId) this.screen = { ...this.screen, progress: m.progress };
            break;
          case "pong":
            break;
        }
        this.requestUpdate();
      },
    });
    const boot = bootOf(this.early);
    if (boot) {
      // The page came with the daemon's snapshot: the first render can be the catalog (or the vend under way).
      this.fromBoot = this.bootRecheck = true;
      this.bootTimer = setTimeout(() => {
        this.fromBoot = false;
        this.requestUpdate();
      }, BOOT_TRUST_MS);
      this.catalog = boot.catalog;
      this.status = boot.status;
      this.currentIs(boot.order);
    } else {
      // index.html asked already: when its answer is here, the first screen is decided before the first render.
      let arrived: Order | null | undefined;
      try {
        arrived = this.client.currentOrderIfArrived()?.order;
      } catch (err) {
        this.currentFailed(err);
      }
      if (arrived !== undefined) this.currentIs(arrived);
      else if (!this.currentChecked) this.firstCheck = this.checkCurrent();
    }
    // Only now: a WebSocket index.html already opened replays its open and messages synchronously, and they must
    // find the snapshot applied and the first check started (else the snapshot's recheck on open is skipped, and
    // an order paid between the page's request and the socket never reaches the screen).
    // With the snapshot the first screen needs neither the socket nor the requests its open makes (current order,
    // health): they start once that screen is painted (`updated`), off the first render's critical path.
    // The timer covers a page that draws no frame (hidden): the socket never waits longer than that.
    if (boot) {
      this.deferredStart = true;
      this.startTimer = setTimeout(() => this.startDeferred(), FIRST_FRAME_WAIT_MS);
    } else this.conn.start(this.early);
    this.addEventListener("pointerdown", this.onActivity);
    this.addEventListener("keydown", this.onActivity);
    // A clock for the countdown and the rate's age; the screens read `this.now`, never Date.now() in render.
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.conn?.stop();
    clearInterval(this.ticker);
    clearTimeout(this.leaveTimer);
    clearTimeout(this.creditTimer);
    clearTimeout(this.bootTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.startTimer);
    this.deferredStart = this.startQueued = false;
    this.removeEventListener("pointerdown", this.onActivity);
    this.removeEventListener("keydown", this.onActivity);
  }

  /** Any touch keeps a credit alive. */
  private readonly onActivity = (): void => {
    if (this.credit) this.keepCredit(this.credit);
  };

  private keepCredit(credit: Credit): void {
    this.credit = credit;
    clearTimeout(this.creditTimer);
    this.creditTimer = setTimeout(() => this.forgetCredit(), CREDIT_IDLE_MS);
    this.requestUpdate();
  }

  private forgetCredit(): void {
    this.credit = undefined;
    clearTimeout(this.creditTimer);
    this.requestUpdate();
  }

  /** Asks the machine for the order it is vending; shows it instead of the catalog (a reload mid-vend). */
  private async checkCurrent(): Promise<void> {
    try {
      this.currentIs((await this.client.currentOrder()).order);
    } catch (err) {
      this.currentFailed(err);
    }
  }

  private currentIs(order: Order | null): void {
    this.currentChecked = true;
    if (isOrderLike(order) && order.kind === "mdb" && order.state === "pending") this.adoptVendRequest(order);
    else if (isOrderLike(order) && SHOWN_AFTER_RELOAD.includes(order.state)) this.adopt(order);
    this.requestUpdate();
  }

  private currentFailed(err: unknown): void {
    // 404: a daemon without the route: the catalog as before. Unreachable: asked again when the WebSocket opens.
    if (err instanceof KioskApiError && err.status !== 0) this.currentChecked = true;
    this.requestUpdate();
  }

  /** Follows an order this screen did not create, when nothing else is going on (never a pending one: no QR). */
  private adopt(o: Order): void {
    const s = this.screen.name;
    if (this.known.has(o.orderId) || (s !== "catalog" && s !== "done" && s !== "failed")) return;
    this.known.add(o.orderId);
    this.follow = viewOf(o);
    this.conn?.send({ type: "watch", orderId: o.orderId });
    this.onOrder(o);
  }

  /**
   * An MDB machine's order starts at the VMC's keypad, not on this screen: its invoice is shown as soon as the
   * machine announces it (a new vend request replaces whatever screen is up, except the service menu and a vend).
   */
  private adoptVendRequest(o: Order): void {
    const s = this.screen.name;
    // The service menu keeps the screen only while a technician is signed in: a PIN pad left open (the technician
    // went away, or the VMC was not in its service mode) must not hide the buyer's invoice.
    if (this.known.has(o.orderId) || (s === "service" && this.serviceInSession()) || s === "vending") return;
    this.known.add(o.orderId);
    const entry = this.catalog?.products.find((p) => p.slot === o.slot);
    // The selection map's name, else "selection 12" in the buyer's language (the machine's stand-in is English).
    const selection = /^S(\d+)$/.exec(o.slot)?.[1] ?? o.slot;
    this.follow = { ...viewOf(o), productName: entry ? entry.name : this.m("selectionN", { n: selection }) };
    this.orderConfirmed = true;
    this.conn?.send({ type: "watch", orderId: o.orderId });
    this.show({ name: "payment", order: this.follow });
  }

  /** A technician is signed in to the service menu on screen. */
  private serviceInSession(): boolean {
    const menu = this.renderRoot.querySelector("zapvend-service-menu") as { inSession?: boolean } | null;
    return menu?.inSession === true;
  }

  /** True on a machine that is the MDB reader of a VMC: the buyer chooses on the machine's keypad. */
  private get isVmcMachine(): boolean {
    return this.status?.mdb !== undefined;
  }

  private setLang(lang: Lang): void {
    this.uiLang = lang;
    document.documentElement.lang = lang;
    this.requestUpdate();
  }

  private tick(): void {
    this.now = Date.now();
    if (this.screen.name === "payment" && this.now >= this.screen.order.expiresAt) {
      // The invoice expired on our clock: never leave it payable; the machine's word decides what comes next.
      void this.refreshOrder();
    }
    this.requestUpdate();
  }

  private async onOpen(): Promise<void> {
    const reconnect = this.everConnected;
    this.connected = true;
    this.everConnected = true;
    this.fromBoot = false;
    clearTimeout(this.bootTimer);
    const recheck = this.bootRecheck;
    this.bootRecheck = false;
    this.requestUpdate();
    // The order being vended: asked again on every reconnect and after the page's snapshot; at load only when the
    // first ask got no answer.
    const first = this.firstCheck;
    this.firstCheck = undefined;
    const check = reconnect || recheck ? this.checkCurrent() : (first ?? Promise.resolve()).then(() => (this.currentChecked ? undefined : this.checkCurrent()));
    // The WebSocket greeting carries the status and the catalog; health adds what the demo offers (demoWallet, demoBoard).
    const health = this.client.health().then(
      (h) => {
        this.health = h;
        this.onStatus(h);
      },
      () => undefined,
    );
    await Promise.all([check, health, this.refreshOrder()]);
    // With the WebSocket up, the catalog is not held back any longer, answer or not.
    this.currentChecked = true;
    this.requestUpdate();
  }

  private onClose(): void {
    this.connected = false;
    this.fromBoot = false;
    this.orderConfirmed = false;
    this.requestUpdate();
  }

  private onStatus(status: MachineStatusView): void {
    this.status = status;
    if (!status.selling && this.screen.name === "payment" && this.screen.order.state === "pending") {
      // Payments or hardware went away while an invoice was shown: withdraw it (the machine cancels it too).
      const order = this.screen.order;
      this.client.cancel(order.orderId).then((o) => this.onOrder(o), () => undefined);
      this.show({ name: "failed", kind: "withdrawn", order });
    }
  }

  /** The order the screen is about (payment or vend), if any. */
  private currentOrder(): OrderView | undefined {
    const s = this.screen;
    return s.name === "payment" || s.name === "vending" ? this.follow : undefined;
  }

  /** Asks the machine for the order on screen (after a reconnect, an expiry on our clock, a restart). */
  private async refreshOrder(): Promise<void> {
    const order = this.currentOrder();
    if (!order) return;
    try {
      this.onOrder(await this.client.order(order.orderId));
      this.conn?.send({ type: "watch", orderId: order.orderId });
    } catch (err) {
      if (err instanceof KioskApiError && err.status === 404 && this.currentOrder()?.orderId === order.orderId) {
        // The machine does not know this order (it restarted without it): its invoice must not stay on screen.
        this.show({ name: "failed", kind: "withdrawn", order });
      }
    }
  }

  private onOrder(o: Order): void {
    const f = this.follow;
    if (!isOrderLike(o) || !f || f.orderId !== o.orderId) return;
    const view: OrderView = { ...f, state: o.state, expiresAt: o.expiresAt, credit: o.credit ?? null, failureCode: failureCodeOf(o) };
    this.follow = view;
    if (this.connected) this.orderConfirmed = true;
    // A credit is spent once the order it paid is paid for and vending (an unpaid rest expiring leaves it usable).
    if (view.usedCreditId && this.credit?.creditId === view.usedCreditId && o.state !== "pending" && o.state !== "expired") this.forgetCredit();
    const credit = o.state === "credited" ? creditOf(o) : undefined;
    if (credit) this.keepCredit(credit);
    const s = this.screen;
    if (s.name === "service") return;
    switch (o.state) {
      case "pending":
        if (s.name === "payment") this.screen = { ...s, order: view };
        break;
      case "held":
      case "dispensing":
        // Money is held: whatever the screen says now, the buyer must see the vend.
        if (s.name === "vending") this.screen = { ...s, order: view };
        else this.show({ name: "vending", order: view });
        break;
      case "completed":
        this.show({ name: "done", order: view });
        break;
      case "refunded":
      case "credited":
        this.show({ name: "failed", kind: o.state, order: view });
        break;
      case "expired":
        // After a cancel or a withdrawal the buyer was already told that nothing was charged.
        if (s.name === "payment" || s.name === "vending") this.show({ name: "failed", kind: "expired", order: view });
        break;
    }
    this.requestUpdate();
  }

  private show(screen: Screen): void {
    this.screen = screen;
    this.now = Date.now();
    clearTimeout(this.leaveTimer);
    // A notice on the idle screen ("cancelled, nothing was charged") goes as the "take your product" screen does.
    const ms = screen.name === "done" || (screen.name === "catalog" && screen.notice) ? DONE_SCREEN_MS : screen.name === "failed" ? FAILED_SCREEN_MS : 0;
    if (ms) this.leaveTimer = setTimeout(() => this.show({ name: "catalog" }), ms);
    this.requestUpdate();
  }

  /** Opens the service menu once its code is loaded (a custom element upgraded later would lose its properties). */
  private async openService(): Promise<void> {
    try {
      await import("./service-menu.js");
    } catch {
      this.show({ name: "catalog", error: "errGeneric", errorCode: "load_failed" });
      return;
    }
    this.show({ name: "service" });
  }

  private async buy(entry: CatalogEntry): Promise<void> {
    if (this.screen.name !== "catalog") return;
    this.show({ name: "creating", slot: entry.slot });
    const credit = this.credit;
    try {
      const r = await this.client.createOrder(entry.slot, credit?.creditId);
      this.known.add(r.orderId);
      if ((this.screen as Screen).name !== "creating") return;
      const order: OrderView = {
        orderId: r.orderId,
        slot: entry.slot,
        bolt11: r.bolt11,
        amountMsat: r.amountMsat,
        expiresAt: r.expiresAt,
        state: r.state,
        productName: entry.name,
        fiat: entry.fiat,
        credit: null,
        usedCreditId: credit?.creditId ?? null,
        creditAppliedMsat: r.creditAppliedMsat ?? null,
        failureCode: null,
      };
      this.follow = order;
      this.orderConfirmed = true;
      this.conn?.send({ type: "watch", orderId: r.orderId });
      if (order.bolt11 === null) {
        // The credit paid the whole price: no invoice, straight to the vend.
        if (credit) this.forgetCredit();
        this.show({ name: "vending", order });
        await this.refreshOrder();
        return;
      }
      this.show({ name: "payment", order });
      // The order may already have moved on (a fast payment) before we followed it.
      if (r.state !== "pending") await this.refreshOrder();
    } catch (err) {
      const e = err instanceof KioskApiError ? err : new KioskApiError(0, "internal", String(err));
      let key: MessageKey = e.status === 409 ? "errSoldOut" : e.status === 503 ? "errUnavailable" : "errGeneric";
      if (credit && e.code === "credit_in_use") {
        // Another open order (a rest invoice still shown or not yet expired) reserves it: the credit is not gone,
        // so the screen keeps offering it for when that order ends.
        key = "errCreditInUse";
      } else if (credit && e.code.startsWith("credit_")) {
        // credit_not_found / credit_spent / credit_not_supported: this screen stops offering it; the machine's
        // record stays for the operator.
        this.forgetCredit();
        key = e.code === "credit_not_supported" ? "errCreditUnsupported" : "errCreditGone";
      }
      this.show({ name: "catalog", error: key, errorCode: e.code });
    }
  }

  private async cancel(order: OrderView): Promise<void> {
    this.show({ name: "failed", kind: "cancelled", order });
    try {
      // Paid just before the tap: the machine vends, and onOrder shows it.
      this.onOrder(await this.client.cancel(order.orderId));
    } catch {
      // The invoice is gone from the screen either way; the machine expires it.
    }
  }

  /**
   * The buyer backs out of the VMC's vend request on this screen: the machine cancels the invoice and denies the
   * VMC's request (which ends its session), and the screen is back at "choose on the keypad" at once, saying that
   * nothing was charged. Paid just before the tap: the cancel is refused and the vend shows (the order push).
   */
  private async cancelVendRequest(order: OrderView): Promise<void> {
    this.show({ name: "catalog", notice: "vmcCancelled" });
    try {
      this.onOrder(await this.client.cancel(order.orderId));
    } catch {
      // 409: no longer pending (paid, or the VMC gave up first): the order's pushes tell the rest.
    }
  }

  private async demoPay(order: OrderView): Promise<void> {
    if (this.screen.name !== "payment") return;
    this.screen = { ...this.screen, paying: true };
    this.requestUpdate();
    try {
      await this.client.demoPay(order.orderId);
    } catch {
      if (this.screen.name === "payment") this.screen = { ...this.screen, paying: false };
      this.requestUpdate();
    }
  }

  private m(key: MessageKey, vars?: Record<string, string | number>): string {
    return t(this.uiLang, key, vars);
  }

  override render(): TemplateResult {
    if (this.screen.name === "service") {
      return html`<zapvend-service-menu
        .client=${this.client}
        .language=${this.uiLang}
        .demoBoard=${this.health?.demoBoard === true}
        .demoVmc=${this.health?.demoVmc === true}
        .door=${this.status?.door}
        .operatingMode=${this.status?.operatingMode}
        .mdb=${this.status?.mdb}
        @exit=${() => this.show({ name: "catalog" })}
      ></zapvend-service-menu>`;
    }
    if (
      (!this.connected && !this.fromBoot && (!this.everConnected || this.screen.name !== "vending")) ||
      ((!this.currentChecked || !this.catalog) && this.screen.name === "catalog")
    ) {
      // Without the machine nothing on screen can be trusted: no QR, no catalog to tap. Until the WebSocket's
      // greeting brought the catalog, the cheap "connecting" screen too: an empty catalog screen would cost a
      // render and a layout (its header's CJK language names, the footer) on the way to the first products.
      return html`<div class="screen" data-screen="connecting">
        <div class="center" role="status">
          <div class="spinner" aria-hidden="true"></div>
          <p class="big">${this.m(this.everConnected ? "reconnecting" : "connecting")}</p>
        </div>
      </div>`;
    }
    const s = this.screen;
    switch (s.name) {
      case "catalog":
      case "creating":
        if (this.status && !this.status.selling) return this.renderOutOfService();
        if (this.isVmcMachine && s.name === "catalog") return this.renderKeypadIdle(s.error, s.errorCode, s.notice);
        return s.name === "catalog" ? this.renderCatalog(s.error, s.errorCode) : this.renderBusy(this.m("creating"));
      case "payment":
        if (this.status && !this.status.selling) return this.renderOutOfService();
        return this.renderPayment(s.order, s.paying === true);
      case "vending":
        return s.order.kind === "mdb" ? this.renderVmcVending() : this.renderVending(s.progress);
      case "done":
        return html`<div class="screen" data-screen="done">
          <div class="center" role="status">
            <div class="mark" aria-hidden="true">✓</div>
            <p class="big">${this.m("takeProduct")}</p>
            <p>${this.m("thanks")}</p>
            <button class="primary" @click=${() => this.show({ name: "catalog" })}>${this.m("ok")}</button>
          </div>
        </div>`;
      case "failed":
        return this.renderFailed(s.kind, s.order);
    }
  }

  private renderHeader(title: string): TemplateResult {
    return html`<header>
      <h1>${title}</h1>
      <div class="langs row" role="group" aria-label="Language">
        ${LANGS.map((l) => {
          // The language's own name where a font draws it, else its name in Latin letters; a language whose texts no
          // installed font draws is not offered (its screens would be boxes).
          const drawable = languageDrawable(l);
          return html`<button
            lang=${l}
            aria-pressed=${l === this.uiLang ? "true" : "false"}
            ?disabled=${!drawable}
            data-lang-fallback=${canRender(LANG_NAME[l]) ? nothing : "latin"}
            @click=${() => this.setLang(l)}
          >
            ${canRender(LANG_NAME[l]) ? LANG_NAME[l] : LANG_LATIN_NAME[l]}
          </button>`;
        })}
      </div>
    </header>`;
  }

  /**
   * The glyph probes (glyphs.ts) run once the first products are painted (or 3 s after start on a screen without
   * products): then the screen renders again with what the fonts really draw, and a language asked for in the URL that
   * they cannot draw falls back to English. `data-glyphs="probed"` on the element says it is done (tests wait for it).
   */
  private probeGlyphs(): void {
    clearTimeout(this.probeTimer);
    if (probingStarted()) return;
    startProbing();
    if (!languageDrawable(this.uiLang)) this.setLang("en");
    this.setAttribute("data-glyphs", "probed");
    this.requestUpdate();
  }

  /** Opens the WebSocket held back for the first frame (once; a no-op when it was started in connectedCallback). */
  private startDeferred(): void {
    clearTimeout(this.startTimer);
    if (!this.deferredStart) return;
    this.deferredStart = false;
    this.conn?.start(this.early);
  }

  /**
   * The daemon's pre-rendered first screen (first-screen.ts, light DOM) is hidden since the shadow root was attached
   * (it has no slot), and lit's first screen is in its place now, drawn in the same task: the copy goes, with its
   * style, so no second grid remains in the page.
   */
  override firstUpdated(): void {
    for (const copy of this.querySelectorAll(":scope > [data-first-screen]")) copy.remove();
    // A product tapped on the copy before this screen took over: bought now, as if tapped here.
    const tap = this.early?.tap;
    const entry = tap !== undefined && this.screen.name === "catalog" && !this.isVmcMachine ? this.catalog?.products.find((p) => p.slot === tap) : undefined;
    if (entry && buyable(entry)) void this.buy(entry);
  }

  override updated(): void {
    // User Timing for bench/kiosk-first-paint.bench.mjs: the first product cards are in the DOM now, and painted once
    // the frame after this one begins (a task queued from requestAnimationFrame runs after that frame's paint).
    const products = !this.marked && this.renderRoot.querySelector("button[data-slot]") !== null;
    if (products) {
      this.marked = true;
      performance.mark("zapvend:products-rendered");
    }
    // The WebSocket held back for the first screen (a page with the daemon's snapshot) opens after its frame.
    const start = this.deferredStart && !this.startQueued;
    if (start) this.startQueued = true;
    if (!products && !start) return;
    requestAnimationFrame(() =>
      setTimeout(() => {
        if (products) performance.mark("zapvend:products-painted");
        if (start) this.startDeferred();
        if (!products) return;
        this.probeGlyphs();
        // Ready before a product is tapped.
        void loadQrCode();
        // ICU's start-up (the first Intl.NumberFormat, whatever the locale) now, after the first paint, not at the
        // first language switch or currency without a fast path.
        setTimeout(() => warmFormats(this.uiLang, this.catalog?.products.find((p) => p.fiat)?.fiat?.currency), 0);
      }, 0),
    );
  }

  private renderFooter(): TemplateResult {
    const rate = this.catalog?.rate;
    return html`<footer>
      <span class="grow" data-rate
        >${rate ? this.m("rateAge", { source: rate.source, age: formatAge(this.uiLang, this.now - rate.fetchedAt) }) : nothing}</span
      >
      <span>${this.catalog?.machineId ?? ""}</span>
      <button aria-label=${this.m("service")} @click=${() => this.openService()}>⚙ ${this.m("service")}</button>
    </footer>`;
  }

  private renderCatalog(error?: MessageKey, code?: string): TemplateResult {
    const products = (this.catalog?.products ?? []).filter((p) => p.enabled || p.soldOut);
    return html`<div class="screen" data-screen="catalog">
      ${this.renderHeader(this.m("choose"))}
      ${error ? html`<p class="banner" role="alert">${this.m(error, { code: code ?? "" })}</p>` : nothing}
      ${this.credit
        ? html`<div class="credit" role="status" data-credit>
            <span>${this.m("creditBanner", { amount: formatSats(this.uiLang, this.credit.amountMsat) })}</span>
            <button data-credit-done @click=${() => this.forgetCredit()}>${this.m("done")}</button>
          </div>`
        : nothing}
      <div class="grid">${products.map((p) => this.renderProduct(p))}</div>
      ${this.renderFooter()}
    </div>`;
  }

  private renderProduct(p: CatalogEntry): TemplateResult {
    // The fleet's picture (lazy, sized) or the icon; the name in the buyer's language (product-card.ts).
    return html`<button class="product" data-slot=${p.slot} ?disabled=${!buyable(p)} @click=${() => this.buy(p)}>
      <span class="top"
        >${productVisual(p, () => this.requestUpdate())}<span class="name" data-name>${entryName(p, this.uiLang)}${p.volumeMl ? html` <span class="muted">${p.volumeMl} ml</span>` : nothing}</span></span>
      ${p.soldOut || p.stock === 0
        ? html`<span class="badge">${this.m("soldOut")}</span>`
        : !p.enabled
          ? html`<span class="badge">${this.m("unavailable")}</span>`
          : p.priceMsat === null
            ? html`<span class="badge">${this.m("noPrice")}</span>`
            : html`<span>
                ${p.fiat ? html`<span class="fiat" data-fiat>${formatFiat(this.uiLang, p.fiat.currency, p.fiat.amountMinor)}</span><br />` : nothing}
                <span class="sats" data-sats>${formatSats(this.uiLang, p.priceMsat)}</span>
              </span>`}
    </button>`;
  }

  /** The idle screen of an MDB machine: the buyer chooses on the machine's own keypad, the invoice comes here. */
  private renderKeypadIdle(error?: MessageKey, code?: string, notice?: MessageKey): TemplateResult {
    return html`<div class="screen" data-screen="keypad">
      ${this.renderHeader(this.m("keypadTitle"))}
      ${error ? html`<p class="banner" role="alert">${this.m(error, { code: code ?? "" })}</p>` : nothing}
      ${notice ? html`<div class="credit" role="status" data-notice><span>${this.m(notice)}</span></div>` : nothing}
      ${this.credit
        ? html`<div class="credit" role="status" data-credit>
            <span>${this.m("creditBanner", { amount: formatSats(this.uiLang, this.credit.amountMsat) })}</span>
            <button data-credit-done @click=${() => this.forgetCredit()}>${this.m("done")}</button>
          </div>`
        : nothing}
      <div class="center" role="status">
        <div class="mark" aria-hidden="true">⌨</div>
        <p class="big">${this.m("keypadTitle")}</p>
        <p>${this.m("keypadBody")}</p>
        ${this.health?.demoVmc ? this.renderDemoKeypad() : nothing}
      </div>
      ${this.renderFooter()}
    </div>`;
  }

  /**
   * The demo only (the sim VMC, `health.demoVmc`): the machine's keypad on screen, one key per selection of the
   * selection map. A real machine's buyer presses the VMC's own keypad.
   */
  private renderDemoKeypad(): TemplateResult {
    const selections = (this.catalog?.products ?? []).map((p) => /^S(\d+)$/.exec(p.slot)?.[1]).filter((n): n is string => n !== undefined);
    return html`<div class="row" data-demo-keypad>
      ${selections.map(
        (n) => html`<button data-demo-select=${n} @click=${() => void this.demoSelect(Number(n))}>${this.m("demoPress", { n })}</button>`,
      )}
    </div>`;
  }

  private async demoSelect(selection: number): Promise<void> {
    try {
      const res = await fetch("/api/demo/vmc", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ select: selection }) });
      if (!res.ok) this.show({ name: "catalog", error: "errGeneric", errorCode: `vmc_${res.status}` });
    } catch {
      this.show({ name: "catalog", error: "errGeneric", errorCode: "vmc_unreachable" });
    }
  }

  private renderVmcVending(): TemplateResult {
    return html`<div class="screen" data-screen="vending">
      <div class="center" role="status" aria-live="polite">
        <div class="spinner" aria-hidden="true"></div>
        <p class="big" data-progress data-vmc>${this.m("vmcVending")}</p>
        ${this.connected || this.fromBoot ? nothing : html`<p class="muted">${this.m("reconnecting")}</p>`}
      </div>
    </div>`;
  }

  private renderBusy(text: string): TemplateResult {
    return html`<div class="screen" data-screen="busy">
      <div class="center" role="status">
        <div class="spinner" aria-hidden="true"></div>
        <p class="big">${text}</p>
      </div>
    </div>`;
  }

  private renderOutOfService(): TemplateResult {
    const st = this.status;
    // The door first: an open door also puts the machine in `service` mode, and "the door is open" says more.
    const reason: MessageKey =
      st?.door === "open"
        ? "reasonDoor"
        : st?.mode === "service" || st?.mode === "maintenance"
          ? "reasonService"
          : st?.payments === "down"
            ? "reasonPayments"
            : st?.mdb && !st.mdb.selling
              ? "reasonVmcOff" // the VMC disabled or reset the reader (out of order, service mode), or the interface is gone
              : st && st.hardware !== "up"
              ? "reasonHardware" // down, or a fault that stops every slot (a stuck drop beam): both stop the sale
              : "reasonUnknown";
    return html`<div class="screen oos" data-screen="out-of-service">
      ${this.renderHeader(this.m("outOfService"))}
      <div class="center" role="status">
        <div class="mark" aria-hidden="true">⛔</div>
        <p class="big">${this.m(reason)}</p>
        <p class="muted">${this.m("comeBack")}</p>
      </div>
      ${this.renderFooter()}
    </div>`;
  }

  private renderPayment(order: OrderView, paying: boolean): TemplateResult {
    const left = order.expiresAt - this.now;
    const live = left > 0 && order.state === "pending" && this.orderConfirmed && order.bolt11 !== null;
    const uri = paymentUri(order.bolt11 ?? "");
    if (live && !qrCode) void loadQrCode().then(() => this.requestUpdate());
    const qr = live && qrCode ? qrCode.qrPath(uri) : undefined;
    return html`<div class="screen" data-screen="payment">
      <div class="pay">
        <div class="qrcol">
          <div class="qr">
            ${qr
              ? html`<svg role="img" aria-label=${this.m("scanToPay")} data-qr=${uri} viewBox="0 0 ${qr.size} ${qr.size}">
                  ${svg`<rect width=${qr.size} height=${qr.size} fill="#fff"></rect><path d=${qr.d} fill="#000"></path>`}
                </svg>`
              : left > 0
                ? html`<div class="spinner" aria-hidden="true"></div>`
                : html`<p class="big" data-expired role="status">${this.m("invoiceExpiring")}</p>`}
          </div>
          ${live ? html`<span>${this.m("scanToPay")}</span>` : nothing}
        </div>
        <div class="side">
          <h2 data-product>${this.iconOf(order)}${this.orderName(order)}</h2>
          <p class="amount" data-amount>${formatSats(this.uiLang, order.amountMsat)}</p>
          ${order.fiat ? html`<p class="fiatbig" data-fiat>${formatFiat(this.uiLang, order.fiat.currency, order.fiat.amountMinor)}</p>` : nothing}
          ${order.creditAppliedMsat
            ? html`<p data-credit-applied>${this.m("creditApplied", { amount: formatSats(this.uiLang, order.creditAppliedMsat) })}</p>`
            : nothing}
          ${live ? html`<p class="countdown" data-countdown role="timer">${this.m("expiresIn", { time: formatCountdown(left) })}</p>` : nothing}
          ${live && this.health?.demoWallet
            ? html`<button class="primary" data-demo-pay ?disabled=${paying} @click=${() => this.demoPay(order)}>
                ${this.m(paying ? "demoPaying" : "demoPay")}
              </button>`
            : nothing}
          ${live ? html`<a class="button" href=${walletLink(order.bolt11 ?? "")}>${this.m("openWallet")}</a>` : nothing}
          <button data-cancel @click=${() => (order.kind === "mdb" ? this.cancelVendRequest(order) : this.cancel(order))}>${this.m("cancel")}</button>
          ${order.kind === "mdb" ? html`<p class="muted" data-keypad-cancel>${this.m("cancelOnKeypad")}</p>` : nothing}
        </div>
      </div>
    </div>`;
  }

  /** The product's icon (the selection map's image) before its name, on an MDB machine's payment screen. */
  private iconOf(order: OrderView): TemplateResult | typeof nothing {
    if (order.kind !== "mdb") return nothing;
    const entry = this.catalog?.products.find((p) => p.slot === order.slot);
    // The fleet's picture where the machine has it (issue #18), else the icon.
    if (entry?.picture) return productVisual(entry, () => this.requestUpdate(), "title");
    const icon = entry?.icon;
    return icon ? html`<span class="icon" aria-hidden="true" data-icon>${icon} </span>` : nothing;
  }

  /** The order's product in the buyer's language, where the catalog has the fleet's names for its slot. */
  private orderName(order: OrderView): string {
    const entry = this.catalog?.products.find((p) => p.slot === order.slot);
    return entry?.names && entry.names.en === order.productName ? entryName(entry, this.uiLang) : order.productName;
  }

  private renderVending(progress?: VendProgress): TemplateResult {
    let text = this.m("paid");
    let bar: TemplateResult | typeof nothing = nothing;
    if (progress?.kind === "pour") {
      const done = Math.min(progress.pouredMl, progress.targetMl);
      text = this.m("pouring", { done: Math.round(done), total: progress.targetMl });
      bar = html`<progress max=${progress.targetMl} .value=${done}></progress>`;
    } else if (progress?.kind === "spiral") {
      text = this.m(progress.phase === "turning" ? "turning" : "waitingDrop");
    }
    return html`<div class="screen" data-screen="vending">
      <div class="center" role="status" aria-live="polite">
        <div class="spinner" aria-hidden="true"></div>
        <p class="big" data-progress>${text}</p>
        ${bar}
        ${this.connected || this.fromBoot ? nothing : html`<p class="muted">${this.m("reconnecting")}</p>`}
      </div>
    </div>`;
  }

  private renderFailed(kind: FailureKind, order?: OrderView): TemplateResult {
    const titles: Record<FailureKind, [MessageKey, MessageKey]> = {
      refunded: ["refundedTitle", "refundedBody"],
      credited: ["creditedTitle", "creditedBody"],
      expired: ["expiredTitle", "expiredBody"],
      cancelled: ["cancelledTitle", "cancelledBody"],
      withdrawn: ["withdrawnTitle", "withdrawnBody"],
    };
    // An underpayment (the wallet sent less than asked) was refunded at once: nothing went wrong with the product.
    const [title, body]: [MessageKey, MessageKey] =
      kind === "refunded" && order?.failureCode === "underpaid" ? ["underpaidTitle", "underpaidBody"] : titles[kind];
    const credit = order?.credit ? formatSats(this.uiLang, order.credit.amountMsat) : order ? formatSats(this.uiLang, order.amountMsat) : "";
    return html`<div class="screen" data-screen="failed" data-kind=${kind}>
      <div class="center" role="alert">
        <div class="mark" aria-hidden="true">${kind === "refunded" || kind === "credited" ? "↩" : "ⓘ"}</div>
        <p class="big">${this.m(title)}</p>
        <p>${this.m(body, { amount: credit })}</p>
        ${kind === "credited" && this.credit
          ? html`<div class="row">
              <button class="primary" data-pick-another @click=${() => this.show({ name: "catalog" })}>${this.m("pickAnother")}</button>
              <button data-credit-done
                @click=${() => {
                  this.forgetCredit();
                  this.show({ name: "catalog" });
                }}
              >${this.m("done")}</button>
            </div>`
          : html`<button class="primary" @click=${() => this.show({ name: "catalog" })}>${this.m("ok")}</button>`}
      </div>
    </div>`;
  }
}

customElements.define("zapvend-kiosk", ZapvendKiosk);

/** A product the buyer can tap: enabled, in stock, priced. */
function buyable(p: CatalogEntry): boolean {
  return p.enabled && !p.soldOut && p.priceMsat !== null && p.stock > 0;
}

/** A language is offered when the fonts draw its texts: its catalog title stands for its script (kana and kanji, hanzi). */
function languageDrawable(lang: Lang): boolean {
  return canRender(t(lang, "choose"));
}
