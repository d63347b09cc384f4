// The crash-safe journal: every order transition is written (and fsynced) before the machine acts on it.
// better-sqlite3 in WAL mode with synchronous=FULL: a committed transaction survives a power cut.
import type Database from "better-sqlite3";
import type { CodedError, FiatAmount, OrderEvidence, OrderState, ProductKind, Rate } from "@zapvend/protocol";

export interface OrderRecord {
  orderId: string;
  slot: string;
  productName: string;
  kind: ProductKind;
  volumeMl: number | null;
  state: OrderState;
  amountMsat: bigint;
  fiat: FiatAmount | null;
  rate: Rate | null;
  paymentHash: string;
  /** The machine's secret for hold invoices; null for plain invoices (the backend keeps it). */
  preimage: string | null;
  /** Empty until the backend returned an invoice that passed verification. */
  bolt11: string;
  hold: boolean;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
  failure: CodedError | null;
  evidence: OrderEvidence | null;
  credit: { creditId: string; amountMsat: bigint } | null;
  /**
   * The credit this order spends (reserved while the order is open) and the part of the price taken from it.
   * `amountMsat` is then only the rest, paid over Lightning (0 when the credit covers the whole price).
   */
  creditUsed: { creditId: string; appliedMsat: bigint } | null;
  /** "lost": the product came out but the hold could no longer be settled (canceled/expired at the node). */
  settlement: "lost" | null;
  /** True while a cancel of this order's hold invoice is still to be confirmed by the backend (retried, also after a restart). */
  cancelPending: boolean;
}

/** A credit the machine granted (a failed vend after a plain payment), with what is left of it. */
export interface CreditRecord {
  creditId: string;
  /** The order whose failed vend granted it. */
  orderId: string;
  /** What was granted, msat. */
  amountMsat: bigint;
  /** What is left to spend, msat. */
  balanceMsat: bigint;
  /** The open order that has it reserved, or null. */
  reservedBy: string | null;
  /** The order that used up the balance, or null while some is left. */
  spentBy: string | null;
}

interface OrderRow {
  order_id: string;
  slot: string;
  product_name: string;
  kind: string;
  volume_ml: number | null;
  state: string;
  amount_msat: string;
  fiat: string | null;
  rate: string | null;
  payment_hash: string;
  preimage: string | null;
  bolt11: string;
  hold: number;
  created_at: number;
  expires_at: number;
  updated_at: number;
  failure: string | null;
  evidence: string | null;
  credit_id: string | null;
  credit_msat: string | null;
  credit_used_id: string | null;
  credit_applied_msat: string | null;
  settlement: string | null;
  cancel_pending: number;
}

interface CreditRow {
  credit_id: string;
  order_id: string;
  amount_msat: string;
  balance_msat: string | null;
  reserved_by: string | null;
  spent_by: string | null;
}

function creditFromRow(r: CreditRow): CreditRecord {
  return {
    creditId: r.credit_id,
    orderId: r.order_id,
    amountMsat: BigInt(r.amount_msat),
    balanceMsat: BigInt(r.balance_msat ?? r.amount_msat),
    reservedBy: r.reserved_by,
    spentBy: r.spent_by,
  };
}

const MIGRATIONS = [
  `CREATE TABLE orders (
     order_id TEXT PRIMARY KEY,
     slot TEXT NOT NULL,
     product_name TEXT NOT NULL,
     kind TEXT NOT NULL,
     volume_ml INTEGER,
     state TEXT NOT NULL,
     amount_msat TEXT NOT NULL,
     fiat TEXT,
     rate TEXT,
     payment_hash TEXT NOT NULL UNIQUE,
     preimage TEXT,
     bolt11 TEXT NOT NULL DEFAULT '',
     hold INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     failure TEXT,
     evidence TEXT,
     credit_id TEXT UNIQUE,
     credit_msat TEXT
   );
   CREATE INDEX orders_state ON orders(state);
   CREATE TABLE order_transitions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     order_id TEXT NOT NULL REFERENCES orders(order_id),
     from_state TEXT,
     to_state TEXT NOT NULL,
     at INTEGER NOT NULL,
     note TEXT
   );
   CREATE TABLE inventory (
     slot TEXT PRIMARY KEY,
     stock INTEGER NOT NULL CHECK (stock >= 0)
   );
   CREATE TABLE credits (
     credit_id TEXT PRIMARY KEY,
     order_id TEXT NOT NULL,
     amount_msat TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     spent_by TEXT
   );`,
  // 2: the machine's mode survives a restart; credits are spendable (a balance, reserved by at most one open
  // order); an order records the credit it spends, a lost settlement, and a hold cancel still to be confirmed.
  `CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   ALTER TABLE credits ADD COLUMN balance_msat TEXT;
   UPDATE credits SET balance_msat = CASE WHEN spent_by IS NULL THEN amount_msat ELSE '0' END;
   ALTER TABLE credits ADD COLUMN reserved_by TEXT;
   ALTER TABLE orders ADD COLUMN credit_used_id TEXT;
   ALTER TABLE orders ADD COLUMN credit_applied_msat TEXT;
   ALTER TABLE orders ADD COLUMN settlement TEXT;
   ALTER TABLE orders ADD COLUMN cancel_pending INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX orders_updated_at ON orders(updated_at);
   CREATE INDEX orders_cancel_pending ON orders(cancel_pending) WHERE cancel_pending = 1;`,
  // 3: the faults that take a slot or the whole machine out of sale survive a restart (a jammed spiral after a
  // power cut must not take the next buyer's money for a vend that cannot work). `scope` is `slot` (key: the
  // slot) or `machine` (key: the fault code of a part every slot shares), or `hardware` (key: `code:slot`): a fault
  // the hardware found on its own while nothing vended, announced to the fleet, whose end must be announced too.
  `CREATE TABLE latched_faults (
     scope TEXT NOT NULL CHECK (scope IN ('slot', 'machine', 'hardware')),
     key TEXT NOT NULL,
     fault TEXT NOT NULL,
     raised_at INTEGER NOT NULL,
     PRIMARY KEY (scope, key)
   );`,
];

/**
 * Where a latched fault applies: one slot, or every slot (a shared part, keyed by its fault code); or a fault the
 * hardware raised while idle that the fleet was told about (keyed by `code:slot`).
 */
export type FaultScope = "slot" | "machine" | "hardware";

/** Opens (and migrates) the journal tables in a database the caller owns; the bridge's outbox shares it. */
export function openJournalDb(db: Database.Database): void {
  db.pragma("journal_mode = WAL");
  // FULL: every commit is fsynced, so a transition the machine acted on is never lost to a power cut.
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.exec("CREATE TABLE IF NOT EXISTS controller_schema (version INTEGER NOT NULL)");
  const row = db.prepare("SELECT version FROM controller_schema").get() as { version: number } | undefined;
  const current = row?.version ?? 0;
  if (current === MIGRATIONS.length) return;
  if (current > MIGRATIONS.length) {
    throw new Error(`the journal is at schema version ${current}, newer than this software (${MIGRATIONS.length}): install the newer release again`);
  }
  db.transaction(() => {
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    if (!row) db.prepare("INSERT INTO controller_schema (version) VALUES (?)").run(MIGRATIONS.length);
    else db.prepare("UPDATE controller_schema SET version = ?").run(MIGRATIONS.length);
  })();
}

function fromRow(r: OrderRow): OrderRecord {
  return {
    orderId: r.order_id,
    slot: r.slot,
    productName: r.product_name,
    kind: r.kind as ProductKind,
    volumeMl: r.volume_ml,
    state: r.state as OrderState,
    amountMsat: BigInt(r.amount_msat),
    fiat: r.fiat ? (JSON.parse(r.fiat) as FiatAmount) : null,
    rate: r.rate ? (JSON.parse(r.rate) as Rate) : null,
    paymentHash: r.payment_hash,
    preimage: r.preimage,
    bolt11: r.bolt11,
    hold: r.hold === 1,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    updatedAt: r.updated_at,
    failure: r.failure ? (JSON.parse(r.failure) as CodedError) : null,
    evidence: r.evidence ? (JSON.parse(r.evidence) as OrderEvidence) : null,
    credit: r.credit_id && r.credit_msat ? { creditId: r.credit_id, amountMsat: BigInt(r.credit_msat) } : null,
    creditUsed: r.credit_used_id && r.credit_applied_msat ? { creditId: r.credit_used_id, appliedMsat: BigInt(r.credit_applied_msat) } : null,
    settlement: r.settlement === "lost" ? "lost" : null,
    cancelPending: r.cancel_pending === 1,
  };
}

/** Typed access to the journal tables. Every method is synchronous so callers can compose them in one transaction. */
export class Journal {
  private readonly stmts;

  constructor(readonly db: Database.Database) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO orders (order_id, slot, product_name, kind, volume_ml, state, amount_msat, fiat, rate,
        payment_hash, preimage, bolt11, hold, created_at, expires_at, updated_at, credit_used_id, credit_applied_msat)
        VALUES (@order_id, @slot, @product_name, @kind, @volume_ml, @state, @amount_msat, @fiat, @rate, @payment_hash,
        @preimage, @bolt11, @hold, @created_at, @expires_at, @updated_at, @credit_used_id, @credit_applied_msat)`),
      get: db.prepare("SELECT * FROM orders WHERE order_id = ?"),
      byHash: db.prepare("SELECT * FROM orders WHERE payment_hash = ?"),
      open: db.prepare("SELECT * FROM orders WHERE state IN ('pending','held','dispensing') ORDER BY created_at"),
      recent: db.prepare("SELECT * FROM orders ORDER BY created_at DESC LIMIT ?"),
      transition: db.prepare("INSERT INTO order_transitions (order_id, from_state, to_state, at, note) VALUES (?, ?, ?, ?, ?)"),
      update: db.prepare(`UPDATE orders SET state = @state, updated_at = @updated_at, bolt11 = @bolt11, payment_hash = @payment_hash,
        failure = @failure, evidence = @evidence, credit_id = @credit_id, credit_msat = @credit_msat, settlement = @settlement,
        cancel_pending = @cancel_pending WHERE order_id = @order_id`),
      cancelPending: db.prepare("SELECT * FROM orders WHERE cancel_pending = 1 ORDER BY updated_at"),
      vending: db.prepare("SELECT * FROM orders WHERE state IN ('held','dispensing') ORDER BY created_at DESC LIMIT 1"),
      recentFinal: db.prepare(
        `SELECT * FROM orders WHERE updated_at >= ? AND state IN ('completed','refunded','credited','expired')
         AND (bolt11 <> '' OR credit_used_id IS NOT NULL) ORDER BY updated_at DESC LIMIT 1`,
      ),
      getSetting: db.prepare("SELECT value FROM settings WHERE key = ?"),
      setSetting: db.prepare("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      latchFault: db.prepare(
        "INSERT INTO latched_faults (scope, key, fault, raised_at) VALUES (?, ?, ?, ?) ON CONFLICT(scope, key) DO UPDATE SET fault = excluded.fault, raised_at = excluded.raised_at",
      ),
      unlatchFault: db.prepare("DELETE FROM latched_faults WHERE scope = ? AND key = ?"),
      latchedFaults: db.prepare("SELECT scope, key, fault FROM latched_faults ORDER BY raised_at"),
      updateCredit: db.prepare("UPDATE credits SET balance_msat = @balance_msat, reserved_by = @reserved_by, spent_by = @spent_by WHERE credit_id = @credit_id"),
      // A vend whose product came out (evidence, no failure) took its unit off the stock in that same transaction:
      // while its payment is being settled it holds nothing back any more, or the unit would count twice.
      reserved: db.prepare(
        `SELECT count(*) AS n FROM orders WHERE slot = ? AND (state IN ('pending','held')
         OR (state = 'dispensing' AND (evidence IS NULL OR failure IS NOT NULL)))`,
      ),
      stock: db.prepare("SELECT stock FROM inventory WHERE slot = ?"),
      setStock: db.prepare("INSERT INTO inventory (slot, stock) VALUES (?, ?) ON CONFLICT(slot) DO UPDATE SET stock = excluded.stock"),
      insertStockIfMissing: db.prepare("INSERT OR IGNORE INTO inventory (slot, stock) VALUES (?, ?)"),
      decrement: db.prepare("UPDATE inventory SET stock = stock - 1 WHERE slot = ? AND stock > 0"),
      insertCredit: db.prepare("INSERT INTO credits (credit_id, order_id, amount_msat, created_at, balance_msat) VALUES (?, ?, ?, ?, ?)"),
      getCredit: db.prepare("SELECT * FROM credits WHERE credit_id = ?"),
      transitions: db.prepare("SELECT from_state, to_state, at, note FROM order_transitions WHERE order_id = ? ORDER BY seq"),
    };
  }

  insertOrder(o: OrderRecord): void {
    this.stmts.insert.run({
      order_id: o.orderId,
      slot: o.slot,
      product_name: o.productName,
      kind: o.kind,
      volume_ml: o.volumeMl,
      state: o.state,
      amount_msat: o.amountMsat.toString(),
      fiat: o.fiat ? JSON.stringify(o.fiat) : null,
      rate: o.rate ? JSON.stringify(o.rate) : null,
      payment_hash: o.paymentHash,
      preimage: o.preimage,
      bolt11: o.bolt11,
      hold: o.hold ? 1 : 0,
      created_at: o.createdAt,
      expires_at: o.expiresAt,
      updated_at: o.updatedAt,
      credit_used_id: o.creditUsed?.creditId ?? null,
      credit_applied_msat: o.creditUsed ? o.creditUsed.appliedMsat.toString() : null,
    });
    this.stmts.transition.run(o.orderId, null, o.state, o.createdAt, null);
  }

  /** Writes the new state of an order and the transition row; call inside a transaction with the events it causes. */
  saveOrder(o: OrderRecord, from: OrderState, note?: string): void {
    this.stmts.update.run({
      order_id: o.orderId,
      state: o.state,
      updated_at: o.updatedAt,
      bolt11: o.bolt11,
      payment_hash: o.paymentHash,
      failure: o.failure ? JSON.stringify(o.failure) : null,
      evidence: o.evidence ? JSON.stringify(o.evidence) : null,
      credit_id: o.credit?.creditId ?? null,
      credit_msat: o.credit ? o.credit.amountMsat.toString() : null,
      settlement: o.settlement,
      cancel_pending: o.cancelPending ? 1 : 0,
    });
    if (from !== o.state || note) this.stmts.transition.run(o.orderId, from, o.state, o.updatedAt, note ?? null);
  }

  getOrder(orderId: string): OrderRecord | undefined {
    const r = this.stmts.get.get(orderId) as OrderRow | undefined;
    return r && fromRow(r);
  }

  getOrderByHash(paymentHash: string): OrderRecord | undefined {
    const r = this.stmts.byHash.get(paymentHash) as OrderRow | undefined;
    return r && fromRow(r);
  }

  openOrders(): OrderRecord[] {
    return (this.stmts.open.all() as OrderRow[]).map(fromRow);
  }

  /** Final orders whose hold invoice still has to be cancelled (the backend did not confirm yet). */
  cancelPendingOrders(): OrderRecord[] {
    return (this.stmts.cancelPending.all() as OrderRow[]).map(fromRow);
  }

  /** The order being vended (held or dispensing), else the latest one shown to a buyer that ended at or after `sinceMs`. */
  currentOrder(sinceMs: number): OrderRecord | undefined {
    const r = (this.stmts.vending.get() ?? this.stmts.recentFinal.get(sinceMs)) as OrderRow | undefined;
    return r && fromRow(r);
  }

  getSetting(key: string): string | undefined {
    return (this.stmts.getSetting.get(key) as { value: string } | undefined)?.value;
  }

  setSetting(key: string, value: string): void {
    this.stmts.setSetting.run(key, value);
  }

  /** Records a fault that keeps a slot (`key`: the slot) or the machine (`key`: the code) out of sale; call inside the transaction that reports it. */
  latchFault(scope: FaultScope, key: string, fault: CodedError, at: number): void {
    this.stmts.latchFault.run(scope, key, JSON.stringify(fault), at);
  }

  /** The fault was cleared (restock, a test vend that worked, the technician); true when one was latched. */
  unlatchFault(scope: FaultScope, key: string): boolean {
    return this.stmts.unlatchFault.run(scope, key).changes > 0;
  }

  /** Every latched fault, oldest first: what `start()` puts back after a restart. */
  latchedFaults(): Array<{ scope: FaultScope; key: string; fault: CodedError }> {
    return (this.stmts.latchedFaults.all() as Array<{ scope: FaultScope; key: string; fault: string }>).map((r) => ({
      scope: r.scope,
      key: r.key,
      fault: JSON.parse(r.fault) as CodedError,
    }));
  }

  recentOrders(limit: number): OrderRecord[] {
    return (this.stmts.recent.all(limit) as OrderRow[]).map(fromRow);
  }

  transitions(orderId: string): Array<{ from: string | null; to: string; at: number; note: string | null }> {
    return (this.stmts.transitions.all(orderId) as Array<{ from_state: string | null; to_state: string; at: number; note: string | null }>).map(
      (r) => ({ from: r.from_state, to: r.to_state, at: r.at, note: r.note }),
    );
  }

  /** Seeds a slot's stock from the config the first time the machine sees the slot; later the journal is the truth. */
  seedStock(slot: string, stock: number): void {
    this.stmts.insertStockIfMissing.run(slot, stock);
  }

  stock(slot: string): number {
    return (this.stmts.stock.get(slot) as { stock: number } | undefined)?.stock ?? 0;
  }

  setStock(slot: string, stock: number): void {
    this.stmts.setStock.run(slot, stock);
  }

  decrementStock(slot: string): void {
    this.stmts.decrement.run(slot);
  }

  /**
   * Units held back for orders that are open (invoice shown, paid, or vending until the product is out): they cannot
   * be sold twice.
   */
  reserved(slot: string): number {
    return (this.stmts.reserved.get(slot) as { n: number }).n;
  }

  insertCredit(creditId: string, orderId: string, amountMsat: bigint, at: number): void {
    this.stmts.insertCredit.run(creditId, orderId, amountMsat.toString(), at, amountMsat.toString());
  }

  getCredit(creditId: string): CreditRecord | undefined {
    const r = this.stmts.getCredit.get(creditId) as CreditRow | undefined;
    return r && creditFromRow(r);
  }

  /** Writes a credit's balance, reservation and spender; call inside the transaction of the order transition that causes it. */
  updateCredit(c: CreditRecord): void {
    this.stmts.updateCredit.run({
      credit_id: c.creditId,
      balance_msat: c.balanceMsat.toString(),
      reserved_by: c.reservedBy,
      spent_by: c.spentBy,
    });
  }
}
