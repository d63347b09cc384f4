/**
 * @zapvend/mqtt-bridge: machine <-> fleet over MQTT 3.1.1. The machine side (`MachineBridge`, `Outbox`), the fleet
 * side's transport (`FleetLink`), Ed25519 signing over protocol's `canonicalJson`, and the embedded broker.
 */
export { BridgeError, BridgeErrorCode } from "./errors.js";
export { systemClock, silentLogger, consoleLogger, type Clock, type Logger } from "./clock.js";
export { backoffDelayMs, type BrokerConfig, type ReconnectOptions } from "./connection.js";
export { migrateBridgeDb } from "./bridge-db.js";
export { Outbox, outboxPayload, type OutboxOptions, type OutboxRow } from "./outbox.js";
export type { OutboxPublisherOptions } from "./outbox-publisher.js";
export {
  MachineBridge,
  type AppliedState,
  type BirthBody,
  type BridgeCounters,
  type CommandContext,
  type CommandHandler,
  type CommandHandlers,
  type DesiredOutcome,
  type MachineBridgeEvents,
  type MachineBridgeOptions,
  type TelemetryBody,
} from "./machine-bridge.js";
export {
  PictureErrorCode,
  PictureFetcher,
  verifyPicture,
  type PictureCheck,
  type PictureFetcherCounters,
  type PictureFetcherEvents,
  type PictureFetcherOptions,
} from "./picture-fetcher.js";
export { privateKeyFrom, publicKeyFromHex, publicKeyHex, signPayload, trustedKeyMap, verifySignedPayload, type VerifyResult } from "./signing.js";
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from "./embedded-broker.js";
export { AclCache, BrokerAcl, ZAPVEND_ACL, topicMatches, type AclAccess } from "./broker-acl.js";
export { FleetLink, fleetSubscriptions, RETAINED_MACHINE_FILTERS, type FleetLinkEvents, type FleetLinkOptions } from "./fleet-link.js";
