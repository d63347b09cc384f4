/**
 * @zapvend/harness — the technicians' hardware test harness (`zapvend-harness`). The checks themselves are hal's
 * (`runChecks`), shared with hal's contract suite; this package is the command line around them.
 */
export { runHarness, parseOptions, USAGE, UsageError, type HarnessIo } from "./harness.js";
