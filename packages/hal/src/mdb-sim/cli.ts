#!/usr/bin/env node
// The sim VMC on its own: `node packages/hal/dist/mdb-sim-cli.js [--dir <dir>] [--selections 10=150,11=200]
// [--approval-timeout-s 30] [--vend-ms 1500]`. Prints `port: <tty>` (give it to the machine's `board.port` or to
// `zapvend-harness --board mdb --port`), then takes keypad and fault commands on stdin, one per line:
//   select <n> | cancel | fail | reset | out | in | off | on | garbage | unplug | status | lines | quit
// Lines exchanged with the host are printed on stderr as they pass.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { startSimVmc } from "./vmc.js";

const HELP = "commands: select <n> | cancel | fail | reset | out | in | off | on | garbage | unplug | status | lines | quit";

function selectionsOf(text: string): Array<{ selection: number; priceUnits: number }> {
  return text.split(",").map((pair) => {
    const m = /^\s*([0-9]{1,5})=([0-9]{1,5})\s*$/.exec(pair);
    if (!m) throw new Error(`--selections: "${pair}" is not <selection>=<price in VMC units>`);
    return { selection: Number(m[1]), priceUnits: Number(m[2]) };
  });
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      dir: { type: "string" },
      selections: { type: "string" },
      "approval-timeout-s": { type: "string" },
      "vend-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }));
  if (values.help) {
    process.stdout.write(`usage: mdb-sim-cli [--dir <dir>] [--selections 10=150,11=200] [--approval-timeout-s 30] [--vend-ms 1500]\n${HELP}\n`);
    process.exit(0);
  }
} catch (err) {
  process.stderr.write(`error: bad_argument: ${(err as Error).message}\n`);
  process.exit(2);
}

const vmc = await startSimVmc({
  ...(values.dir ? { dir: values.dir } : {}),
  ...(values.selections ? { selections: selectionsOf(values.selections) } : {}),
  ...(values["approval-timeout-s"] ? { approvalTimeoutMs: Number(values["approval-timeout-s"]) * 1000 } : {}),
  ...(values["vend-ms"] ? { vendDurationMs: Number(values["vend-ms"]) } : {}),
});
vmc.on("line", (l) => process.stderr.write(`${l.dir === "to-host" ? "vmc ->" : "vmc <-"} ${JSON.stringify(l.line)}\n`));
process.stdout.write(`port: ${vmc.devicePath}\n${HELP}\n`);

let closing = false;
async function stop(code: number) {
  if (closing) return;
  closing = true;
  await vmc.close();
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

const rl = createInterface({ input: process.stdin });
rl.on("line", (raw) => {
  const [cmd, arg] = raw.trim().split(/\s+/);
  try {
    switch (cmd) {
      case "select":
        vmc.select(Number(arg));
        break;
      case "cancel":
        vmc.cancel();
        break;
      case "fail":
        vmc.failNext();
        break;
      case "reset":
        vmc.reset();
        break;
      case "out":
        vmc.setInService(false);
        break;
      case "in":
        vmc.setInService(true);
        break;
      case "off":
        vmc.setPowered(false);
        break;
      case "on":
        vmc.setPowered(true);
        break;
      case "garbage":
        vmc.sendGarbage();
        break;
      case "unplug":
        void vmc.unplug().then(() => process.stdout.write("unplugged\n"));
        break;
      case "status":
        process.stdout.write(`${JSON.stringify(vmc.status())}\n`);
        break;
      case "lines":
        for (const l of vmc.lines()) process.stdout.write(`${new Date(l.atMs).toISOString()} ${l.dir} ${JSON.stringify(l.line)}\n`);
        break;
      case "quit":
        void stop(0);
        break;
      case undefined:
      case "":
        break;
      default:
        process.stdout.write(`${HELP}\n`);
    }
  } catch (err) {
    const e = err as { code?: string; message: string };
    process.stdout.write(`error: ${e.code ?? "error"}: ${e.message}\n`);
  }
});
rl.on("close", () => void stop(0));
