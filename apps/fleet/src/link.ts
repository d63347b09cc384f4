import type { MqttMessage } from "@zapvend/protocol";

/**
 * What the fleet needs from its MQTT transport: messages in (already validated with protocol's
 * `parseMqttMessage`), publications out. The production implementation is in `mqtt-link.ts`; the ingest, store and
 * HTTP layers never see MQTT.
 */
export interface FleetLink {
  start(onMessage: (msg: MqttMessage) => void): Promise<void>;
  publish(topic: string, payload: object, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
  readonly connected: boolean;
  stop(): Promise<void>;
}
