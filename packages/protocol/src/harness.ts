import { z } from "zod";
import { text } from "./common.js";

export const CheckStatus = { PASS: "pass", FAIL: "fail", SKIP: "skip" } as const;
export type CheckStatus = (typeof CheckStatus)[keyof typeof CheckStatus];

/** One hardware check of the technicians' harness (`zapvend-harness --json`), also shown in the kiosk service menu. */
export const HarnessCheck = z.object({
  name: text(80),
  status: z.enum(["pass", "fail", "skip"]),
  /** The fault code when it failed (see `FaultCode`). */
  code: text(64).optional(),
  detail: text(500),
  /** What was measured: pulses, ml, ms, volts... keyed by a name with its unit. */
  measured: z.record(z.string().max(64), z.union([z.number(), z.string().max(200), z.boolean()])).optional(),
});
export type HarnessCheck = z.infer<typeof HarnessCheck>;

export const HarnessReport = z.object({
  board: z.enum(["sim", "raspi", "firmata", "mdb"]),
  checks: z.array(HarnessCheck).max(500),
});
export type HarnessReport = z.infer<typeof HarnessReport>;
