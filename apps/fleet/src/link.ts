import type { MqttMessage } from "@zapvend/protocol";

/**
 * What the fleet needs from its MQTT transport: messages in (already validated with protocol's
 * `parseMqttMessage`), publications out. The production implementation is in `mqtt-link.ts`; the ingest, store and
 * HTTP layers never see MQTT.
 */
export interface FleetLink {
  /** Connects; `onConnect` runs on every (re)connection (the fleet republishes what may not have reached the broker). */
  start(onMessage: (msg: MqttMessage) => void, onConnect?: () => void): Promise<void>;
  publish(topic: string, payload: object, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
  readonly connected: boolean;
  stop(): Promise<void>;
}
