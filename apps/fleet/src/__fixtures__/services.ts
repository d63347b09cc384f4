// The outside services some fleet suites need (an MQTT broker, Chromium, PostgreSQL), and what a suite does when one
// is missing: on a developer's machine it is skipped with the reason printed; where `.ci/run` installed and started
// them (ZAPVEND_REQUIRE_SERVICES=1) a missing one fails the suite instead of letting it pass as skipped.
import net from "node:net";
import { testFileBroker } from "@zapvend/mqtt-bridge/testing";
import { afterAll } from "vitest";

/**
 * The MQTT broker of the calling test file: TEST_MQTT_URL when set, else a private Mosquitto stopped after the file
 * (suites running side by side on one broker saw each other's retained fleet state and machines), else the shared
 * one at 127.0.0.1:1883.
 */
export function fileBroker(): Promise<string> {
  return testFileBroker(process.env.TEST_MQTT_URL, afterAll);
}

/** Whether something accepts TCP connections at the URL's host and port. */
export async function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 1883) });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/**
 * `null` when the service is there; otherwise the reason to skip, printed once. Throws instead when the run requires
 * every service (CI), so a broken install step shows as a failure, not as skipped tests.
 */
export function missingService(suite: string, available: boolean, reason: string): string | null {
  if (available) return null;
  if (process.env.ZAPVEND_REQUIRE_SERVICES === "1") throw new Error(`[${suite}] required service missing: ${reason}`);
  console.warn(`[${suite}] skipped: ${reason}`);
  return reason;
}

/** Polls `fn` every 25 ms until it returns a truthy value, or fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
