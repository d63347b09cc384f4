import type { FleetLink as BridgeFleetLink } from "@zapvend/mqtt-bridge";

/**
 * What the fleet needs from its MQTT transport: messages in (already validated with protocol's
 * `parseMqttMessage`), signed commands and desired states out, and plain publications. The one implementation is
 * the bridge's `FleetLink` (`@zapvend/mqtt-bridge`), which also does the signing; the ingest, store and HTTP layers
 * never see MQTT. Tests substitute a subclass that records instead of publishing.
 */
export type FleetLink = Pick<BridgeFleetLink, "start" | "stop" | "publish" | "sendCommand" | "publishDesired" | "publishPicture" | "publishEventAck" | "eventAcks" | "connected">;
