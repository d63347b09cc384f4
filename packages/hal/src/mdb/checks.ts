// The MDB checks: what the technician runs with `zapvend-harness --board mdb`, and what the contract suite runs
// over the sim VMC, so a pass on the bench and a pass in CI mean the same thing.
import type { HarnessCheck } from "@zapvend/protocol";
import type { CheckProgress } from "../checks.js";
import { systemClock, type Clock } from "../clock.js";
import { formatAmountText } from "./amount.js";
import { MdbError, MdbErrorCode } from "./errors.js";
import { MdbState, type MdbCashlessDevice, type MdbVendRequest } from "./types.js";

export interface MdbCheckContext {
  /** The device, not yet opened: the first check opens it. The caller closes it. */
  device: MdbCashlessDevice;
  clock?: Clock;
  signal?: AbortSignal;
  /** The technician agreed to a free test vend (a product comes out unpaid). Without it the test vend is skipped. */
  allowVend: boolean;
  /** The selection to test-vend; requests for other selections are denied. Absent: the first selection pressed. */
  testSelection?: number;
  onProgress?: (p: CheckProgress) => void;
  /** Tells the technician what to do at the machine ("press selection 12 on the keypad"). */
  onPrompt?: (text: string) => void;
  /** Wait for the VMC to poll, then to enable the reader, each. Default 30 000 ms. */
  enableTimeoutMs?: number;
  /** Wait for someone to press the selection. Default 120 000 ms. */
  vendRequestTimeoutMs?: number;
  /** Wait for the VMC's VEND SUCCESS/FAILURE after the approval. Default 60 000 ms. */
  vendResultTimeoutMs?: number;
}

export const MDB_CHECK_NAMES = ["MDB interface answers", "VMC polls the reader", "VMC enables the reader", "test vend"] as const;

const pass = (name: string, detail: string, measured?: HarnessCheck["measured"]): HarnessCheck => ({ name, status: "pass", detail, ...(measured ? { measured } : {}) });
const fail = (name: string, code: string, detail: string, measured?: HarnessCheck["measured"]): HarnessCheck => ({ name, status: "fail", code, detail: detail.slice(0, 500), ...(measured ? { measured } : {}) });
const skip = (name: string, detail: string): HarnessCheck => ({ name, status: "skip", detail });
const failFrom = (name: string, err: unknown): HarnessCheck =>
  fail(name, err instanceof MdbError ? err.code : typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : "MDB_ERROR", err instanceof Error ? err.message : String(err));

/**
 * Runs the checks in order; a check whose precondition failed is skipped with the reason. `onResult` is called
 * as each one ends (for the harness's progress lines).
 */
export async function runMdbChecks(ctx: MdbCheckContext, onResult?: (r: HarnessCheck) => void): Promise<HarnessCheck[]> {
  const clock = ctx.clock ?? systemClock;
  const dev = ctx.device;
  const results: HarnessCheck[] = [];
  const done = (r: HarnessCheck) => {
    results.push(r);
    onResult?.(r);
    return r;
  };
  const skipRest = (from: number, why: string) => {
    for (const name of MDB_CHECK_NAMES.slice(from)) done(skip(name, why));
    return results;
  };
  const enableTimeoutMs = ctx.enableTimeoutMs ?? 30_000;

  // 1. The interface answers `V` and takes the configuration.
  const [c1, c2, c3, c4] = MDB_CHECK_NAMES;
  try {
    await dev.open(ctx.signal);
    const s = dev.settings;
    done(pass(c1, `interface ${dev.interfaceVersion ?? "?"} answered and took the configuration (currency ${s.currencyCode}, scale ${s.scaleFactor}, ${s.decimalPlaces} decimals, always idle ${s.alwaysIdle ? "on" : "off"})`, { version: dev.interfaceVersion ?? "" }));
  } catch (err) {
    done(failFrom(c1, err));
    return skipRest(1, "the interface did not answer");
  }

  // 2. After C,1 the VMC polls the reader: r,ACK lines or the first status change.
  const t0 = clock.now();
  try {
    await dev.enable();
    await waitUntil(dev, clock, ctx.signal, enableTimeoutMs, () => dev.stats().acks > 0 || dev.state !== MdbState.INACTIVE, () =>
      new MdbError(MdbErrorCode.VMC_SILENT, `no poll from the VMC within ${enableTimeoutMs / 1000} s: check the MDB cable, that the machine is on, and that its cashless reader setting is on`),
    );
    done(pass(c2, `the VMC talks to the reader (${dev.stats().acks} r,ACK polls so far, state ${dev.state})`, { firstPollMs: clock.now() - t0, acks: dev.stats().acks }));
  } catch (err) {
    done(failFrom(c2, err));
    return skipRest(2, "the VMC does not poll the reader");
  }

  // 3. The VMC sets the reader up and enables it.
  try {
    await waitUntil(dev, clock, ctx.signal, enableTimeoutMs, () => dev.state === MdbState.ENABLED || dev.state === MdbState.IDLE, () =>
      dev.state === MdbState.DISABLED
        ? new MdbError(MdbErrorCode.READER_DISABLED, "the VMC set the reader up but keeps it disabled: the machine is out of order or in service mode, or cashless is off in its menu")
        : new MdbError(MdbErrorCode.VMC_SILENT, `the VMC did not set the reader up within ${enableTimeoutMs / 1000} s (state ${dev.state})`),
    );
    done(pass(c3, "the VMC enabled the reader", { enabledMs: clock.now() - t0 }));
  } catch (err) {
    done(failFrom(c3, err));
    return skipRest(3, "the reader is not enabled");
  }

  // 4. A free test vend: the technician presses the selection, the device approves it, the VMC vends.
  const name4 = ctx.testSelection !== undefined ? `${c4} selection ${ctx.testSelection}` : c4;
  if (!ctx.allowVend) {
    done(skip(name4, "a test vend gives a product away: not confirmed (--yes to run it)"));
    return results;
  }
  try {
    done(await testVend(ctx, clock, name4));
  } catch (err) {
    done(failFrom(name4, err));
  }
  return results;
}

async function testVend(ctx: MdbCheckContext, clock: Clock, name: string): Promise<HarnessCheck> {
  const dev = ctx.device;
  const requestTimeoutMs = ctx.vendRequestTimeoutMs ?? 120_000;
  const resultTimeoutMs = ctx.vendResultTimeoutMs ?? 60_000;
  const want = ctx.testSelection;
  ctx.onPrompt?.(`Press ${want !== undefined ? `selection ${want}` : "a selection"} on the machine's keypad (waiting ${Math.round(requestTimeoutMs / 1000)} s)`);
  ctx.onProgress?.({ check: name, fraction: 0.1, detail: "waiting for a selection on the keypad" });
  const request = await new Promise<MdbVendRequest>((resolve, reject) => {
    const offs: Array<() => void> = [];
    const end = () => offs.forEach((o) => o());
    const timer = clock.setTimeout(() => {
      end();
      reject(new MdbError(MdbErrorCode.NO_VEND_REQUEST, `no vend request within ${Math.round(requestTimeoutMs / 1000)} s`));
    }, requestTimeoutMs);
    offs.push(() => clock.clearTimeout(timer));
    offs.push(
      dev.on("vend-request", (r) => {
        if (want !== undefined && r.selection !== want) {
          ctx.onPrompt?.(`selection ${r.selection} pressed: denied, press ${want}`);
          void dev.denyVend().catch(() => undefined);
          return;
        }
        end();
        resolve(r);
      }),
    );
    offs.push(dev.on("closed", (e) => (end(), reject(e ?? new MdbError(MdbErrorCode.PORT_CLOSED, "the device closed")))));
    const onAbort = () => (end(), reject(new MdbError(MdbErrorCode.ABORTED, "the check was aborted")));
    ctx.signal?.addEventListener("abort", onAbort, { once: true });
    offs.push(() => ctx.signal?.removeEventListener("abort", onAbort));
  });
  ctx.onProgress?.({ check: name, fraction: 0.5, detail: `selection ${request.selection} at ${request.priceText}: approving` });
  const approvedAt = clock.now();
  const outcome = new Promise<{ ok: true } | { ok: false; err: MdbError }>((resolve) => {
    const offs: Array<() => void> = [];
    const end = (v: { ok: true } | { ok: false; err: MdbError }) => {
      offs.forEach((o) => o());
      resolve(v);
    };
    const timer = clock.setTimeout(() => end({ ok: false, err: new MdbError(MdbErrorCode.NO_RESULT, `no VEND SUCCESS or FAILURE within ${Math.round(resultTimeoutMs / 1000)} s of the approval`) }), resultTimeoutMs);
    offs.push(() => clock.clearTimeout(timer));
    offs.push(dev.on("vend-success", () => end({ ok: true })));
    offs.push(dev.on("vend-failure", () => end({ ok: false, err: new MdbError(MdbErrorCode.VEND_FAILED, "the VMC reported VEND FAILURE: the product did not come out") })));
    offs.push(dev.on("session-cancel", (c) => end({ ok: false, err: new MdbError(MdbErrorCode.VEND_CANCELLED, `the vend ended without a result (${c.reason})`) })));
    offs.push(dev.on("vmc-reset", () => end({ ok: false, err: new MdbError(MdbErrorCode.VEND_CANCELLED, "the VMC reset the reader during the vend") })));
    offs.push(dev.on("closed", (e) => end({ ok: false, err: e instanceof MdbError ? e : new MdbError(MdbErrorCode.PORT_CLOSED, "the port closed during the vend") })));
  });
  await dev.approveVend(request.priceUnits);
  const r = await outcome;
  const measured = { selection: request.selection, price: request.priceText, priceUnits: request.priceUnits, resultMs: clock.now() - approvedAt };
  if (!r.ok) return fail(name, r.err.code, r.err.message, measured);
  return pass(name, `selection ${request.selection} approved at ${formatAmountText(request.priceUnits, dev.settings)}: VEND SUCCESS`, measured);
}

function waitUntil(dev: MdbCashlessDevice, clock: Clock, signal: AbortSignal | undefined, timeoutMs: number, cond: () => boolean, onTimeout: () => Error): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const offs: Array<() => void> = [];
    const end = (err?: Error) => {
      offs.forEach((o) => o());
      if (err) reject(err);
      else resolve();
    };
    const check = () => {
      if (cond()) end();
    };
    const timer = clock.setTimeout(() => end(onTimeout()), timeoutMs);
    offs.push(() => clock.clearTimeout(timer));
    offs.push(dev.on("state", check));
    offs.push(dev.on("vmc-poll", check));
    offs.push(dev.on("closed", (e) => end(e ?? new MdbError(MdbErrorCode.PORT_CLOSED, "the device closed"))));
    const onAbort = () => end(new MdbError(MdbErrorCode.ABORTED, "the check was aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    offs.push(() => signal?.removeEventListener("abort", onAbort));
  });
}
