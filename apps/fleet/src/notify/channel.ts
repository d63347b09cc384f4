// The shape every notification channel has, the coded error a failed delivery throws, and the injected HTTP
// transport the webhook and ntfy channels post through (the global fetch by default; tests use real receivers).
import type { NotifyMessage } from "./message.js";

export const NotifyErrorCode = {
  /** The receiver answered 5xx, 408 or 429, or the connection failed or timed out: worth another try. */
  DELIVERY_FAILED: "notify_delivery_failed",
  /** The receiver refused the message (another 4xx, an SMTP 5xx): retrying would not help. */
  DELIVERY_REFUSED: "notify_delivery_refused",
  UNKNOWN_CHANNEL: "notify_unknown_channel",
} as const;
export type NotifyErrorCode = (typeof NotifyErrorCode)[keyof typeof NotifyErrorCode];

export class NotifyError extends Error {
  constructor(
    readonly code: NotifyErrorCode,
    message: string,
    readonly retryable: boolean,
    /** HTTP status or SMTP answer, when there was one. */
    readonly status: string | null = null,
  ) {
    super(`${message} (${code})`);
    this.name = "NotifyError";
  }
}

export type ChannelType = "webhook" | "email" | "ntfy";

export interface NotifyChannel {
  readonly name: string;
  readonly type: ChannelType;
  /** Delivers once (no retry here: the dispatcher retries). Resolves with the receiver's status; throws `NotifyError`. */
  send(message: NotifyMessage): Promise<{ status: string }>;
  close?(): Promise<void>;
}

export interface HttpPostRequest {
  headers: Record<string, string>;
  body: string;
  /** Give up on the request after this long. */
  timeoutMs: number;
}
/** One HTTP POST: resolves with the status whatever it is, rejects only when no answer came. */
export type HttpPost = (url: string, req: HttpPostRequest) => Promise<{ status: number; body: string }>;

export const fetchPost: HttpPost = async (url, req) => {
  const res = await fetch(url, { method: "POST", headers: req.headers, body: req.body, signal: AbortSignal.timeout(req.timeoutMs), redirect: "error" });
  return { status: res.status, body: (await res.text()).slice(0, 500) };
};

/** Posts and turns the answer into the channel contract: 2xx ok, 5xx/408/429/no answer retryable, else refused. */
export async function postOrThrow(post: HttpPost, url: string, req: HttpPostRequest, what: string): Promise<{ status: string }> {
  let res: { status: number; body: string };
  try {
    res = await post(url, req);
  } catch (err) {
    throw new NotifyError(NotifyErrorCode.DELIVERY_FAILED, `${what}: no answer from ${new URL(url).host}: ${(err as Error).message}`, true);
  }
  if (res.status >= 200 && res.status < 300) return { status: String(res.status) };
  const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
  throw new NotifyError(
    retryable ? NotifyErrorCode.DELIVERY_FAILED : NotifyErrorCode.DELIVERY_REFUSED,
    `${what}: ${new URL(url).host} answered ${res.status}${res.body ? ` ${res.body.slice(0, 200)}` : ""}`,
    retryable,
    String(res.status),
  );
}
