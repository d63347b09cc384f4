// The ntfy channel: `POST <server>/<topic>` with the text as the body and the title, priority and tags as headers.
// Contract: ntfy's publishing docs, https://docs.ntfy.sh/publish/ (binwiederhier/ntfy docs/publish.md, v2.38.3):
// "Title" (alias X-Title), "Priority" (1..5 or min/low/default/high/max|urgent), "Tags" (comma-separated; names of
// emoji shortcodes become emojis), and `Authorization: Bearer tk_...` for a protected topic. HTTP headers are
// Latin-1 only, so the title keeps to ASCII here; the body is UTF-8 and carries the full text.
import { fetchPost, postOrThrow, type HttpPost, type NotifyChannel } from "./channel.js";
import type { NotifyMessage } from "./message.js";

const PRIORITY = { info: "default", warning: "high", critical: "urgent" } as const;

export function ntfyHeaders(m: NotifyMessage, token?: string): Record<string, string> {
  const tags = [m.event === "resolved" ? "white_check_mark" : m.severity === "critical" ? "rotating_light" : m.severity === "warning" ? "warning" : "information_source"];
  for (const k of new Set(m.alerts.map((i) => i.alert.kind))) tags.push(k);
  return {
    "content-type": "text/plain; charset=utf-8",
    Title: m.title.replace(/[^\x20-\x7e]/g, "?").slice(0, 250),
    Priority: m.event === "resolved" ? "default" : PRIORITY[m.severity],
    Tags: tags.join(","),
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
  };
}

export interface NtfyOptions {
  name: string;
  server: string;
  topic: string;
  token?: string;
  post?: HttpPost;
  timeoutMs?: number;
}

export class NtfyChannel implements NotifyChannel {
  readonly type = "ntfy" as const;
  readonly name: string;
  private readonly post: HttpPost;

  constructor(private readonly o: NtfyOptions) {
    this.name = o.name;
    this.post = o.post ?? fetchPost;
  }

  send(m: NotifyMessage): Promise<{ status: string }> {
    const url = `${this.o.server.replace(/\/+$/, "")}/${this.o.topic}`;
    return postOrThrow(this.post, url, { headers: ntfyHeaders(m, this.o.token), body: m.text, timeoutMs: this.o.timeoutMs ?? 10_000 }, `ntfy ${this.name}`);
  }
}
