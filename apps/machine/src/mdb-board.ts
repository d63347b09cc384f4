// The machine's board when it is the MDB cashless reader of a vending machine with its own controller (VMC):
// `"board": {"kind": "mdb", "port": "/dev/ttyAMA0", ...}`. Opens the MDB interface (the Qibixx HAT or USB
// interface through `@zapvend/hal/mdb`), or with `"port": "sim"` first starts the sim VMC behind a socat pty pair
// (`@zapvend/hal/mdb-sim`), so the demo and the tests run the real serialport path. The vend cycle itself is the
// controller's (`VmcSales`).
import { VmcSales } from "@zapvend/controller";
import { openMdbDevice, type MdbCashlessDevice } from "@zapvend/hal/mdb";
import { startSimVmc, type SimVmc } from "@zapvend/hal/mdb-sim";
import { DemoVmcRequest, mdbInvoiceExpirySec, parseValue, type DemoVmcResponse, type MdbBoardConfig } from "@zapvend/protocol";
import { ApiFailure } from "./http-server.js";
import type { Logger } from "./log.js";

/** ISO 4217 numeric codes of the currencies a machine is commonly priced in (the HAT's `mdb-currency-code`). */
const ISO_NUMERIC: Record<string, number> = { EUR: 978, USD: 840, CHF: 756, GBP: 826, JPY: 392, CNY: 156, CAD: 124, AUD: 36, SEK: 752, NOK: 578, DKK: 208, PLN: 985, CZK: 203 };

export interface MdbBoard {
  device: MdbCashlessDevice;
  sales: VmcSales;
  /** The sim VMC, when `port` is "sim". */
  vmc: SimVmc | undefined;
  /** `GET` / `POST /api/demo/vmc`, with the sim VMC only. */
  demo: { get(): DemoVmcResponse; post(body: unknown): Promise<DemoVmcResponse> } | undefined;
  close(): Promise<void>;
}

export async function openMdbBoard(board: MdbBoardConfig, currency: string, log: Logger): Promise<MdbBoard> {
  const currencyCode = board.currencyCode ?? ISO_NUMERIC[currency];
  if (currencyCode === undefined) throw new Error(`config: board.currencyCode is needed for ${currency} (its ISO 4217 numeric code)`);
  let vmc: SimVmc | undefined;
  if (board.port === "sim") {
    vmc = await startSimVmc({
      ...(board.sim ? { selections: board.sim.selections } : {}),
      ...(board.sim?.vendDurationMs !== undefined ? { vendDurationMs: board.sim.vendDurationMs } : {}),
      // The sim VMC waits as long as the configured VMC would.
      approvalTimeoutMs: board.approvalTimeoutSec * 1000,
      logger: log.child("vend:sim-vmc"),
    });
  }
  const device = openMdbDevice({
    path: vmc ? vmc.devicePath : board.port,
    ...(board.baudRate !== undefined ? { baudRate: board.baudRate } : {}),
    settings: { currencyCode, scaleFactor: board.scaleFactor, decimalPlaces: board.decimalPlaces },
    logger: log.child("vend:mdb"),
  });
  try {
    await device.open(AbortSignal.timeout(15_000));
    await device.enable();
  } catch (err) {
    await device.close().catch(() => undefined);
    await vmc?.close().catch(() => undefined);
    throw err;
  }
  const sales = new VmcSales({
    device,
    currency,
    scaleFactor: board.scaleFactor,
    decimalPlaces: board.decimalPlaces,
    approvalTimeoutSec: board.approvalTimeoutSec,
    invoiceExpirySec: mdbInvoiceExpirySec(board),
    vendResultTimeoutMs: board.vendResultTimeoutSec * 1000,
    ...(board.maxPriceMinor !== undefined ? { maxPriceMinor: board.maxPriceMinor } : {}),
    sellUnmappedSelections: board.sellUnmappedSelections,
    logger: log.child("vend:vmc-sales"),
  });
  return {
    device,
    sales,
    vmc,
    demo: vmc ? { get: () => demoVmcView(vmc), post: (body) => demoVmcAction(vmc, body) } : undefined,
    async close() {
      sales.detach();
      await device.disable().catch(() => undefined);
      await device.close().catch(() => undefined);
      await vmc?.close().catch(() => undefined);
    },
  };
}

/** `GET /api/demo/vmc`: the sim VMC's state and the lines exchanged. */
export function demoVmcView(vmc: SimVmc): DemoVmcResponse {
  const s = vmc.status();
  return {
    phase: s.phase,
    inService: s.inService,
    readerOn: s.readerOn,
    plugged: s.plugged,
    failNext: s.failNext,
    selections: s.selections.map((x) => ({ selection: x.selection, priceUnits: x.priceUnits, ...(x.name ? { name: x.name.slice(0, 60) } : {}) })),
    pending: s.pending ? { selection: s.pending.selection, priceUnits: s.pending.priceUnits, approved: s.pending.approved } : null,
    lines: vmc
      .lines()
      .slice(-500)
      .map((l) => ({ atMs: l.atMs, dir: l.dir, line: l.line.slice(0, 300) })),
  };
}

/** `POST /api/demo/vmc`: the keypad and the VMC's faults. A press the VMC refuses is `409 vmc_refused`. */
export async function demoVmcAction(vmc: SimVmc, body: unknown): Promise<DemoVmcResponse> {
  const parsed = parseValue(DemoVmcRequest, body);
  if (!parsed.ok) throw new ApiFailure(400, parsed.error.code, `${parsed.error.message} (at ${parsed.error.path})`);
  const r = parsed.value;
  try {
    if ("select" in r) vmc.select(r.select);
    else if ("cancel" in r) vmc.cancel();
    else if ("failNext" in r) vmc.failNext();
    else if ("reset" in r) vmc.reset();
    else if ("inService" in r) vmc.setInService(r.inService);
    else if ("unplug" in r) await vmc.unplug();
    else vmc.sendGarbage();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new ApiFailure(409, "vmc_refused", `${e.message ?? String(err)}${e.code ? ` (${e.code})` : ""}`);
  }
  return demoVmcView(vmc);
}
