/**
 * @zapvend/payments — BOLT 11, the invoice policy, preimage checks, fiat pricing and the Lightning backends.
 */
export * from "./backend.js";
