// The end of every harness run, whatever the board: the report saved as JSON, the summary line, the exit code.
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { HarnessCheck, HarnessReport } from "@zapvend/protocol";

export interface FinishOptions {
  board: HarnessReport["board"];
  results: HarnessCheck[];
  /** Where to save the report; default a timestamped file under the system's temp folder. */
  reportFile?: string | undefined;
  json: boolean;
  nowMs: number;
  say: (text: string) => void;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Saves the report (a failure to save is a warning, not a failed run), prints it or its summary; exit 0 or 1. */
export async function finishReport(o: FinishOptions): Promise<0 | 1> {
  const report: HarnessReport = { board: o.board, checks: o.results };
  const failed = o.results.filter((r) => r.status === "fail").length;
  const reportFile = o.reportFile ?? path.join(tmpdir(), "zapvend-harness", `report-${o.board}-${new Date(o.nowMs).toISOString().replace(/[:.]/g, "-")}.json`);
  try {
    await mkdir(path.dirname(reportFile), { recursive: true });
    await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    o.say(`report: ${reportFile}\n`);
  } catch (err) {
    o.stderr(`warning: could not save the report to ${reportFile}: ${(err as Error).message}\n`);
  }
  if (o.json) o.stdout(`${JSON.stringify(report)}\n`);
  else {
    const count = (s: HarnessCheck["status"]) => o.results.filter((r) => r.status === s).length;
    o.say(`${failed === 0 ? "all checks passed" : `${failed} check${failed === 1 ? "" : "s"} failed`} (${count("pass")} passed, ${count("skip")} skipped)\n`);
  }
  return failed === 0 ? 0 : 1;
}
