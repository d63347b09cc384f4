// A fleet with known stock, sales and slots for the pick list's tests (store, HTTP, Chromium): the numbers each
// of them asserts follow from this seed.
import type { MqttMessage } from "@zapvend/protocol";
import { birth, event, sale } from "./messages.js";

/**
 * Midnight UTC: the pick list's window is whole UTC days before today and today so far, so at midnight the 7-day
 * window is exactly 7 days long and the rates are round (picklist-store.test.ts also checks a window at noon).
 */
export const NOW = Date.UTC(2026, 10, 20, 0, 0, 0);
export const H = 3_600_000;
export const D = 24 * H;

/**
 * m-1: A1 cap 10 stock 10, 7 sales in the window + 1 older -> stock 2, 1/day, 2.0 days; A2 empty; A3 cap 12, 3 sales -> 9.
 * m-2: A1 cap 10 stock 6, 2 sales -> 4, 14.0 days; A2 disabled. m-3: A1 stock 5, no sales.
 */
export async function seedPicklistFleet(apply: (msgs: MqttMessage[]) => Promise<unknown>): Promise<void> {
  await apply([
    birth("m-1", { ts: NOW - 10 * D, slots: [{ slot: "A1", stock: 10 }, { slot: "A2", stock: 0 }, { slot: "A3", stock: 12, capacity: 12 }] }),
    birth("m-2", { ts: NOW - 10 * D, slots: [{ slot: "A1", stock: 6 }, { slot: "A2", stock: 9, enabled: false }] }),
    birth("m-3", { ts: NOW - 10 * D, slots: [{ slot: "A1", stock: 5 }] }),
  ]);
  let seq = 0;
  const sales: MqttMessage[] = [];
  for (let i = 0; i < 7; i++) sales.push(sale("m-1", { seq: ++seq, slot: "A1", settledAt: NOW - (i + 0.5) * D }));
  sales.push(sale("m-1", { seq: ++seq, slot: "A1", settledAt: NOW - 8 * D }));
  for (let i = 0; i < 3; i++) sales.push(sale("m-1", { seq: ++seq, slot: "A3", settledAt: NOW - (i + 1) * D }));
  for (let i = 0; i < 2; i++) sales.push(sale("m-2", { seq: ++seq, slot: "A1", settledAt: NOW - (i + 1) * H }));
  // A refund is not a sale.
  sales.push(event("m-2", "refund", { seq: ++seq, ts: NOW - 2 * H }));
  await apply(sales);
}

