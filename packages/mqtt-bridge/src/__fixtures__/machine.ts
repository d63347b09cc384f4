// Test-only: what a machine daemon hands the bridge (a birth, telemetry, a desired-state handler), an operator key
// pair, and commands/desired states signed the way the fleet signs them.
import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import Database from "better-sqlite3";
import { PAYLOAD_VERSION, type CommandName, type EventBody } from "@zapvend/protocol";
import type { AppliedState, BirthBody, DesiredOutcome, MachineBridgeOptions, TelemetryBody } from "../machine-bridge.js";
import { publicKeyHex, signPayload } from "../signing.js";

export interface OperatorKeyPair {
  keyId: string;
  privateKey: KeyObject;
  publicKey: string;
}

export function operatorKey(keyId = "op-1"): OperatorKeyPair {
  const { privateKey } = generateKeyPairSync("ed25519");
  return { keyId, privateKey, publicKey: publicKeyHex(privateKey) };
}

export function birthBody(): BirthBody {
  return {
    model: "zapvend-test",
    softwareVersion: "0.1.0",
    slots: [{ slot: "A1", name: "Cola", kind: "spiral", capacity: 10, stock: 7, price: { unit: "msat", amountMsat: "21000" }, enabled: true }],
    capabilities: { holdInvoices: true, paymentsBackend: "sim", board: "sim" },
    configVersions: { desired: 0, catalog: "abc123" },
  };
}

export function telemetryBody(): TelemetryBody {
  return { temperatureC: 6.5, door: "closed", payments: "up", hardware: "up", stock: [{ slot: "A1", stock: 7 }] };
}

export function saleBody(n: number): EventBody {
  return {
    type: "sale",
    orderId: `order-${String(n).padStart(6, "0")}`,
    slot: "A1",
    productName: "Cola",
    amountMsat: "21000",
    fiat: null,
    paymentHash: n.toString(16).padStart(64, "0"),
    hold: true,
    evidence: { kind: "spiral", dropSeen: true, homed: true, runMs: 1200 },
    settledAt: 1_700_000_000_000 + n,
  };
}

/** A machine-side state the desired-state handler changes, as a controller would. */
export class FakeCatalogState {
  state: AppliedState = { slots: { A1: { enabled: true, price: { unit: "msat", amountMsat: "21000" } } }, mode: "normal" };
  readonly received: number[] = [];
  apply = (desired: { version: number; slots?: Record<string, { enabled?: boolean; price?: AppliedState["slots"][string]["price"] }>; mode?: "normal" | "maintenance" }): DesiredOutcome => {
    this.received.push(desired.version);
    for (const slot of Object.keys(desired.slots ?? {})) {
      if (!this.state.slots[slot]) return { status: "refused", error: { code: "UNKNOWN_SLOT", message: `no slot ${slot}` }, ...this.state };
    }
    for (const [slot, d] of Object.entries(desired.slots ?? {})) {
      const cur = this.state.slots[slot]!;
      this.state.slots[slot] = { enabled: d.enabled ?? cur.enabled, price: d.price ?? cur.price };
    }
    if (desired.mode) this.state.mode = desired.mode;
    return { status: "applied", ...this.state };
  };
}

export function bridgeOptions(url: string, machineId: string, key: OperatorKeyPair, db: Database.Database, over: Partial<MachineBridgeOptions> = {}): MachineBridgeOptions {
  const catalog = new FakeCatalogState();
  return {
    machineId,
    mqtt: { url, telemetryIntervalMs: 60_000 },
    db,
    trustedKeys: [{ keyId: key.keyId, publicKey: key.publicKey }],
    birth: birthBody,
    telemetry: telemetryBody,
    onDesiredState: catalog.apply,
    appliedState: () => catalog.state,
    commandHandlers: {},
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
    ...over,
  };
}

export function memoryDb(): Database.Database {
  return new Database(":memory:");
}

export function signedCommand(
  key: OperatorKeyPair,
  o: { aud: string; name: CommandName; ctr: number; args?: Record<string, unknown>; exp?: number; now?: number; rid?: string },
): Record<string, unknown> {
  const now = o.now ?? Date.now();
  return signPayload(
    {
      v: PAYLOAD_VERSION,
      id: randomUUID(),
      ts: now,
      boot: 1,
      seq: o.ctr,
      name: o.name,
      rid: o.rid ?? randomUUID(),
      aud: o.aud,
      exp: o.exp ?? now + 30_000,
      ctr: o.ctr,
      keyId: key.keyId,
      args: o.args ?? {},
    },
    key.privateKey,
  );
}

/** A desired state signed as the fleet signs it: for machine `to.aud`, installation `to.install` (left out: none). */
export function signedDesired(
  key: OperatorKeyPair,
  version: number,
  body: { slots?: Record<string, unknown>; mode?: string } = {},
  to: { aud?: string; install?: number } = {},
): Record<string, unknown> {
  return signPayload({ v: PAYLOAD_VERSION, id: randomUUID(), ts: Date.now(), boot: 1, seq: version, version, ...body, ...to, keyId: key.keyId }, key.privateKey);
}
