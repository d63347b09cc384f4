// What a person reads: one alert raised, one alert resolved, or a digest of several. Every channel renders the
// same message (the webhook sends it as JSON, e-mail as text, ntfy as a title, tags and a body).
import type { Alert } from "@zapvend/protocol";
import { NotifyEvent } from "./delivery-log.js";

export interface DigestItem {
  alert: Alert;
  event: typeof NotifyEvent.RAISED | typeof NotifyEvent.RESOLVED;
}

export interface NotifyMessage {
  id: string;
  event: NotifyEvent;
  /** `<alert id>:raised` ... : a message with a key that already reached a channel is not sent to it again. */
  dedupeKey: string;
  title: string;
  text: string;
  /** The highest severity among the alerts. */
  severity: Alert["severity"];
  alerts: DigestItem[];
  createdAt: number;
}

const RANK: Record<Alert["severity"], number> = { info: 0, warning: 1, critical: 2 };

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function alertMessage(id: string, alert: Alert, event: DigestItem["event"], nowMs: number): NotifyMessage {
  const resolved = event === NotifyEvent.RESOLVED;
  return {
    id,
    event,
    dedupeKey: `${alert.id}:${event}`,
    title: `${resolved ? "Resolved" : alert.severity === "critical" ? "CRITICAL" : alert.severity === "warning" ? "Warning" : "Info"}: ${alert.kind} on ${alert.machineId}`,
    text: resolved
      ? `Resolved at ${utc(alert.clearedAt ?? nowMs)}: ${alert.message} (raised ${utc(alert.raisedAt)})`
      : `${alert.message}\nRaised ${utc(alert.raisedAt)}, alert ${alert.id}.`,
    severity: alert.severity,
    alerts: [{ alert, event }],
    createdAt: nowMs,
  };
}

export function digestMessage(id: string, items: DigestItem[], nowMs: number): NotifyMessage {
  const severity = items.reduce<Alert["severity"]>((s, i) => (RANK[i.alert.severity] > RANK[s] ? i.alert.severity : s), "info");
  const lines = items.map((i) => `- ${i.event === NotifyEvent.RESOLVED ? "resolved: " : ""}[${i.alert.severity}] ${i.alert.kind} on ${i.alert.machineId}: ${i.alert.message} (${utc(i.alert.raisedAt)})`);
  return {
    id,
    event: NotifyEvent.DIGEST,
    dedupeKey: `digest:${id}`,
    title: `Digest: ${items.length} alert${items.length === 1 ? "" : "s"}`,
    text: lines.join("\n"),
    severity,
    alerts: items,
    createdAt: nowMs,
  };
}
