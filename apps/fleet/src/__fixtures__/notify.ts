// Shared by the notify tests: an alert, a notifications config, and a clock whose one-shot timers fire at once
// while recording the delays asked for (the retry backoff is asserted, not waited for).
import type { Alert, FleetNotifications } from "@zapvend/protocol";
import { FleetNotifications as FleetNotificationsSchema } from "@zapvend/protocol";
import type { Clock } from "../clock.js";

export function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: "a-1",
    machineId: "m-1",
    kind: "door-open",
    severity: "critical",
    message: "the door of m-1 is open outside service",
    raisedAt: Date.UTC(2026, 11, 7, 22, 0),
    clearedAt: null,
    acknowledgedAt: null,
    ...over,
  };
}

export function notifications(input: unknown): FleetNotifications {
  return FleetNotificationsSchema.parse(input);
}

export function instantClock(nowMs: number): Clock & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    now: () => nowMs,
    setInterval: () => 0,
    clearInterval: () => {},
    setTimeout: (fn, ms) => {
      delays.push(ms);
      queueMicrotask(fn);
      return 0;
    },
    clearTimeout: () => {},
  };
}
