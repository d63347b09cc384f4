// `zapvend-harness --board mdb`: the checks for a machine whose own controller (VMC) talks MDB to zapvend's
// interface (Qibixx MDB Pi HAT or MDB-USB). The checks are hal's (`runMdbChecks`), shared with its contract suite.
import { parseArgs } from "node:util";
import type { HarnessCheck } from "@zapvend/protocol";
import { systemClock } from "@zapvend/hal";
import { openMdbDevice, runMdbChecks, MDB_CHECK_NAMES } from "@zapvend/hal/mdb";
import type { HarnessIo } from "./harness.js";
import { finishReport } from "./report.js";

export const MDB_USAGE = `usage: zapvend-harness --board mdb --port <device> [--selection <n>] [--currency <iso numeric>]
                       [--scale-factor <n>] [--decimal-places <n>] [--report <file>] [--yes] [--json]

  --port            the MDB interface: /dev/serial0 or /dev/ttyAMA0 (Pi HAT), /dev/ttyACM0 (MDB-USB)
  --selection       the selection to test-vend; others pressed are denied. Default: the first one pressed
  --currency        ISO 4217 numeric code the reader announces. Default 978 (EUR)
  --scale-factor    the machine's MDB scale factor. Default 1
  --decimal-places  the machine's MDB decimal places. Default 2
  --yes             do not ask before the test vend (it gives one product away)
  --json            print the report as JSON on stdout (progress goes to stderr)

Checks: ${MDB_CHECK_NAMES.join(", ")}.
Exit status: 0 when every check passes, 1 when any fails, 2 when the harness could not run.`;

const MARK = { pass: "PASS", fail: "FAIL", skip: "skip" } as const;

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} must be an integer ${min}..${max}, not "${v}"`);
  return Number(v);
}

export async function runMdbHarness(argv: string[], io: HarnessIo): Promise<number> {
  let o: { port: string; selection?: number; currency: number; scale: number; decimals: number; report?: string; yes: boolean; json: boolean };
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        board: { type: "string" },
        port: { type: "string" },
        selection: { type: "string" },
        currency: { type: "string" },
        "scale-factor": { type: "string" },
        "decimal-places": { type: "string" },
        report: { type: "string" },
        yes: { type: "boolean", short: "y" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.stdout(`${MDB_USAGE}\n`);
      return 0;
    }
    if (!values.port) throw new Error("--port is required for --board mdb, e.g. /dev/serial0");
    const selection = int("selection", values.selection, 0, 65535);
    o = {
      port: values.port,
      ...(selection !== undefined ? { selection } : {}),
      currency: int("currency", values.currency, 1, 999) ?? 978,
      scale: int("scale-factor", values["scale-factor"], 1, 100) ?? 1,
      decimals: int("decimal-places", values["decimal-places"], 0, 3) ?? 2,
      ...(values.report ? { report: values.report } : {}),
      yes: values.yes ?? false,
      json: values.json ?? false,
    };
  } catch (err) {
    io.stderr(`error: bad_argument: ${(err as Error).message}\n(zapvend-harness --board mdb --help for usage)\n`);
    return 2;
  }
  const say = o.json ? io.stderr : io.stdout;
  const clock = io.clock ?? systemClock;

  let allowVend = o.yes;
  if (!allowVend) {
    if (!io.ask) {
      io.stderr("error: confirmation_required: the test vend gives a product away; there is no terminal to confirm on, so pass --yes to run it\n");
      return 2;
    }
    const answer = await io.ask("The test vend approves one selection for free: a product comes out. Continue [y/N] ");
    allowVend = /^y(es)?$/i.test((answer ?? "").trim());
    if (!allowVend) say("Test vend declined: only the checks that vend nothing will run.\n");
  }

  const device = openMdbDevice({ path: o.port, settings: { currencyCode: o.currency, scaleFactor: o.scale, decimalPlaces: o.decimals }, clock });
  say(`zapvend-harness: mdb interface on ${o.port} (currency ${o.currency}, scale ${o.scale}, ${o.decimals} decimals)\n`);
  let i = 0;
  const total = MDB_CHECK_NAMES.length;
  const line = (r: HarnessCheck) => `${`[${++i}/${total}] ${r.name} `.padEnd(40, ".")} ${MARK[r.status]}${r.code ? ` ${r.code}` : ""}  ${r.detail}`;
  let results: HarnessCheck[];
  try {
    results = await runMdbChecks(
      {
        device,
        clock,
        ...(io.signal ? { signal: io.signal } : {}),
        allowVend,
        ...(o.selection !== undefined ? { testSelection: o.selection } : {}),
        onPrompt: (t) => say(`  >>> ${t}\n`),
        onProgress: (p) => say(`      ${p.check}: ${p.detail ?? ""}\n`),
      },
      (r) => say(`${line(r)}\n`),
    );
  } finally {
    // Leave the interface as found: the slave off, so the VMC stops selling through a reader nobody drives.
    await device.disable().catch(() => undefined);
    await device.close();
  }

  return finishReport({ board: "mdb", results, reportFile: o.report, json: o.json, nowMs: clock.now(), say, stdout: io.stdout, stderr: io.stderr });
}
