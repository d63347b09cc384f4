// Test-only: a plain mqtt.js subscriber that records what it receives, as bytes on the wire.
import mqtt, { type MqttClient } from "mqtt";

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
}

export class Recorder {
  readonly messages: Received[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString("utf8"), retain: packet.retain, qos: packet.qos });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(url: string, filters: string[], opts: { clientId?: string; clean?: boolean; username?: string; password?: string } = {}): Promise<Recorder> {
    const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 100, clean: opts.clean ?? true, clientId: opts.clientId ?? `rec-${Math.random().toString(16).slice(2)}`, ...(opts.username ? { username: opts.username, password: opts.password } : {}) });
    client.on("error", () => {});
    const rec = new Recorder(client);
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });
    return rec;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  json<T = Record<string, unknown>>(topic: string): T[] {
    return this.on(topic).map((m) => JSON.parse(m.payload) as T);
  }

  /** Resolves when `pred` holds, checking on each message; rejects after `timeoutMs` (real time: a broker is real). */
  async waitFor(pred: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Waits until `pred` holds, polling every 10 ms (for state outside a Recorder). */
export async function until(pred: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
