// The crash-safe journal: every order transition is written (and fsynced) before the machine acts on it.
// better-sqlite3 in WAL mode with synchronous=FULL: a committed transaction survives a power cut.
import type Database from "better-sqlite3";
import type { CodedError, FiatAmount, OrderState, ProductKind, Rate, VendEvidence } from "@zapvend/protocol";

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
  evidence: VendEvidence | null;
  credit: { creditId: string; amountMsat: bigint } | null;
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
];

/** Opens (and migrates) the journal tables in a database the caller owns; the bridge's outbox shares it. */
export function openJournalDb(db: Database.Database): void {
  db.pragma("journal_mode = WAL");
  // FULL: every commit is fsynced, so a transition the machine acted on is never lost to a power cut.
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.exec("CREATE TABLE IF NOT EXISTS controller_schema (version INTEGER NOT NULL)");
  const row = db.prepare("SELECT version FROM controller_schema").get() as { version: number } | undefined;
  const current = row?.version ?? 0;
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
    evidence: r.evidence ? (JSON.parse(r.evidence) as VendEvidence) : null,
    credit: r.credit_id && r.credit_msat ? { creditId: r.credit_id, amountMsat: BigInt(r.credit_msat) } : null,
  };
}

/** Typed access to the journal tables. Every method is synchronous so callers can compose them in one transaction. */
export class Journal {
  private readonly stmts;

  constructor(readonly db: Database.Database) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO orders (order_id, slot, product_name, kind, volume_ml, state, amount_msat, fiat, rate,
        payment_hash, preimage, bolt11, hold, created_at, expires_at, updated_at)
        VALUES (@order_id, @slot, @product_name, @kind, @volume_ml, @state, @amount_msat, @fiat, @rate, @payment_hash,
        @preimage, @bolt11, @hold, @created_at, @expires_at, @updated_at)`),
      get: db.prepare("SELECT * FROM orders WHERE order_id = ?"),
      byHash: db.prepare("SELECT * FROM orders WHERE payment_hash = ?"),
      open: db.prepare("SELECT * FROM orders WHERE state IN ('pending','held','dispensing') ORDER BY created_at"),
      recent: db.prepare("SELECT * FROM orders ORDER BY created_at DESC LIMIT ?"),
      transition: db.prepare("INSERT INTO order_transitions (order_id, from_state, to_state, at, note) VALUES (?, ?, ?, ?, ?)"),
      update: db.prepare(`UPDATE orders SET state = @state, updated_at = @updated_at, bolt11 = @bolt11, payment_hash = @payment_hash,
        failure = @failure, evidence = @evidence, credit_id = @credit_id, credit_msat = @credit_msat WHERE order_id = @order_id`),
      reserved: db.prepare("SELECT count(*) AS n FROM orders WHERE slot = ? AND state IN ('pending','held','dispensing')"),
      stock: db.prepare("SELECT stock FROM inventory WHERE slot = ?"),
      setStock: db.prepare("INSERT INTO inventory (slot, stock) VALUES (?, ?) ON CONFLICT(slot) DO UPDATE SET stock = excluded.stock"),
      insertStockIfMissing: db.prepare("INSERT OR IGNORE INTO inventory (slot, stock) VALUES (?, ?)"),
      decrement: db.prepare("UPDATE inventory SET stock = stock - 1 WHERE slot = ? AND stock > 0"),
      insertCredit: db.prepare("INSERT INTO credits (credit_id, order_id, amount_msat, created_at) VALUES (?, ?, ?, ?)"),
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

  /** Units held back for orders that are open (invoice shown, paid, or vending): they cannot be sold twice. */
  reserved(slot: string): number {
    return (this.stmts.reserved.get(slot) as { n: number }).n;
  }

  insertCredit(creditId: string, orderId: string, amountMsat: bigint, at: number): void {
    this.stmts.insertCredit.run(creditId, orderId, amountMsat.toString(), at);
  }

  getCredit(creditId: string): { creditId: string; orderId: string; amountMsat: bigint; spentBy: string | null } | undefined {
    const r = this.stmts.getCredit.get(creditId) as { credit_id: string; order_id: string; amount_msat: string; spent_by: string | null } | undefined;
    return r && { creditId: r.credit_id, orderId: r.order_id, amountMsat: BigInt(r.amount_msat), spentBy: r.spent_by };
  }
}
