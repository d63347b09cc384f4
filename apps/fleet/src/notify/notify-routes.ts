// The console's notification settings (issue #18): read, edit and "send a test", for operators and admins. Secrets
// never leave the server (settings.ts `redact`); every edit and test is in the audit, with the names of the channels
// whose secret changed but never a secret.
import type http from "node:http";
import type { AuthService } from "../auth/auth-service.js";
import { FleetError } from "../errors.js";
import { by } from "../http-auth-routes.js";
import type { RouteRegistrar } from "../http-routes.js";
import { NotifyError } from "./channel.js";
import type { Notifier } from "./notifier.js";
import { applyEdit, redact, secretsChanged, type NotifySettingsStore, type NotifySettingsView } from "./settings.js";

export interface NotifySettingsAnswer {
  /** `store`: edited in the console; `config`: the config file's `notifications`; `none`: neither (alerts stay in the console). */
  source: "store" | "config" | "none";
  /** Send it back with an edit (0: never saved). */
  version: number;
  updatedAt: number | null;
  updatedBy: string | null;
  /** Whether the config file has `notifications` (what a delete goes back to). */
  configFile: boolean;
  settings: NotifySettingsView;
}

/** `{version, settings}`: the version the editor started from, and the settings (protocol's FleetNotifications, secrets optional). */
function parseEdit(text: string): { version: number; settings: unknown } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FleetError("bad_json", "the body is not JSON", 400);
  }
  const b = body as { version?: unknown; settings?: unknown } | null;
  if (typeof b !== "object" || b === null || Array.isArray(b)) throw new FleetError("bad_value", "expected {version, settings}", 400);
  for (const k of Object.keys(b)) if (k !== "version" && k !== "settings") throw new FleetError("unknown_key", `unknown key "${k}" (version, settings)`, 400);
  if (typeof b.version !== "number" || !Number.isSafeInteger(b.version) || b.version < 0) throw new FleetError("bad_value", "version must be the settings' version (0 when never saved)", 400);
  return { version: b.version, settings: b.settings };
}
const ChannelName = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function defineNotifyRoutes(
  router: RouteRegistrar,
  deps: { notifier: Notifier | undefined; settings: NotifySettingsStore; auth: AuthService; readBody: (req: http.IncomingMessage) => Promise<string>; now: () => number },
): void {
  const need = (): Notifier => {
    if (!deps.notifier) throw new FleetError("notifications_unavailable", "this fleet server runs without a notifier", 503);
    return deps.notifier;
  };
  const answer = async (n: Notifier): Promise<NotifySettingsAnswer> => {
    const version = await n.refresh();
    const row = await deps.settings.load();
    return {
      source: n.settingsFrom,
      version,
      updatedAt: row?.updatedAt ?? null,
      updatedBy: row?.updatedBy ?? null,
      configFile: Object.keys(n.fileSettings.channels).length > 0,
      settings: redact(n.settings),
    };
  };

  router.route("GET", "/api/notifications/settings", "operator", async () => ({ status: 200, body: await answer(need()) }));

  router.route("PUT", "/api/notifications/settings", "operator", async (ctx) => {
    const n = need();
    const edit = parseEdit(await deps.readBody(ctx.req));
    await n.refresh();
    const before = n.settings;
    const after = applyEdit(edit.settings, before);
    const who = by(ctx);
    try {
      const version = await deps.settings.save(after, edit.version, who.actor, deps.now());
      await deps.auth.audit({ ...who, action: "notifications.edit", target: "notifications", detail: { version, channels: Object.keys(after.channels), routes: after.routes.length, secretsChanged: secretsChanged(before, after) } });
    } catch (err) {
      await deps.auth.audit({ ...who, action: "notifications.edit", target: "notifications", ok: false, detail: { version: edit.version, error: err instanceof FleetError ? err.code : "internal" } });
      throw err;
    }
    return { status: 200, body: await answer(n) };
  });

  // Back to the config file's settings.
  router.route("DELETE", "/api/notifications/settings", "operator", async (ctx) => {
    const n = need();
    const version = await n.refresh();
    if (n.settingsFrom !== "store") throw new FleetError("not_found", "no settings were saved in the console; the config file's apply", 404);
    const next = await deps.settings.save(null, version, by(ctx).actor, deps.now());
    await deps.auth.audit({ ...by(ctx), action: "notifications.reset", target: "notifications", detail: { version: next } });
    return { status: 200, body: await answer(n) };
  });

  router.route("POST", "/api/notifications/channels/:name/test", "operator", async (ctx) => {
    const n = need();
    const name = ctx.params[0] ?? "";
    if (!ChannelName.test(name)) throw new FleetError("bad_value", "not a channel name", 400);
    const who = by(ctx);
    try {
      const out = await n.sendTest(name, who.actor);
      await deps.auth.audit({ ...who, action: "notifications.test", target: name, ok: out.ok, detail: { status: out.status, ...(out.error !== null ? { error: out.error } : {}) } });
      return { status: 200, body: out };
    } catch (err) {
      if (err instanceof NotifyError) throw new FleetError(err.code, err.message, 404);
      throw err;
    }
  });
}
