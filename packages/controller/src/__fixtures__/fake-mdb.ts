// A scripted MDB cashless device for the controller's tests: the VMC's side is driven by the test (a vend request,
// VEND SUCCESS/FAILURE, a keypad cancel, a reset, the port closing) and every command zapvend sends is recorded.
// It follows `@zapvend/hal/mdb`'s `MdbCashlessDevice` events (see packages/hal/src/mdb/types.ts on branch h16b);
// the real device over a pty runs in the root system tests.
import type { MdbStateName } from "@zapvend/protocol";
import type { MdbPort, MdbPortEvents } from "../mdb/port.js";

export class FakeMdbPort implements MdbPort {
  state: MdbStateName = "enabled";
  /** Commands written, in order: `approve:<units>`, `deny`. */
  sent: string[] = [];
  badLines = 0;
  failWrites = false;
  private listeners = new Map<keyof MdbPortEvents, Set<(...args: never[]) => void>>();

  on<K extends keyof MdbPortEvents>(event: K, listener: (...args: MdbPortEvents[K]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (...args: never[]) => void);
    this.listeners.set(event, set);
    return () => set.delete(listener as (...args: never[]) => void);
  }

  emit<K extends keyof MdbPortEvents>(event: K, ...args: MdbPortEvents[K]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (...a: MdbPortEvents[K]) => void)(...args);
  }

  listenerCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  async approveVend(amountUnits: number): Promise<void> {
    if (this.failWrites) throw new Error("EIO: write failed");
    this.sent.push(`approve:${amountUnits}`);
    this.state = "vend";
  }

  async denyVend(): Promise<void> {
    this.sent.push("deny");
    this.state = "idle";
  }

  stats() {
    return { badLines: this.badLines };
  }

  // --- the VMC's side ---
  request(selection: number, priceUnits: number): void {
    this.state = "vend";
    this.emit("vend-request", { selection, priceUnits });
  }
  success(selection: number, priceUnits: number): void {
    this.state = "idle";
    this.emit("vend-success", { selection, priceUnits });
  }
  failure(selection: number, priceUnits: number): void {
    this.state = "idle";
    this.emit("vend-failure", { selection, priceUnits });
  }
  cancel(reason: "vmc-cancel" | "session-ended" | "disabled" = "vmc-cancel"): void {
    this.state = reason === "disabled" ? "disabled" : "enabled";
    this.emit("session-cancel", { reason });
  }
  reset(): void {
    this.state = "inactive";
    this.emit("vmc-reset");
  }
  unplug(): void {
    this.state = "inactive";
    this.emit("closed", new Error("port unplugged"));
  }
}
