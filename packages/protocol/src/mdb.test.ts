import { describe, expect, it } from "vitest";
import { parseMachineConfig, parseValue, DemoVmcRequest, selectionOfSlot, slotOfSelection, mdbInvoiceExpirySec, MdbBoardConfig } from "./index.js";

const base = {
  machineId: "mdb-01",
  payments: { backend: { kind: "sim", url: "http://127.0.0.1:8060" }, network: "regtest" },
  catalog: [{ slot: "S12", name: "Cola", kind: "mdb", price: { unit: "fiat", currency: "EUR", amountMinor: 150 }, stock: 1, capacity: 1 }],
  dataDir: "/tmp/x",
  // The sim wallet on a real interface (/dev/ttyAMA0) is refused unless said out loud (config.ts, isSimulatedBoard).
  allowDemoWallet: true,
};

describe("the MDB board config", () => {
  it("accepts a board of kind mdb with an invoice expiry shorter than the VMC's approval timeout", () => {
    const r = parseMachineConfig({ ...base, board: { kind: "mdb", port: "/dev/ttyAMA0", approvalTimeoutSec: 60 } });
    expect(r.ok).toBe(true);
    if (r.ok && r.value.board.kind === "mdb") expect(mdbInvoiceExpirySec(r.value.board)).toBe(50);
  });

  it("serviceAccess: the VMC's service mode by default, the PIN alone when said; nothing else", () => {
    const r = parseMachineConfig({ ...base, board: { kind: "mdb", port: "sim" } });
    expect(r.ok && r.value.board.kind === "mdb" && r.value.board.serviceAccess).toBe("vmc-service");
    const pin = parseMachineConfig({ ...base, board: { kind: "mdb", port: "sim", serviceAccess: "pin" } });
    expect(pin.ok && pin.value.board.kind === "mdb" && pin.value.board.serviceAccess).toBe("pin");
    expect(parseMachineConfig({ ...base, board: { kind: "mdb", port: "sim", serviceAccess: "door" } }).ok).toBe(false);
  });

  it("counts the sim VMC as a simulated board and a real serial port as a real one (the demo wallet)", () => {
    const { allowDemoWallet: _allowed, ...noFlag } = base;
    expect(parseMachineConfig({ ...noFlag, board: { kind: "mdb", port: "sim" } }).ok).toBe(true);
    const refused = parseMachineConfig({ ...noFlag, board: { kind: "mdb", port: "/dev/ttyAMA0" } });
    expect(refused).toMatchObject({ ok: false, error: { code: "demo_wallet_refused" } });
  });

  it("refuses an invoice expiry that is not shorter than the approval timeout", () => {
    const r = parseMachineConfig({ ...base, board: { kind: "mdb", port: "/dev/ttyAMA0", approvalTimeoutSec: 30, invoiceExpirySec: 30 } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.path).toContain("invoiceExpirySec");
  });

  it("refuses a catalog that mixes MDB selections and direct-drive slots, and a bad selection slot", () => {
    const spiral = { slot: "A1", name: "Crisps", kind: "spiral", price: { unit: "msat", amountMsat: "1000" }, stock: 1, capacity: 1 };
    expect(parseMachineConfig({ ...base, board: { kind: "mdb", port: "sim" }, catalog: [...base.catalog, spiral] }).ok).toBe(false);
    expect(parseMachineConfig({ ...base, board: { kind: "sim", pinmap: "p.json" } }).ok).toBe(false);
    expect(parseMachineConfig({ ...base, board: { kind: "mdb", port: "sim" }, catalog: [{ ...base.catalog[0], slot: "A12" }] }).ok).toBe(false);
    expect(MdbBoardConfig.safeParse({ kind: "mdb", port: "/dev/ttyAMA0", sim: { selections: [{ selection: 1, priceUnits: 1 }] } }).success).toBe(false);
  });

  it("maps selections to slot ids and back, and parses the demo VMC's requests strictly", () => {
    expect(slotOfSelection(12)).toBe("S12");
    expect(selectionOfSlot("S12")).toBe(12);
    expect(selectionOfSlot("A12")).toBeUndefined();
    expect(parseValue(DemoVmcRequest, { select: 12 }).ok).toBe(true);
    expect(parseValue(DemoVmcRequest, { select: 12, cancel: true }).ok).toBe(false);
    expect(parseValue(DemoVmcRequest, { cancel: false }).ok).toBe(false);
  });
});
