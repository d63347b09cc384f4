// The sim node with a state file: stopped and made again from the file, it has every invoice in the state it was
// in, a held payment can still be settled or canceled (and still times out when it would have), the wallet has the
// same balance, and a record torn by a crash is skipped. One node per file (a lock beside it).
import { createHash, randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, flush } from "../__fixtures__/manual-clock.js";
import { SimLightningNode, type SimNodeOptions } from "./node.js";
import { SimStateFileError } from "./state-file.js";

const KEY = "22".repeat(32);
const dirs: string[] = [];
const nodes: SimLightningNode[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateFile(): string {
  const d = mkdtempSync(path.join(tmpdir(), "sim-state-"));
  dirs.push(d);
  return path.join(d, "sim-node.state");
}

function newPreimage(): { preimage: string; hash: string } {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, hash: createHash("sha256").update(Buffer.from(preimage, "hex")).digest("hex") };
}

function started(file: string, clock: ManualClock, opts: SimNodeOptions = {}): SimLightningNode {
  const n = new SimLightningNode({ nodeKeyHex: KEY, clock, htlcTimeoutMs: 60_000, stateFile: file, ...opts });
  nodes.push(n);
  n.start();
  return n;
}

/** A payment left running: the restart loses its caller, as a killed node loses the connection. */
function payLater(n: SimLightningNode, bolt11: string) {
  const out: { error?: string; ok?: boolean } = {};
  void n.pay(bolt11).then(
    () => (out.ok = true),
    (e: Error) => (out.error = e.message),
  );
  return out;
}

/** One invoice in every state: open, held, settled (hold), canceled with its payment returned, plain paid. */
async function invoicesInEveryState(n: SimLightningNode) {
  const open = newPreimage();
  const held = newPreimage();
  const settled = newPreimage();
  const canceled = newPreimage();
  n.createHoldInvoice({ paymentHash: open.hash, amountMsat: 10_000n, memo: "open", expirySec: 300 });
  const heldInv = n.createHoldInvoice({ paymentHash: held.hash, amountMsat: 20_000n, memo: "held", expirySec: 300 });
  const settledInv = n.createHoldInvoice({ paymentHash: settled.hash, amountMsat: 30_000n, memo: "settled" });
  const canceledInv = n.createHoldInvoice({ paymentHash: canceled.hash, amountMsat: 40_000n, memo: "canceled" });
  const plain = n.createInvoice({ amountMsat: 50_000n, memo: "plain" });
  const heldPay = payLater(n, heldInv.bolt11);
  payLater(n, settledInv.bolt11);
  payLater(n, canceledInv.bolt11);
  await n.pay(plain.bolt11);
  await flush();
  n.settle(settled.preimage);
  n.cancel(canceled.hash);
  await flush();
  return { open, held, settled, canceled, plainHash: plain.paymentHash, heldPay };
}

describe("sim node state file", () => {
  it("starts again from the file with every invoice in its state and the same wallet balance", async () => {
    const file = stateFile();
    const clock = new ManualClock();
    const a = started(file, clock);
    const s = await invoicesInEveryState(a);
    const before = a.listInvoices().map((i) => ({ ...i, htlcs: i.htlcs.map((h) => ({ ...h })) }));
    const balance = a.walletBalanceMsat;
    // Paid: 20 000 held + 30 000 settled + 50 000 plain; the canceled 40 000 came back.
    expect(balance).toBe(100_000_000_000n - 100_000n);
    a.stop();
    await flush();
    expect(s.heldPay.error).toMatch(/stopped/);

    const b = started(file, clock);
    const states = Object.fromEntries(b.listInvoices().map((i) => [i.memo, i.state]));
    expect(states).toEqual({ open: "OPEN", held: "ACCEPTED", settled: "SETTLED", canceled: "CANCELED", plain: "SETTLED" });
    expect(b.listInvoices()).toEqual(before);
    expect(b.walletBalanceMsat).toBe(balance);
    // The held payment is still in flight in the wallet; the others ended as they did.
    expect(b.walletPayments().map((p) => p.status)).toEqual(["in_flight", "succeeded", "failed", "succeeded"]);
    // New invoices continue the indexes instead of reusing them.
    const next = b.createInvoice({ amountMsat: 1_000n });
    expect(next.addIndex).toBe(Math.max(...before.map((i) => i.addIndex)) + 1);

    b.settle(s.held.preimage);
    expect(b.lookup(s.held.hash)).toMatchObject({ state: "SETTLED", preimage: s.held.preimage, amtPaidMsat: 20_000n });
    expect(b.walletPayments()[0]?.status).toBe("succeeded");
    b.stop();

    // And the settlement made after the restart is in the file too.
    const c = started(file, clock);
    expect(c.lookup(s.held.hash)?.state).toBe("SETTLED");
    expect(c.lookup(next.paymentHash)?.state).toBe("OPEN");
    expect(c.walletBalanceMsat).toBe(balance);
  });

  it("lets the machine cancel a payment held before the restart, and the wallet gets it back", async () => {
    const file = stateFile();
    const clock = new ManualClock();
    const a = started(file, clock);
    const { held } = await invoicesInEveryState(a);
    const balance = a.walletBalanceMsat;
    a.stop();

    const b = started(file, clock);
    b.cancel(held.hash);
    expect(b.lookup(held.hash)?.state).toBe("CANCELED");
    expect(b.walletBalanceMsat).toBe(balance + 20_000n);
    expect(() => b.settle(held.preimage)).toThrow(/canceled/);
    b.stop();
    expect(started(file, clock).walletBalanceMsat).toBe(balance + 20_000n);
  });

  it("times a held payment out when it would have without the restart, and an open invoice expires on time", async () => {
    const file = stateFile();
    const clock = new ManualClock();
    const a = started(file, clock);
    const { held, open } = await invoicesInEveryState(a);
    const balance = a.walletBalanceMsat;
    await clock.advance(30_000); // half of the HTLC timeout, while the node still runs
    a.stop();

    const b = started(file, clock);
    await clock.advance(29_999);
    expect(b.lookup(held.hash)?.state).toBe("ACCEPTED");
    await clock.advance(1);
    expect(b.lookup(held.hash)?.state).toBe("CANCELED");
    expect(b.walletBalanceMsat).toBe(balance + 20_000n);
    // The open invoice (300 s expiry) is still open 60 s in, canceled at 300 s.
    expect(b.lookup(open.hash)?.state).toBe("OPEN");
    await clock.advance(240_000);
    expect(b.lookup(open.hash)?.state).toBe("CANCELED");
  });

  it("keeps the block height, and a held HTLC mined close to its expiry after the restart is canceled", async () => {
    const file = stateFile();
    const clock = new ManualClock();
    const a = started(file, clock);
    const { held } = await invoicesInEveryState(a);
    a.mineBlocks(10);
    a.stop();

    const b = started(file, clock);
    expect(b.blockHeight).toBe(1_010);
    b.mineBlocks(60); // accepted at 1 000 with an 80-block CLTV: 10 blocks left at 1 070
    expect(b.lookup(held.hash)?.state).toBe("CANCELED");
  });

  it("skips a record torn by a crash mid-write, keeping everything before it", async () => {
    const file = stateFile();
    const clock = new ManualClock();
    const a = started(file, clock);
    const { held } = await invoicesInEveryState(a);
    const balance = a.walletBalanceMsat;
    a.stop();
    // What a SIGKILL in the middle of writing a settlement leaves: half a line, no newline.
    const settledLine = JSON.stringify({ at: clock.now(), invoices: [{ paymentHash: held.hash, state: "SETTLED" }] });
    appendFileSync(file, settledLine.slice(0, 40));

    const b = started(file, clock);
    expect(b.lookup(held.hash)?.state).toBe("ACCEPTED");
    expect(b.listInvoices()).toHaveLength(5);
    expect(b.walletBalanceMsat).toBe(balance);
    // The start compacted the file: the torn line is gone, and the node writes whole lines after it.
    b.settle(held.preimage);
    b.stop();
    for (const line of readFileSync(file, "utf8").trimEnd().split("\n")) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(started(file, clock).lookup(held.hash)?.state).toBe("SETTLED");
  });

  it("refuses a file damaged before its last line, another node's file, and changes before start()", async () => {
    const clock = new ManualClock();
    const damaged = stateFile();
    const a = started(damaged, clock);
    await invoicesInEveryState(a);
    a.stop();
    const lines = readFileSync(damaged, "utf8").split("\n");
    lines[1] = (lines[1] ?? "").slice(0, 30);
    writeFileSync(damaged, lines.join("\n"));
    expect(() => started(damaged, clock)).toThrow(SimStateFileError);

    const theirs = stateFile();
    const owner = started(theirs, clock);
    owner.createInvoice({ amountMsat: 1_000n });
    owner.stop();
    expect(() => started(theirs, clock, { nodeKeyHex: "33".repeat(32) })).toThrow(/not of this node/);
    // The refused node let go of the file: its owner starts on it again.
    expect(started(theirs, clock).listInvoices()).toHaveLength(1);

    const lazy = new SimLightningNode({ nodeKeyHex: KEY, clock, stateFile: stateFile() });
    nodes.push(lazy);
    expect(() => lazy.createInvoice({ amountMsat: 1_000n })).toThrow(/start\(\) first/);
  });

  it("one node per file: a second one is refused while the first runs; a lock left by a killed process is taken over", () => {
    const clock = new ManualClock();
    const file = stateFile();
    const first = started(file, clock);
    expect(readFileSync(`${file}.lock`, "utf8")).toBe(`${process.pid}\n`);
    first.createInvoice({ amountMsat: 1_000n });
    const second = new SimLightningNode({ nodeKeyHex: KEY, clock, stateFile: file });
    nodes.push(second);
    expect(() => second.start()).toThrow(new RegExp(`in use by the sim node of process ${process.pid}`));
    first.stop();
    expect(existsSync(`${file}.lock`)).toBe(false);
    // Refused, it was not started: once the file is free it starts on it, with what the first node wrote.
    second.start();
    expect(second.listInvoices()).toHaveLength(1);
    second.stop();

    // A SIGKILLed node leaves its lock behind; its process id is no longer alive.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(`${file}.lock`, `${dead.stdout}\n`);
    const again = started(file, clock);
    expect(readFileSync(`${file}.lock`, "utf8")).toBe(`${process.pid}\n`);
    again.stop();
  });

  it("without a state file keeps everything in memory, as before", () => {
    const n = new SimLightningNode({ nodeKeyHex: KEY });
    nodes.push(n);
    // No start() needed, and nothing written anywhere.
    expect(n.createInvoice({ amountMsat: 1_000n }).state).toBe("OPEN");
  });
});
