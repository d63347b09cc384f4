// The fleet's real link (the bridge's FleetLink: its signing, its envelopes) with the broker replaced by a list:
// it records what the fleet publishes and can be switched off to test `link_down`. Test-only: production connects
// the same class to a broker.
import { generateKeyPairSync } from "node:crypto";
import { FleetLink } from "@zapvend/mqtt-bridge";
import type { MqttMessage } from "@zapvend/protocol";
import { OperatorSigner } from "../signer.js";

export class RecordingLink extends FleetLink {
  private up = true;
  failNext = false;
  readonly published: Array<{ topic: string; payload: Record<string, unknown>; qos: 0 | 1; retain: boolean }> = [];
  /** The event acks the fleet sent (kept apart from `published`, which holds commands and desired states). */
  readonly acks: Array<{ topic: string; payload: Record<string, unknown> }> = [];
  onMessage: ((msg: MqttMessage) => void) | undefined;

  constructor(signer: OperatorSigner = testSigner().signer) {
    super({ mqtt: { url: "mqtt://recording.invalid" }, operatorKey: signer.operatorKey() });
  }

  override get connected(): boolean {
    return this.up;
  }
  override set connected(v: boolean) {
    this.up = v;
  }
  override async start(onMessage: (msg: MqttMessage) => void): Promise<void> {
    this.onMessage = onMessage;
  }
  override async publish(topic: string, payload: object, options: { qos: 0 | 1; retain: boolean }): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("broker refused");
    }
    const copy = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
    if (topic.endsWith("/event-ack")) this.acks.push({ topic, payload: copy });
    else this.published.push({ topic, payload: copy, ...options });
  }
  /** Catalog pictures published (issue #18), in order. */
  readonly pictures: Array<{ sha256: string; bytes: Buffer }> = [];
  override async publishPicture(sha256: string, bytes: Uint8Array): Promise<void> {
    if (!this.up) throw new Error("not connected");
    this.pictures.push({ sha256, bytes: Buffer.from(bytes) });
  }
  override async stop(): Promise<void> {}
}

export function testSigner(): { signer: OperatorSigner; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    signer: OperatorSigner.fromPem("test-operator", privateKey.export({ format: "pem", type: "pkcs8" }).toString()),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}
