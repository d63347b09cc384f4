// The webhook channel: the message as JSON, signed so the receiver knows it came from this fleet and is fresh.
// `X-Zapvend-Timestamp` (epoch ms) is inside what is signed, `<timestamp>.<raw body>`, so a captured delivery
// cannot be replayed later with a new timestamp; the receiver recomputes
// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, compares in constant time and refuses old timestamps.
import { createHmac, timingSafeEqual } from "node:crypto";
import { fetchPost, postOrThrow, type HttpPost, type NotifyChannel } from "./channel.js";
import type { NotifyMessage } from "./message.js";

export const SIGNATURE_HEADER = "x-zapvend-signature";
export const TIMESTAMP_HEADER = "x-zapvend-timestamp";

export function signWebhook(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
}

/** For receivers (and the tests): true when `signature` is this body's, at this timestamp, with this secret. */
export function verifyWebhook(secret: string, timestamp: string, rawBody: string, signature: string): boolean {
  const want = Buffer.from(signWebhook(secret, timestamp, rawBody));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The JSON body: stable field names, the alerts as the API gives them. */
export function webhookBody(m: NotifyMessage): string {
  return JSON.stringify({
    id: m.id,
    event: m.event,
    title: m.title,
    text: m.text,
    severity: m.severity,
    alerts: m.alerts.map((i) => ({ event: i.event, ...i.alert })),
    createdAt: m.createdAt,
  });
}

export interface WebhookOptions {
  name: string;
  url: string;
  secret: string;
  post?: HttpPost;
  now?: () => number;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
}

export class WebhookChannel implements NotifyChannel {
  readonly type = "webhook" as const;
  readonly name: string;
  private readonly post: HttpPost;
  private readonly now: () => number;

  constructor(private readonly o: WebhookOptions) {
    this.name = o.name;
    this.post = o.post ?? fetchPost;
    this.now = o.now ?? Date.now;
  }

  send(m: NotifyMessage): Promise<{ status: string }> {
    const body = webhookBody(m);
    // Signed at each attempt: a retry an hour later carries a fresh timestamp the receiver accepts.
    const ts = String(this.now());
    return postOrThrow(
      this.post,
      this.o.url,
      {
        headers: {
          "content-type": "application/json",
          "user-agent": "zapvend-fleet",
          [TIMESTAMP_HEADER]: ts,
          [SIGNATURE_HEADER]: signWebhook(this.o.secret, ts, body),
          // The same id on every retry: a receiver that got it twice (its 200 was lost) can drop the second.
          "x-zapvend-delivery": m.id,
        },
        body,
        timeoutMs: this.o.timeoutMs ?? 10_000,
      },
      `webhook ${this.name}`,
    );
  }
}
