// The sim's physical-outcome hook: the independent record a crash test checks the machine's journal against.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SimPhysicalEvent } from "./machine.js";
import { never, openSim, settle } from "../__fixtures__/sim.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("onPhysical", () => {
  it("reports one product per spiral turn that pushed one out, and none from an empty spiral", async () => {
    const events: SimPhysicalEvent[] = [];
    const { hw } = await openSim("snacks", { stock: { A1: 2, A2: 0 }, onPhysical: (e) => events.push(e) });
    expect((await settle(hw.vendSpiral("A1", { signal: never() }), 10_000)).ok).toBe(true);
    expect((await settle(hw.vendSpiral("A2", { signal: never(), dropWaitMs: 500 }), 10_000)).ok).toBe(false);
    await hw.close();
    expect(events.map((e) => `${e.kind}:${e.slot}`)).toEqual(["product:A1"]);
  });

  it("reports a pour as pump-on then pump-off with the millilitres that came out", async () => {
    const events: SimPhysicalEvent[] = [];
    const { hw, sim } = await openSim("drinks", { onPhysical: (e) => events.push(e) });
    const slot = Object.keys(sim.pinmap.pourStations)[0]!;
    expect((await settle(hw.pour(100, { signal: never() }), 20_000)).ok).toBe(true);
    await hw.close();
    expect(events.map((e) => e.kind)).toEqual(["pump-on", "pump-off"]);
    const off = events[1] as Extract<SimPhysicalEvent, { kind: "pump-off" }>;
    expect(off.slot).toBe(slot);
    expect(off.ml).toBeCloseTo(sim.jugMl(slot), 0);
    expect(off.ml).toBeGreaterThanOrEqual(100);
  });

  it("keeps the physics running when the observer throws", async () => {
    const { hw, sim } = await openSim("snacks", { stock: { A1: 1 }, onPhysical: () => { throw new Error("observer bug"); } });
    expect((await settle(hw.vendSpiral("A1", { signal: never() }), 10_000)).ok).toBe(true);
    expect(sim.stock("A1")).toBe(0);
    await hw.close();
  });
});

describe("a stalled event loop", () => {
  it("does not let a spiral skip its home cam and push a second product (one physics step per tick at most)", async () => {
    const events: SimPhysicalEvent[] = [];
    const { hw, sim } = await openSim("snacks", { stock: { A1: 5 }, onPhysical: (e) => events.push(e) });
    // snacks.json: one revolution in 3000 ms; the home cam holds the switch for 150 ms of it.
    const vend = hw.vendSpiral("A1", { signal: never() }).then(
      (ev) => ({ ok: true as const, ev }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    await vi.advanceTimersByTimeAsync(2_900);
    // The process stalls for 300 ms right before the spiral reaches home (a busy CPU, a synchronous fsync): the next
    // physics tick sees 300 ms at once, enough to carry the spiral across the whole cam.
    vi.setSystemTime(Date.now() + 300);
    await vi.advanceTimersByTimeAsync(10_000);
    const r = await vend;
    await hw.close();
    expect(r.ok).toBe(true);
    expect(events.filter((e) => e.kind === "product")).toHaveLength(1);
    expect(sim.stock("A1")).toBe(4);
  });
});
