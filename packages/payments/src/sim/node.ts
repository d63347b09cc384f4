// The sim Lightning node: a regtest-like node with its own key, real signed BOLT 11 invoices, LND's invoice state
// machine (OPEN -> ACCEPTED -> SETTLED | CANCELED, invoice expiry, held HTLCs that time out and refund), and a
// wallet that pays like a buyer's phone. It is a product (the demo runs on it), so it behaves like LND where the
// machine can tell the difference, including the ways LND turns payments away.
import { createHash, randomBytes } from "node:crypto";
import type { Network } from "@zapvend/protocol";
import { silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from "../runtime.js";
import { decodeSimInvoice, publicKeyOf, signSimInvoice } from "./codec.js";
import { noFaults, type SimFaultState } from "./faults.js";
import { GrpcCode, LndMessages } from "../backends/lnd-wire.js";
import { SimStateFile, SimStateFileError, type SimStateChange } from "./state-file.js";

export const SimInvoiceState = { OPEN: "OPEN", ACCEPTED: "ACCEPTED", SETTLED: "SETTLED", CANCELED: "CANCELED" } as const;
export type SimInvoiceState = (typeof SimInvoiceState)[keyof typeof SimInvoiceState];

export interface SimHtlc {
  htlcIndex: number;
  amtMsat: bigint;
  acceptHeight: number;
  acceptTimeMs: number;
  resolveTimeMs: number;
  expiryHeight: number;
  state: "ACCEPTED" | "SETTLED" | "CANCELED";
}

export interface SimInvoice {
  paymentHash: string;
  /** Known from the start for a plain invoice; for a hold invoice only once the machine settles it. */
  preimage: string | undefined;
  hold: boolean;
  memo: string;
  valueMsat: bigint;
  expirySec: number;
  cltvExpiry: number;
  createdAtMs: number;
  bolt11: string;
  paymentAddr: string;
  state: SimInvoiceState;
  htlcs: SimHtlc[];
  addIndex: number;
  settleIndex: number;
  settledAtMs: number;
  /** The held amount while ACCEPTED, the paid amount once SETTLED; LND does not lower it on cancel. */
  amtPaidMsat: bigint;
}

export interface SimNodeOptions {
  /** The node's private key, 32 bytes hex. Default: a new random key (a new node identity). */
  nodeKeyHex?: string;
  /** Default "regtest" (invoices `lnbcrt...`). */
  network?: Network;
  alias?: string;
  clock?: Clock;
  logger?: Logger;
  /** A held payment is canceled (the buyer refunded) this many ms after it arrived unless settled. Default 600 000. */
  htlcTimeoutMs?: number;
  /** Final CLTV delta in blocks when the request gives none. Default 80 (LND's). */
  defaultCltvExpiry?: number;
  /** Block height at start. Default 1 000. */
  blockHeight?: number;
  /** The wallet's balance at start, msat. Default 1 BTC. */
  walletBalanceMsat?: bigint;
  /**
   * Keep the node's state in this file (JSON lines, see `state-file.ts`), as LND keeps its database: `start()` loads
   * it (invoices keep their states, held payments stay held until settled, canceled or timed out) and every change is
   * fsynced there before the call that made it returns. A file written by another node key or network is refused.
   * With a file that holds a state, `walletBalanceMsat` and `blockHeight` are the file's. Default: memory only.
   */
  stateFile?: string;
}

/** An RPC refusal, with the gRPC code and LND's words the REST layer turns into an LND error body. */
export class SimRpcError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
    this.name = "SimRpcError";
  }
}

export const SimPayErrorCode = {
  /** The text is not a BOLT 11 invoice, its signature is bad, or it is for another network. */
  BAD_INVOICE: "bad_invoice",
  /** The invoice is not the sim node's: this wallet has no route anywhere else. */
  NO_ROUTE: "no_route",
  /** The wallet refuses an expired invoice (as a phone does). */
  INVOICE_EXPIRED: "invoice_expired",
  /** The node turned the payment away, or canceled it after holding it: nothing was paid. */
  PAYMENT_FAILED: "payment_failed",
  INSUFFICIENT_BALANCE: "insufficient_balance",
  /** The node was stopped while the payment was in flight. */
  STOPPED: "stopped",
} as const;
export type SimPayErrorCode = (typeof SimPayErrorCode)[keyof typeof SimPayErrorCode];

export class SimPayError extends Error {
  constructor(
    readonly code: SimPayErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "SimPayError";
  }
}

export interface SimPayOptions {
  /** For an invoice without an amount; otherwise ignored. */
  amountMsat?: bigint;
}

export interface SimPayResult {
  paymentHash: string;
  preimage: string;
  amountMsat: bigint;
  /** With the `payTwice` fault: how the node answered the second attempt. */
  secondAttempt?: { ok: boolean; error?: string };
}

export interface SimWalletPayment {
  paymentHash: string;
  amountMsat: bigint;
  status: "in_flight" | "succeeded" | "failed";
  startedAtMs: number;
  error?: string;
}

/** What a stream subscriber is told: a new state of the invoice, or that the node dropped every stream. */
export interface SimSubscriber {
  send(invoice: SimInvoice): void;
  restart(): void;
}

interface Waiter {
  resolve(preimage: string): void;
  reject(err: SimPayError): void;
  amtMsat: bigint;
}

export class SimLightningNode {
  readonly pubkey: string;
  readonly network: Network;
  readonly alias: string;
  blockHeight: number;

  private readonly privateKey: Uint8Array;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly htlcTimeoutMs: number;
  private readonly defaultCltvExpiry: number;
  private readonly invoices = new Map<string, SimInvoice>();
  private readonly timers = new Map<string, TimerHandle[]>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly subscribers = new Map<string, Set<SimSubscriber>>();
  private readonly payments: SimWalletPayment[] = [];
  private faultState: SimFaultState = noFaults();
  private readonly faultListeners = new Set<() => void>();
  private addIndex = 0;
  private settleIndex = 0;
  private htlcIndex = 0;
  private balanceMsat: bigint;
  private stopped = false;
  private started = false;
  private readonly store: SimStateFile | undefined;

  constructor(opts: SimNodeOptions = {}) {
    const key = opts.nodeKeyHex ?? randomBytes(32).toString("hex");
    if (!/^[0-9a-f]{64}$/.test(key)) throw new RangeError("nodeKeyHex must be 32 bytes as 64 lower-case hex digits");
    this.privateKey = Uint8Array.from(Buffer.from(key, "hex"));
    this.pubkey = publicKeyOf(this.privateKey);
    this.network = opts.network ?? "regtest";
    this.alias = opts.alias ?? "zapvend-sim";
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.htlcTimeoutMs = opts.htlcTimeoutMs ?? 600_000;
    this.defaultCltvExpiry = opts.defaultCltvExpiry ?? 80;
    this.blockHeight = opts.blockHeight ?? 1_000;
    this.balanceMsat = opts.walletBalanceMsat ?? 100_000_000_000n;
    this.store = opts.stateFile ? new SimStateFile(opts.stateFile) : undefined;
  }

  /**
   * Loads the state file (without one there is nothing to do, and calling this is optional), compacts it and opens
   * it for the changes to come; re-arms the timers of what it holds: an open invoice still expires at its expiry, a
   * held payment still times out `htlcTimeoutMs` after it arrived. Throws a `SimStateFileError` for a file that is
   * not this node's, is damaged before its last line, or is held by another running node (then the node is not
   * started and `start()` may be called again).
   */
  start(): void {
    if (this.started) return;
    if (this.stopped) throw new Error("SimLightningNode: stopped; make a new node (with the same state file) instead");
    if (this.store) {
      this.store.lock();
      try {
        this.load(this.store);
      } catch (err) {
        // Refused (another node holds the file, or it is not this node's): nothing taken, the file let go of.
        this.store.close();
        throw err;
      }
    }
    this.started = true;
  }

  private load(store: SimStateFile): void {
    const loaded = store.read();
    if (loaded) {
      const { header, state, records, tornLine } = loaded;
      if (header.pubkey !== this.pubkey || header.network !== this.network) {
        throw new SimStateFileError(
          `${store.file} is the state of node ${header.pubkey} on ${header.network}, not of this node ${this.pubkey} on ${this.network} (a different --node-key-file?)`,
        );
      }
      if (tornLine) this.log.warn("state file: a torn last record was skipped (the node was killed while writing it)", { file: store.file });
      for (const inv of state.invoices) {
        this.invoices.set(inv.paymentHash, inv);
        this.addIndex = Math.max(this.addIndex, inv.addIndex);
        this.settleIndex = Math.max(this.settleIndex, inv.settleIndex);
        for (const h of inv.htlcs) this.htlcIndex = Math.max(this.htlcIndex, h.htlcIndex + 1);
      }
      const count = state.payments.size === 0 ? 0 : Math.max(...state.payments.keys()) + 1;
      for (let i = 0; i < count; i++) {
        const p = state.payments.get(i);
        if (!p) throw new SimStateFileError(`${store.file}: wallet payment ${i} is missing`);
        // A payment in flight whose HTLC the node no longer holds ended while the node was down (or never arrived).
        const inv = this.invoices.get(p.paymentHash);
        if (p.status === "in_flight" && inv?.state !== "ACCEPTED") {
          p.status = inv?.state === "SETTLED" ? "succeeded" : "failed";
          if (p.status === "failed") p.error = "the node restarted";
        }
        this.payments.push(p);
      }
      if (state.balanceMsat !== undefined) this.balanceMsat = state.balanceMsat;
      if (state.blockHeight !== undefined) this.blockHeight = state.blockHeight;
      const now = this.clock.now();
      for (const inv of this.invoices.values()) {
        if (inv.state === "OPEN") this.armExpiry(inv, inv.createdAtMs + inv.expirySec * 1000 - now);
        if (inv.state === "ACCEPTED") {
          const arrived = Math.min(...inv.htlcs.filter((h) => h.state === "ACCEPTED").map((h) => h.acceptTimeMs));
          this.armHtlcTimeout(inv, (Number.isFinite(arrived) ? arrived : now) + this.htlcTimeoutMs - now);
        }
      }
      const held = [...this.invoices.values()].filter((i) => i.state === "ACCEPTED").length;
      this.log.info("state loaded", { file: store.file, records, invoices: this.invoices.size, held, balanceMsat: this.balanceMsat.toString() });
    }
    store.rewrite(
      { pubkey: this.pubkey, network: this.network },
      { invoices: [...this.invoices.values()], payments: this.payments, balanceMsat: this.balanceMsat, blockHeight: this.blockHeight },
      this.clock.now(),
    );
  }

  // --- faults ------------------------------------------------------------------------------------------------------

  get faults(): Readonly<SimFaultState> {
    return this.faultState;
  }

  /** Sets some faults (the others keep their value). */
  setFaults(f: Partial<SimFaultState>): void {
    this.faultState = { ...this.faultState, ...f };
    this.log.info("faults set", { faults: Object.keys(f) });
    this.faultsChanged();
  }

  clearFaults(): void {
    this.faultState = noFaults();
    this.faultsChanged();
  }

  /** Called after every change of the faults (the server releases stalled requests, drops streams on refuse). */
  onFaultsChanged(fn: () => void): () => void {
    this.faultListeners.add(fn);
    return () => this.faultListeners.delete(fn);
  }

  private faultsChanged(): void {
    for (const fn of [...this.faultListeners]) fn();
  }

  /** Closes every open invoice stream, as a restart of the node does. */
  restartStreams(): void {
    for (const subs of this.subscribers.values()) for (const s of [...subs]) s.restart();
    this.subscribers.clear();
  }

  /** Pushes a notification the node's own lookup contradicts: what a forged "paid" message looks like. */
  forgePush(paymentHash: string, state: "ACCEPTED" | "SETTLED"): void {
    const inv = this.invoices.get(paymentHash);
    const base: SimInvoice = inv ?? this.blankInvoice(paymentHash);
    const forged: SimInvoice = { ...base, state, amtPaidMsat: base.valueMsat, htlcs: [] };
    for (const s of this.subscribers.get(paymentHash) ?? []) s.send(forged);
  }

  // --- the node's RPCs ---------------------------------------------------------------------------------------------

  createHoldInvoice(req: { paymentHash: string; amountMsat: bigint; memo?: string; expirySec?: number; cltvExpiry?: number }): SimInvoice {
    if (!/^[0-9a-f]{64}$/.test(req.paymentHash)) throw new SimRpcError(GrpcCode.INVALID_ARGUMENT, "payment hash must be exactly 32 bytes");
    return this.addInvoice({ ...req, hold: true, preimage: undefined });
  }

  createInvoice(req: { amountMsat: bigint; memo?: string; expirySec?: number; cltvExpiry?: number }): SimInvoice {
    const preimage = randomBytes(32).toString("hex");
    return this.addInvoice({ ...req, paymentHash: sha256Hex(preimage), hold: false, preimage });
  }

  lookup(paymentHash: string): SimInvoice | undefined {
    return this.invoices.get(paymentHash);
  }

  listInvoices(): SimInvoice[] {
    return [...this.invoices.values()];
  }

  /** Settles a held invoice: the machine reveals the preimage, the buyer's payment completes. */
  settle(preimage: string): void {
    this.assertRunning();
    if (!/^[0-9a-f]{64}$/.test(preimage)) throw new SimRpcError(GrpcCode.INVALID_ARGUMENT, "preimage must be exactly 32 bytes");
    const hash = sha256Hex(preimage);
    const inv = this.invoices.get(hash);
    if (!inv) throw new SimRpcError(GrpcCode.UNKNOWN, LndMessages.INVOICE_NOT_FOUND);
    switch (inv.state) {
      case "OPEN":
        throw new SimRpcError(GrpcCode.UNKNOWN, LndMessages.STILL_OPEN);
      case "CANCELED":
        throw new SimRpcError(GrpcCode.UNKNOWN, LndMessages.ALREADY_CANCELED);
      case "SETTLED":
        return; // LND: settling a settled invoice succeeds, so a retry after a lost answer is safe
      case "ACCEPTED":
        break;
    }
    const now = this.clock.now();
    inv.preimage = preimage;
    inv.state = "SETTLED";
    inv.settledAtMs = now;
    inv.settleIndex = ++this.settleIndex;
    for (const h of inv.htlcs) if (h.state === "ACCEPTED") Object.assign(h, { state: "SETTLED", resolveTimeMs: now });
    this.persist({ invoices: [inv], payments: this.resolvePayments(hash, "succeeded") });
    this.clearTimers(hash);
    for (const w of this.waiters.get(hash) ?? []) w.resolve(preimage);
    this.waiters.delete(hash);
    this.log.info("invoice settled", { paymentHash: hash });
    this.notify(inv);
  }

  /** Cancels an open or held invoice; a held payment goes back to the wallet. */
  cancel(paymentHash: string, reason = "canceled by the payee"): void {
    this.assertRunning();
    const inv = this.invoices.get(paymentHash);
    if (!inv) throw new SimRpcError(GrpcCode.UNKNOWN, LndMessages.INVOICE_NOT_FOUND);
    if (inv.state === "SETTLED") throw new SimRpcError(GrpcCode.UNKNOWN, LndMessages.ALREADY_SETTLED);
    if (inv.state === "CANCELED") return;
    this.cancelInvoice(inv, reason);
  }

  /** Adds blocks; held HTLCs whose expiry comes close are canceled, as LND does to avoid a force-close. */
  mineBlocks(n: number): void {
    this.assertRunning();
    this.blockHeight += n;
    this.persist({ blockHeight: this.blockHeight });
    for (const inv of this.invoices.values()) {
      if (inv.state !== "ACCEPTED") continue;
      // LND's default hold-expiry delta: it cancels a held HTLC 12 blocks before it would time out on chain.
      if (inv.htlcs.some((h) => h.state === "ACCEPTED" && h.expiryHeight - this.blockHeight <= 12)) {
        this.cancelInvoice(inv, "HTLC close to its expiry height");
      }
    }
  }

  subscribe(paymentHash: string, sub: SimSubscriber): () => void {
    let set = this.subscribers.get(paymentHash);
    if (!set) this.subscribers.set(paymentHash, (set = new Set()));
    set.add(sub);
    return () => {
      set.delete(sub);
      if (set.size === 0 && this.subscribers.get(paymentHash) === set) this.subscribers.delete(paymentHash);
    };
  }

  /** Sends one message to one subscriber unless the `dropNotifications` fault eats it. */
  deliver(sub: SimSubscriber, inv: SimInvoice): void {
    const drop = this.faultState.dropNotifications;
    if (drop !== 0) {
      if (drop > 0) this.faultState = { ...this.faultState, dropNotifications: drop - 1 };
      this.log.info("notification dropped (fault)", { paymentHash: inv.paymentHash, state: inv.state });
      return;
    }
    sub.send(inv);
  }

  // --- the wallet --------------------------------------------------------------------------------------------------

  get walletBalanceMsat(): bigint {
    return this.balanceMsat;
  }

  walletPayments(): SimWalletPayment[] {
    return this.payments.map((p) => ({ ...p }));
  }

  /**
   * Pays an invoice as a buyer's phone does: resolves with the preimage once the payee settles, rejects with a
   * `SimPayError` when the node turns the payment away or cancels it (the amount comes back to the wallet).
   */
  async pay(bolt11: string, opts: SimPayOptions = {}): Promise<SimPayResult> {
    if (this.stopped) throw new SimPayError(SimPayErrorCode.STOPPED, "the node is stopped");
    this.assertStarted();
    let dec: ReturnType<typeof decodeSimInvoice>;
    try {
      dec = decodeSimInvoice(bolt11);
    } catch (err) {
      throw new SimPayError(SimPayErrorCode.BAD_INVOICE, `not a valid BOLT 11 invoice: ${(err as Error).message}`);
    }
    if (dec.network !== this.network) throw new SimPayError(SimPayErrorCode.BAD_INVOICE, `invoice is for ${dec.network}, this wallet is on ${this.network}`);
    if (dec.payeeNodeKey !== this.pubkey) throw new SimPayError(SimPayErrorCode.NO_ROUTE, "no route to the payee: this wallet reaches only the sim node");
    const expiresAtMs = (dec.timestampSec + dec.expirySec) * 1000;
    if (this.clock.now() >= expiresAtMs && !this.faultState.payAfterExpiry) {
      throw new SimPayError(SimPayErrorCode.INVOICE_EXPIRED, "the invoice has expired");
    }
    let amountMsat = dec.amountMsat ?? opts.amountMsat;
    if (amountMsat === undefined || amountMsat <= 0n) throw new SimPayError(SimPayErrorCode.BAD_INVOICE, "the invoice has no amount; give amountMsat");
    amountMsat += this.faultState.payAmountDeltaMsat;
    if (amountMsat <= 0n) amountMsat = 1n;

    const first = this.sendHtlc(dec.paymentHash, dec.paymentSecret, amountMsat);
    let second: Promise<{ ok: boolean; error?: string }> | undefined;
    if (this.faultState.payTwice) {
      second = this.sendHtlc(dec.paymentHash, dec.paymentSecret, amountMsat).then(
        () => ({ ok: true }),
        (err: unknown) => ({ ok: false, error: (err as Error).message }),
      );
    }
    const preimage = await first;
    const result: SimPayResult = { paymentHash: dec.paymentHash, preimage, amountMsat };
    if (second) result.secondAttempt = await second;
    return result;
  }

  /** Fails everything in flight and clears the timers; the node answers nothing more. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Closed first: what fails below (the wallet's waiting payments) is this process's view, not the node's state.
    this.store?.close();
    for (const hash of [...this.timers.keys()]) this.clearTimers(hash);
    for (const ws of this.waiters.values()) for (const w of ws) w.reject(new SimPayError(SimPayErrorCode.STOPPED, "the node stopped"));
    this.waiters.clear();
    this.restartStreams();
  }

  // --- internals ---------------------------------------------------------------------------------------------------

  private addInvoice(req: {
    paymentHash: string;
    amountMsat: bigint;
    memo?: string;
    expirySec?: number;
    cltvExpiry?: number;
    hold: boolean;
    preimage: string | undefined;
  }): SimInvoice {
    if (this.stopped) throw new SimRpcError(GrpcCode.UNAVAILABLE, LndMessages.STARTING);
    this.assertStarted();
    if (this.invoices.has(req.paymentHash)) throw new SimRpcError(GrpcCode.UNKNOWN, LndMessages.INVOICE_EXISTS);
    if (req.amountMsat < 0n) throw new SimRpcError(GrpcCode.INVALID_ARGUMENT, "amount must not be negative");
    const memo = req.memo ?? "";
    if (Buffer.byteLength(memo) > 639) throw new SimRpcError(GrpcCode.UNKNOWN, "memo too large: 640 bytes (maxsize=639)");
    // LND's defaults: 86 400 s for a hold invoice's expiry and 3 600 s for a plain one.
    const expirySec = req.expirySec && req.expirySec > 0 ? req.expirySec : req.hold ? 86_400 : 3_600;
    const cltvExpiry = req.cltvExpiry && req.cltvExpiry > 0 ? req.cltvExpiry : this.defaultCltvExpiry;
    const now = this.clock.now();
    const paymentAddr = randomBytes(32).toString("hex");
    const bolt11 = signSimInvoice(
      {
        network: this.network,
        amountMsat: req.amountMsat > 0n ? req.amountMsat : null,
        timestampSec: Math.floor(now / 1000),
        paymentHash: req.paymentHash,
        paymentSecret: paymentAddr,
        description: memo,
        expirySec,
        minFinalCltvExpiry: cltvExpiry,
      },
      this.privateKey,
    );
    const inv: SimInvoice = {
      paymentHash: req.paymentHash,
      preimage: req.preimage,
      hold: req.hold,
      memo,
      valueMsat: req.amountMsat,
      expirySec,
      cltvExpiry,
      createdAtMs: now,
      bolt11,
      paymentAddr,
      state: "OPEN",
      htlcs: [],
      addIndex: ++this.addIndex,
      settleIndex: 0,
      settledAtMs: 0,
      amtPaidMsat: 0n,
    };
    // Written before the node knows it: an invoice the file lacks was never answered.
    this.persist({ invoices: [inv] });
    this.invoices.set(inv.paymentHash, inv);
    this.armExpiry(inv, expirySec * 1000);
    this.log.info("invoice added", { paymentHash: inv.paymentHash, hold: inv.hold, amountMsat: inv.valueMsat.toString() });
    // A stream opened for the hash before the invoice existed gets it now, as LND's AddInvoice notifies its
    // single-invoice subscribers (lnd@v0.21.6-beta invoices/invoiceregistry.go AddInvoice -> notifyClients).
    this.notify(inv);
    return inv;
  }

  /** One payment attempt reaching the node, checked as LND's invoice registry checks an incoming HTLC. */
  private sendHtlc(paymentHash: string, paymentSecret: string | undefined, amtMsat: bigint): Promise<string> {
    const payment: SimWalletPayment = { paymentHash, amountMsat: amtMsat, status: "in_flight", startedAtMs: this.clock.now() };
    this.payments.push(payment);
    const fail = (message: string): Promise<string> => {
      payment.status = "failed";
      payment.error = message;
      this.persist({ payments: [payment] });
      return Promise.reject(new SimPayError(SimPayErrorCode.PAYMENT_FAILED, message));
    };
    if (this.balanceMsat < amtMsat) {
      payment.status = "failed";
      payment.error = "insufficient balance";
      this.persist({ payments: [payment] });
      return Promise.reject(new SimPayError(SimPayErrorCode.INSUFFICIENT_BALANCE, "the wallet's balance is too low"));
    }
    const inv = this.invoices.get(paymentHash);
    // LND answers every one of these with incorrect_or_unknown_payment_details, so the payer learns nothing more.
    if (!inv || (paymentSecret !== undefined && paymentSecret !== inv.paymentAddr)) return fail("incorrect or unknown payment details");
    if (inv.state === "OPEN" && this.clock.now() >= inv.createdAtMs + inv.expirySec * 1000) this.cancelInvoice(inv, "expired");
    if (inv.state === "CANCELED") return fail("incorrect or unknown payment details: the invoice is canceled or expired");
    if (inv.state !== "OPEN") return fail("incorrect or unknown payment details: the invoice is already paid");
    if (inv.valueMsat > 0n && amtMsat < inv.valueMsat && !this.faultState.acceptUnderpayment) return fail("incorrect or unknown payment details: amount too low");
    if (inv.valueMsat > 0n && amtMsat > 2n * inv.valueMsat) return fail("incorrect or unknown payment details: amount too high");

    const now = this.clock.now();
    this.balanceMsat -= amtMsat;
    const htlc: SimHtlc = {
      htlcIndex: this.htlcIndex++,
      amtMsat,
      acceptHeight: this.blockHeight,
      acceptTimeMs: now,
      resolveTimeMs: 0,
      expiryHeight: this.blockHeight + inv.cltvExpiry,
      state: "ACCEPTED",
    };
    inv.htlcs.push(htlc);
    inv.amtPaidMsat += amtMsat;
    const done = new Promise<string>((resolve, reject) => {
      const list = this.waiters.get(paymentHash) ?? [];
      list.push({ resolve, reject, amtMsat });
      this.waiters.set(paymentHash, list);
    }).then(
      (preimage) => {
        payment.status = "succeeded";
        return preimage;
      },
      (err: unknown) => {
        payment.status = "failed";
        payment.error = (err as Error).message;
        throw err;
      },
    );
    if (inv.hold) {
      inv.state = "ACCEPTED";
      // Held in the file before anyone hears of it: the machine dispenses on this state.
      this.persist({ invoices: [inv], payments: [payment], balanceMsat: this.balanceMsat });
      this.log.info("payment held", { paymentHash, amtMsat: amtMsat.toString() });
      this.armHtlcTimeout(inv, this.htlcTimeoutMs);
      this.notify(inv);
    } else {
      inv.state = "SETTLED";
      inv.settledAtMs = now;
      inv.settleIndex = ++this.settleIndex;
      htlc.state = "SETTLED";
      htlc.resolveTimeMs = now;
      this.resolvePayments(paymentHash, "succeeded");
      this.persist({ invoices: [inv], payments: [payment], balanceMsat: this.balanceMsat });
      this.clearTimers(paymentHash);
      this.notify(inv);
      const preimage = inv.preimage as string;
      for (const w of this.waiters.get(paymentHash) ?? []) w.resolve(preimage);
      this.waiters.delete(paymentHash);
    }
    return done;
  }

  private cancelInvoice(inv: SimInvoice, reason: string): void {
    const now = this.clock.now();
    inv.state = "CANCELED";
    for (const h of inv.htlcs) {
      if (h.state === "ACCEPTED") {
        h.state = "CANCELED";
        h.resolveTimeMs = now;
        this.balanceMsat += h.amtMsat; // the HTLC fails back: the buyer has the money again
      }
    }
    // LND leaves amt_paid_msat as it was when a held HTLC is canceled (lightningnetwork/lnd#9436); so does the sim,
    // so that a client reading the amount without the state is caught here rather than in the field.
    const message = `the payee canceled the payment (${reason}); nothing was paid`;
    this.persist({ invoices: [inv], payments: this.resolvePayments(inv.paymentHash, "failed", message), balanceMsat: this.balanceMsat });
    this.clearTimers(inv.paymentHash);
    for (const w of this.waiters.get(inv.paymentHash) ?? []) {
      w.reject(new SimPayError(SimPayErrorCode.PAYMENT_FAILED, message));
    }
    this.waiters.delete(inv.paymentHash);
    this.log.info("invoice canceled", { paymentHash: inv.paymentHash, reason });
    this.notify(inv);
  }

  /** Writes a change to the state file (when there is one) before the caller answers anyone about it. */
  private persist(change: Omit<SimStateChange, "payments"> & { payments?: SimWalletPayment[] }): void {
    if (!this.store) return;
    const { payments, ...rest } = change;
    this.store.append({ ...rest, payments: (payments ?? []).map((p) => ({ index: this.payments.indexOf(p), payment: p })) }, this.clock.now());
  }

  /**
   * Ends the wallet's payments in flight to an invoice the node just settled or canceled. Done here rather than only
   * when the waiting `pay()` call hears of it, so that the state file has the outcome too, also for a payment whose
   * caller was lost in a restart.
   */
  private resolvePayments(paymentHash: string, status: "succeeded" | "failed", error?: string): SimWalletPayment[] {
    const ended = this.payments.filter((p) => p.paymentHash === paymentHash && p.status === "in_flight");
    for (const p of ended) {
      p.status = status;
      if (error !== undefined) p.error = error;
    }
    return ended;
  }

  /** An open invoice is canceled when it expires (LND's invoice expiry watcher); a held one is not. */
  private armExpiry(inv: SimInvoice, ms: number): void {
    this.addTimer(inv.paymentHash, () => {
      if (inv.state === "OPEN") this.cancelInvoice(inv, "expired");
    }, Math.max(0, ms));
  }

  private armHtlcTimeout(inv: SimInvoice, ms: number): void {
    this.addTimer(inv.paymentHash, () => {
      if (inv.state === "ACCEPTED") this.cancelInvoice(inv, "the held payment timed out");
    }, Math.max(0, ms));
  }

  /** With a state file, nothing may change before it is loaded: a change would be written over by the load. */
  private assertStarted(): void {
    if (this.store && !this.started) throw new Error("SimLightningNode: start() first (it loads the state file)");
  }

  /** A stopped node changes nothing more (with a state file, its file belongs to the node started after it). */
  private assertRunning(): void {
    if (this.stopped) throw new SimRpcError(GrpcCode.UNAVAILABLE, LndMessages.STARTING);
    this.assertStarted();
  }

  private notify(inv: SimInvoice): void {
    for (const s of [...(this.subscribers.get(inv.paymentHash) ?? [])]) this.deliver(s, inv);
  }

  private addTimer(hash: string, fn: () => void, ms: number): void {
    const list = this.timers.get(hash) ?? [];
    list.push(this.clock.setTimeout(fn, ms));
    this.timers.set(hash, list);
  }

  private clearTimers(hash: string): void {
    for (const t of this.timers.get(hash) ?? []) this.clock.clearTimeout(t);
    this.timers.delete(hash);
  }

  private blankInvoice(paymentHash: string): SimInvoice {
    return {
      paymentHash,
      preimage: undefined,
      hold: true,
      memo: "",
      valueMsat: 0n,
      expirySec: 0,
      cltvExpiry: 0,
      createdAtMs: this.clock.now(),
      bolt11: "",
      paymentAddr: "",
      state: "OPEN",
      htlcs: [],
      addIndex: 0,
      settleIndex: 0,
      settledAtMs: 0,
      amtPaidMsat: 0n,
    };
  }
}

export function sha256Hex(hex: string): string {
  return createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
}
