// The reconciliation shared by the crash test and `npm run chaos`: after a campaign of purchases, crashes and faults,
// it compares three independent sources of truth and counts every broken invariant.
//
//   - the sim Lightning node's invoices (`GET /sim/invoices`): what the buyers paid, and what was settled, held or
//     cancelled (refunded). The node is another process; the machine cannot rewrite what it says.
//   - the physical record of each sim board (`ZAPVEND_SIM_PHYSICAL_LOG`, appended by the sim's physics the moment a
//     product leaves a spiral or a pump starts/stops, synchronously, so it survives the SIGKILL of the daemon): what
//     actually came out, independent of the journal's own claims. For an MDB machine the sim VMC writes the same
//     record: the approval it read, and each product it vended (right before its VEND SUCCESS).
//   - each machine's journal (SQLite: orders, order_transitions, inventory, credits), read-only, and the fleet's store
//     (SQLite ledger) for what reached the operator.
//
// "Double vend" is checked against the physical record: each physical outcome is attributed to the order whose
// dispensing window contains it (from the journal's `-> dispensing` transition to the order's next transition, cut
// at the next crash of that daemon, which the campaign records); an order with more than one product (or more than
// one pump run, or more than 1.5x its volume) is a double vend, and a product in no order's window is a vend without
// an order. A second `-> dispensing` transition of one order counts as a double vend too.
import { existsSync, readFileSync } from "node:fs";
import Database from "better-sqlite3";

/**
 * Failure codes of an MDB vend whose approval went out with no result from the VMC: refunded and counted by the
 * machine as possibly given away (the controller's MDB_OUTCOME_UNKNOWN_CODES, order-machine.ts).
 */
export const MDB_OUTCOME_UNKNOWN_CODES = new Set(["MDB_RESULT_UNKNOWN", "MDB_PORT_CLOSED", "VMC_RESULT_TIMEOUT", "VMC_RESET", "VMC_DISABLED", "VMC_TIMEOUT", "VEND_ABORTED"]);

/** LND's base64 r_hash -> hex payment hash. */
export const b64ToHex = (b64) => Buffer.from(b64, "base64").toString("hex");

/** The sim node's invoices, keyed by hex payment hash. */
export function indexInvoices(invoices) {
  const byHash = new Map();
  for (const inv of invoices) byHash.set(b64ToHex(inv.r_hash), { state: inv.state, amtPaidMsat: BigInt(inv.amt_paid_msat ?? "0"), valueMsat: BigInt(inv.value_msat ?? "0") });
  return byHash;
}

/** One machine's journal, read-only: orders with their transitions, the inventory, the credits. */
export function readJournal(dbPath) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const orders = db.prepare("SELECT order_id, slot, kind, volume_ml, state, payment_hash, hold, evidence, failure, credit_id, bolt11, created_at FROM orders").all();
    const transitions = db.prepare("SELECT seq, order_id, from_state, to_state, at, note FROM order_transitions ORDER BY seq").all();
    const inventory = Object.fromEntries(db.prepare("SELECT slot, stock FROM inventory").all().map((r) => [r.slot, r.stock]));
    const credits = new Set(db.prepare("SELECT order_id FROM credits").all().map((r) => r.order_id));
    // MDB: approved vends whose result was never read, refunded and counted as possibly given away.
    const unconfirmed = db.prepare("SELECT value FROM settings WHERE key = 'mdb_unconfirmed_vends'").get();
    return { orders, transitions, inventory, credits, unconfirmedVends: Number(unconfirmed?.value ?? 0) };
  } finally {
    db.close();
  }
}

/** The physical record: one JSON object per line; a torn last line (a crash mid-write) is ignored. */
export function readPhysical(file) {
  if (!file || !existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // torn line
    }
  }
  return out;
}

/** The fleet's ledger rows for one machine, read-only. */
export function readFleetLedger(fleetDbPath, machineId) {
  if (!fleetDbPath || !existsSync(fleetDbPath)) return null;
  const db = new Database(fleetDbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT kind, order_id, payment_hash, event_id FROM ledger WHERE machine_id = ?").all(machineId);
  } finally {
    db.close();
  }
}

/**
 * Whether the system has settled down enough to reconcile: no payment held, no order open past pending, and (when
 * a fleet is given) every completed order's sale in the fleet ledger. Returns `{quiet, why}`.
 */
export function quietness({ invoices, machines, fleetDbPath }) {
  const byHash = indexInvoices(invoices);
  const why = [];
  const accepted = [...byHash.values()].filter((i) => i.state === "ACCEPTED").length;
  if (accepted > 0) why.push(`${accepted} payments still held at the node`);
  for (const m of machines) {
    if (!existsSync(m.dbPath)) continue;
    const j = readJournal(m.dbPath);
    const open = j.orders.filter((o) => o.state === "held" || o.state === "dispensing").length;
    if (open > 0) why.push(`${m.machineId}: ${open} orders held or dispensing`);
    const paidPending = j.orders.filter((o) => o.state === "pending" && ["ACCEPTED", "SETTLED"].includes(byHash.get(o.payment_hash)?.state)).length;
    if (paidPending > 0) why.push(`${m.machineId}: ${paidPending} paid orders still pending`);
    if (fleetDbPath) {
      const ledger = readFleetLedger(fleetDbPath, m.machineId) ?? [];
      const sold = new Set(ledger.filter((r) => r.kind === "sale").map((r) => r.order_id));
      const unsent = j.orders.filter((o) => o.state === "completed" && !sold.has(o.order_id)).length;
      if (unsent > 0) why.push(`${m.machineId}: ${unsent} sales not yet at the fleet`);
    }
  }
  return { quiet: why.length === 0, why };
}

/**
 * Reconciles one campaign. `machines`: `[{machineId, dbPath, physicalLog, catalog, kills: [epoch ms]}]` where
 * `catalog` is the configured one (initial stock per slot) and `kills` are the moments the campaign SIGKILLed (or
 * stopped) that daemon. Returns the invariant counts, some figures, and `details` (one entry per violation).
 */
export function reconcile({ invoices, machines, fleetDbPath }) {
  const byHash = indexInvoices(invoices);
  const details = [];
  const counts = {
    doubleVends: 0,
    productsWithoutOrder: 0,
    settledWithoutEvidence: 0,
    paidWithoutOutcome: 0,
    completedNotSettled: 0,
    stockMismatches: 0,
    stockVsPhysical: 0,
    givenAwayUncounted: 0,
    fleetMissing: 0,
    fleetDuplicated: 0,
    fleetPhantom: 0,
  };
  const figures = { orders: 0, paid: 0, completed: 0, refunded: 0, credited: 0, expired: 0, products: 0, pumpRuns: 0, productsRefunded: 0, stockDrift: 0, unconfirmedVends: 0 };
  const seenHashes = new Set();
  const bad = (kind, machineId, info) => {
    counts[kind]++;
    details.push({ invariant: kind, machineId, ...info });
  };

  for (const m of machines) {
    const j = readJournal(m.dbPath);
    const physical = readPhysical(m.physicalLog);
    const kills = [...(m.kills ?? [])].sort((a, b) => a - b);
    const products = new Map(m.catalog.map((p) => [p.slot, p]));
    figures.orders += j.orders.length;

    // Dispensing windows from the journal, cut at the next crash of this daemon.
    const bySeq = new Map();
    for (const t of j.transitions) {
      const list = bySeq.get(t.order_id) ?? [];
      list.push(t);
      bySeq.set(t.order_id, list);
    }
    const windows = [];
    for (const [orderId, list] of bySeq) {
      const entries = list.filter((t) => t.to_state === "dispensing" && t.from_state !== "dispensing");
      if (entries.length > 1) bad("doubleVends", m.machineId, { orderId, why: `entered dispensing ${entries.length} times` });
      for (const e of entries) {
        const next = list.find((t) => t.seq > e.seq);
        const kill = kills.find((k) => k >= e.at);
        const end = Math.min(next ? next.at : Infinity, kill ?? Infinity);
        windows.push({ orderId, start: e.at, end });
      }
    }
    const outcome = new Map(); // orderId -> {products, pumpRuns, ml}
    const attribute = (ev) => {
      const w = windows.filter((x) => ev.atMs >= x.start && ev.atMs <= x.end);
      if (w.length !== 1) return null;
      const o = outcome.get(w[0].orderId) ?? { products: 0, pumpRuns: 0, ml: 0 };
      outcome.set(w[0].orderId, o);
      return o;
    };
    for (const ev of physical) {
      if (ev.kind === "product") {
        figures.products++;
        const o = attribute(ev);
        if (o) o.products++;
        else bad("productsWithoutOrder", m.machineId, { event: ev, why: "a product came out outside any order's dispensing window" });
      } else if (ev.kind === "pump-on") {
        figures.pumpRuns++;
        const o = attribute(ev);
        if (o) o.pumpRuns++;
        else bad("productsWithoutOrder", m.machineId, { event: ev, why: "the pump ran outside any order's dispensing window" });
      } else if (ev.kind === "pump-off") {
        const o = attribute(ev);
        if (o) o.ml += ev.ml;
      }
    }

    const completedBySlot = new Map();
    // Products that came out during an order the machine then refunded (a crash between the drop and the evidence
    // write: nothing proves the vend, so the buyer is refunded and the journal keeps the unit).
    const givenAwayBySlot = new Map();
    for (const o of j.orders) {
      seenHashes.add(o.payment_hash);
      const inv = byHash.get(o.payment_hash);
      const out = outcome.get(o.order_id) ?? { products: 0, pumpRuns: 0, ml: 0 };
      const product = products.get(o.slot);
      const came = o.kind === "pour" ? out.pumpRuns : out.products;
      const ref = { orderId: o.order_id, paymentHash: o.payment_hash, slot: o.slot, journal: o.state, node: inv?.state ?? "none", physical: out };
      if (o.state in figures) figures[o.state]++;
      if (inv && (inv.state === "ACCEPTED" || inv.state === "SETTLED" || inv.amtPaidMsat > 0n)) figures.paid++;

      // Double vend, against the physical record.
      const volume = o.volume_ml ?? product?.volumeMl ?? 0;
      if (came > 1 || (o.kind === "pour" && volume > 0 && out.ml > volume * 1.5)) bad("doubleVends", m.machineId, { ...ref, why: "more than one product (or pour) came out for one order" });

      const evidence = o.evidence ? JSON.parse(o.evidence) : null;
      const hasEvidence = Boolean(evidence) && !o.failure;
      // A settled payment needs vend evidence in the journal and a product in the physical record.
      if (inv?.state === "SETTLED") {
        if (!hasEvidence) bad("settledWithoutEvidence", m.machineId, { ...ref, why: "the node settled a payment the journal has no vend evidence for" });
        else if (came < 1) bad("settledWithoutEvidence", m.machineId, { ...ref, why: "the node settled a payment but nothing physically came out" });
        if (o.state !== "completed") bad("paidWithoutOutcome", m.machineId, { ...ref, why: "settled at the node but the order is not completed" });
      }
      // Every payment ends with the product, a refund (cancelled hold) or a credit.
      if (inv?.state === "ACCEPTED") bad("paidWithoutOutcome", m.machineId, { ...ref, why: "the payment is still held at the node" });
      if (o.state === "held" || o.state === "dispensing") bad("paidWithoutOutcome", m.machineId, { ...ref, why: "the order never reached an outcome" });
      if (o.state === "credited" && !j.credits.has(o.order_id)) bad("paidWithoutOutcome", m.machineId, { ...ref, why: "credited without a credit row" });
      if (o.state === "refunded" && inv && inv.state !== "CANCELED") bad("paidWithoutOutcome", m.machineId, { ...ref, why: "refunded in the journal, not cancelled at the node" });
      if (o.state === "completed") {
        if (o.hold && inv?.state !== "SETTLED") bad("completedNotSettled", m.machineId, { ...ref, why: "completed in the journal but the node never settled it" });
        if (!hasEvidence) bad("settledWithoutEvidence", m.machineId, { ...ref, why: "completed without vend evidence" });
        completedBySlot.set(o.slot, (completedBySlot.get(o.slot) ?? 0) + 1);
      }
      if ((o.state === "refunded" || o.state === "expired" || o.state === "credited") && came > 0) {
        figures.productsRefunded += came;
        givenAwayBySlot.set(o.slot, (givenAwayBySlot.get(o.slot) ?? 0) + came);
        // MDB: a product the VMC vended for an order that was not completed is one the machine must have counted as
        // possibly given away (an approval whose result it never read: a refund with MDB_RESULT_UNKNOWN after a
        // crash, or with the port closed, a VMC reset, no result in time...).
        const code = o.failure ? JSON.parse(o.failure).code : null;
        if (o.kind === "mdb" && !(o.state === "refunded" && MDB_OUTCOME_UNKNOWN_CODES.has(code))) {
          bad("givenAwayUncounted", m.machineId, { ...ref, code, why: "the VMC vended a product for this order, which was not completed and not counted as possibly given away" });
        }
      }
    }
    // The machine's own count of possibly given-away vends (health's `mdb.unconfirmedVends`) is its refunds of them:
    // vended orders (they entered `dispensing`: the approval went out) refunded with one of those codes.
    const dispensed = new Set(j.transitions.filter((t) => t.to_state === "dispensing").map((t) => t.order_id));
    const unknownRefunds = j.orders.filter((o) => o.kind === "mdb" && o.state === "refunded" && dispensed.has(o.order_id) && o.failure && MDB_OUTCOME_UNKNOWN_CODES.has(JSON.parse(o.failure).code)).length;
    figures.unconfirmedVends += unknownRefunds;
    if (j.unconfirmedVends !== unknownRefunds) {
      bad("givenAwayUncounted", m.machineId, { counted: j.unconfirmedVends, refunds: unknownRefunds, why: "mdb_unconfirmed_vends != vended orders refunded with no result from the VMC" });
    }

    // Stock: what the journal says is left = what was loaded - what was sold with evidence.
    for (const p of m.catalog) {
      const expected = p.stock - (completedBySlot.get(p.slot) ?? 0);
      const actual = j.inventory[p.slot];
      if (actual !== expected) bad("stockMismatches", m.machineId, { slot: p.slot, expected, actual, why: "journal stock != loaded - completed vends" });
    }
    // Stock against what physically left the machine (the sim board's record, which the journal cannot rewrite):
    // a spiral slot holds what was loaded minus the products that fell out of it. The journal may count more only
    // by the products given away with a refund (above): that drift is reported (figures.stockDrift), any other is a
    // violation.
    const outBySlot = new Map();
    for (const ev of physical) if (ev.kind === "product") outBySlot.set(ev.slot, (outBySlot.get(ev.slot) ?? 0) + 1);
    for (const p of m.catalog) {
      if (p.kind !== "spiral") continue;
      const inSlot = p.stock - (outBySlot.get(p.slot) ?? 0);
      const actual = j.inventory[p.slot];
      const givenAway = givenAwayBySlot.get(p.slot) ?? 0;
      figures.stockDrift += actual - inSlot;
      if (actual !== inSlot + givenAway) {
        bad("stockVsPhysical", m.machineId, { slot: p.slot, physicallyLeft: inSlot, journal: actual, givenAway, why: "journal stock != loaded - products physically out (+ products given away with a refund)" });
      }
    }

    // The fleet: every completed order exactly once as a sale, and no sale the machine did not complete.
    if (fleetDbPath) {
      const ledger = readFleetLedger(fleetDbPath, m.machineId) ?? [];
      const sales = new Map();
      for (const r of ledger.filter((x) => x.kind === "sale")) sales.set(r.order_id, (sales.get(r.order_id) ?? 0) + 1);
      const completed = new Set(j.orders.filter((o) => o.state === "completed").map((o) => o.order_id));
      for (const id of completed) if (!sales.has(id)) bad("fleetMissing", m.machineId, { orderId: id, why: "completed at the machine, no sale at the fleet" });
      for (const [id, n] of sales) {
        if (n > 1) bad("fleetDuplicated", m.machineId, { orderId: id, rows: n, why: "one sale recorded more than once at the fleet" });
        if (!completed.has(id)) bad("fleetPhantom", m.machineId, { orderId: id, why: "a sale at the fleet the machine never completed" });
      }
    }
  }

  // A payment to an invoice no journal knows about (the node's own invoices are all the machines').
  for (const [hash, inv] of byHash) {
    if (seenHashes.has(hash)) continue;
    if (inv.state === "SETTLED") bad("settledWithoutEvidence", null, { paymentHash: hash, node: inv.state, why: "settled invoice that no journal knows" });
    if (inv.state === "ACCEPTED") bad("paidWithoutOutcome", null, { paymentHash: hash, node: inv.state, why: "held payment that no journal knows" });
  }

  return { counts, figures, details };
}

/** The invariant counts that must all be 0. */
export function violations(counts) {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
