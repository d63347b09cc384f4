/**
 * @zapvend/protocol — the shared language of zapvend: types and runtime schemas for the catalog, orders, the
 * kiosk API and WebSocket, the MQTT topics and payloads, the fleet API and the config files. Imports no other
 * package of zapvend and runs in Node and in a browser alike.
 */
export * from "./result.js";
export * from "./common.js";
export * from "./faults.js";
export * from "./catalog.js";
export * from "./fleet-catalog.js";
export * from "./fleet-catalog-api.js";
export * from "./order.js";
export * from "./kiosk-api.js";
export * from "./mqtt-topics.js";
export * from "./mqtt-payloads.js";
export * from "./fleet-api.js";
export * from "./fleet-extra.js";
export * from "./fleet-auth.js";
export * from "./fleet-overview.js";
export * from "./fleet-picklist.js";
export * from "./config.js";
export * from "./harness.js";
export * from "./service-api.js";
export * from "./pinmap.js";
export * from "./parse.js";
export * from "./mdb.js";
