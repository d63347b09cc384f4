// A FleetLink for tests that records what the fleet publishes and can be switched off to test `link_down`.
// Test-only: the production link is `mqtt-link.ts` over a real broker.
import { generateKeyPairSync } from "node:crypto";
import type { MqttMessage } from "@zapvend/protocol";
import type { FleetLink } from "../link.js";
import { OperatorSigner } from "../signer.js";

export class RecordingLink implements FleetLink {
  connected = true;
  failNext = false;
  readonly published: Array<{ topic: string; payload: Record<string, unknown>; qos: 0 | 1; retain: boolean }> = [];
  onMessage: ((msg: MqttMessage) => void) | undefined;
  async start(onMessage: (msg: MqttMessage) => void): Promise<void> {
    this.onMessage = onMessage;
  }
  async publish(topic: string, payload: object, options: { qos: 0 | 1; retain: boolean }): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("broker refused");
    }
    this.published.push({ topic, payload: JSON.parse(JSON.stringify(payload)) as Record<string, unknown>, ...options });
  }
  async stop(): Promise<void> {}
}

export function testSigner(): { signer: OperatorSigner; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    signer: OperatorSigner.fromPem("test-operator", privateKey.export({ format: "pem", type: "pkcs8" }).toString()),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}
