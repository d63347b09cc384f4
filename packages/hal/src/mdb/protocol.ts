// The Qibixx MDB interface's ASCII protocol, cashless-slave part, both directions. Sources (see README):
// docs.qibixx.com api-general (115200 8N1, uppercase = command to the interface, lowercase = line from it),
// api-cashless-slave (C,0/C,1, C,START, C,STOP, C,VEND,<amount>, C,VEND,-1, the c,STATUS states), api-configuration
// (C,SETCONF,<param>=<value> -> c,SET,OK), and the always-idle tutorial (c,STATUS,VEND,<amount>,<item>,
// c,VEND,SUCCESS, c,ERR,VEND 3 = vend failure). Everything here is strict: a line that does not match exactly is
// reported as bad and never acted on.

/** A line from the interface (HAT -> host), parsed. */
export type HatLine =
  | { kind: "ack" } // r,ACK: the VMC addressed the slave; noise
  | { kind: "slave-on"; on: boolean } // c,1 / c,0
  | { kind: "status"; state: "inactive" | "disabled" | "enabled" } // c,STATUS,INACTIVE|DISABLED|ENABLED
  | { kind: "status-idle"; funds?: string } // c,STATUS,IDLE[,<funds>]
  | { kind: "status-vend"; amount: string; selection: number } // c,STATUS,VEND,<amount>,<item>
  | { kind: "vend-success" } // c,VEND,SUCCESS
  | { kind: "vend-error"; code: number } // c,ERR,VEND <n> (3 failure, 1 cancelled, 5 reset) or c,ERR,"VEND <n>"
  | { kind: "error"; text: string } // any other c,ERR,<text>
  | { kind: "set-ok" } // c,SET,OK
  | { kind: "unknown-command"; text: string } // c,UNKNOWN,<...>
  | { kind: "version"; version: string; id?: string } // v,<version>[,<id>]
  | { kind: "other"; prefix: string; text: string }; // x,… (sniffer), h,…, f,…, l,…, d,… (master side): not ours

export type ParseResult = { ok: true; line: HatLine } | { ok: false; reason: string };

const AMOUNT = "[0-9]{1,7}(?:\\.[0-9]{1,4})?";
const RE_VEND = new RegExp(`^c,STATUS,VEND,(${AMOUNT}),([0-9]{1,5})$`);
const RE_IDLE = new RegExp(`^c,STATUS,IDLE(?:,(${AMOUNT}))?$`);
const RE_VEND_ERR = /^c,ERR,(?:"VEND (-?[0-9]{1,2})"|VEND (-?[0-9]{1,2}))$/;
const RE_ERR = /^c,ERR,(.{1,64})$/;
const RE_VERSION = /^v,([0-9A-Za-z.\-_]{1,32})(?:,([0-9A-Za-z\-_]{1,64}))?$/;
const RE_OTHER = /^([xhfld]),([\x20-\x7e]{0,200})$/;

/** Parses one line (without its terminator) read from the interface. */
export function parseHatLine(line: string): ParseResult {
  if (line.length > 256) return { ok: false, reason: "line too long" };
  if (!/^[\x20-\x7e]*$/.test(line)) return { ok: false, reason: "non-printable or non-ASCII bytes" };
  switch (line) {
    case "r,ACK":
      return { ok: true, line: { kind: "ack" } };
    case "c,1":
      return { ok: true, line: { kind: "slave-on", on: true } };
    case "c,0":
      return { ok: true, line: { kind: "slave-on", on: false } };
    case "c,STATUS,INACTIVE":
      return { ok: true, line: { kind: "status", state: "inactive" } };
    case "c,STATUS,DISABLED":
      return { ok: true, line: { kind: "status", state: "disabled" } };
    case "c,STATUS,ENABLED":
      return { ok: true, line: { kind: "status", state: "enabled" } };
    case "c,VEND,SUCCESS":
      return { ok: true, line: { kind: "vend-success" } };
    case "c,SET,OK":
      return { ok: true, line: { kind: "set-ok" } };
  }
  let m: RegExpExecArray | null;
  if ((m = RE_VEND.exec(line))) {
    const selection = Number(m[2]);
    if (selection > 0xffff) return { ok: false, reason: "item number above 65535" };
    return { ok: true, line: { kind: "status-vend", amount: m[1]!, selection } };
  }
  if ((m = RE_IDLE.exec(line))) return { ok: true, line: m[1] !== undefined ? { kind: "status-idle", funds: m[1] } : { kind: "status-idle" } };
  if ((m = RE_VEND_ERR.exec(line))) return { ok: true, line: { kind: "vend-error", code: Number(m[1] ?? m[2]) } };
  if ((m = RE_ERR.exec(line))) return { ok: true, line: { kind: "error", text: m[1]! } };
  if (line.startsWith("c,UNKNOWN")) return { ok: true, line: { kind: "unknown-command", text: line.slice(2) } };
  if ((m = RE_VERSION.exec(line))) return { ok: true, line: m[2] ? { kind: "version", version: m[1]!, id: m[2] } : { kind: "version", version: m[1]! } };
  if ((m = RE_OTHER.exec(line))) return { ok: true, line: { kind: "other", prefix: m[1]!, text: m[2]! } };
  if (line.startsWith("c,STATUS,VEND")) return { ok: false, reason: "malformed vend request" };
  if (line.startsWith("c,")) return { ok: false, reason: "unknown cashless line" };
  return { ok: false, reason: "unknown line" };
}

/** A command from the host to the interface, as the sim VMC reads it. */
export type HostCommand =
  | { kind: "version" } // V
  | { kind: "hardware" } // H
  | { kind: "slave"; on: boolean } // C,1 / C,0
  | { kind: "setconf"; param: string; value: string } // C,SETCONF,<p>=<v>
  | { kind: "start"; funds: string } // C,START,<funds>
  | { kind: "stop" } // C,STOP
  | { kind: "approve"; amount: string; item?: string } // C,VEND,<amount>[,<item>]
  | { kind: "deny" } // C,VEND,-1
  | { kind: "display"; text: string } // C,DISPLAY,<text>
  | { kind: "revalue"; accept: boolean }; // C,REVALUE,1|0

export function parseHostCommand(line: string): HostCommand | undefined {
  if (line === "V") return { kind: "version" };
  if (line === "H") return { kind: "hardware" };
  if (line === "C,1") return { kind: "slave", on: true };
  if (line === "C,0") return { kind: "slave", on: false };
  if (line === "C,STOP") return { kind: "stop" };
  if (line === "C,VEND,-1") return { kind: "deny" };
  if (line === "C,REVALUE,1" || line === "C,REVALUE,0") return { kind: "revalue", accept: line.endsWith("1") };
  let m: RegExpExecArray | null;
  if ((m = /^C,SETCONF,([a-z-]{1,32})=([0-9A-Za-z]{1,16})$/.exec(line))) return { kind: "setconf", param: m[1]!, value: m[2]! };
  if ((m = new RegExp(`^C,START,(${AMOUNT})(?:,[0-9]{1,5})?$`).exec(line))) return { kind: "start", funds: m[1]! };
  if ((m = new RegExp(`^C,VEND,(${AMOUNT})(?:,([0-9]{1,5}))?$`).exec(line))) return m[2] ? { kind: "approve", amount: m[1]!, item: m[2] } : { kind: "approve", amount: m[1]! };
  if ((m = /^C,DISPLAY,([\x20-\x7e]{0,32})$/.exec(line))) return { kind: "display", text: m[1]! };
  return undefined;
}

/** The configuration commands for `settings` (send after `C,0`; each is answered `c,SET,OK`). */
export function setconfCommands(s: { currencyCode: number; scaleFactor: number; decimalPlaces: number; alwaysIdle: boolean; vendTimeoutSec?: number }): string[] {
  const cmds = [
    // The currency code is MDB's: 0x1 followed by the ISO 4217 numeric code written as hex digits (EUR 978 -> 0x1978).
    `C,SETCONF,mdb-currency-code=0x1${String(s.currencyCode).padStart(3, "0")}`,
    `C,SETCONF,mdb-scale-factor=${s.scaleFactor}`,
    `C,SETCONF,mdb-decimal-places=${s.decimalPlaces}`,
    `C,SETCONF,mdb-always-idle=${s.alwaysIdle ? 1 : 0}`,
  ];
  if (s.vendTimeoutSec !== undefined) cmds.push(`C,SETCONF,mdb-timeout-vend=${s.vendTimeoutSec}`);
  return cmds;
}

/**
 * Splits a byte stream into lines. The interface ends its lines with CRLF (every open project written against real
 * hardware splits on \r\n); a bare \n or \r is accepted too, so a host-side sim and hand-typed input work. Bytes
 * past `maxLine` without a terminator are given back as one over-long line (then reported as bad), never buffered
 * without bound.
 */
export class LineSplitter {
  #buf = "";
  constructor(readonly maxLine = 512) {}
  push(chunk: Buffer | string, onLine: (line: string) => void): void {
    // latin1 keeps one char per byte, so a garbage byte stays visible (and non-ASCII) instead of becoming U+FFFD.
    this.#buf += typeof chunk === "string" ? chunk : chunk.toString("latin1");
    for (;;) {
      const i = this.#buf.search(/[\r\n]/);
      if (i < 0) break;
      const line = this.#buf.slice(0, i);
      this.#buf = this.#buf.slice(this.#buf[i] === "\r" && this.#buf[i + 1] === "\n" ? i + 2 : i + 1);
      if (line.length > 0) onLine(line);
    }
    if (this.#buf.length > this.maxLine) {
      const line = this.#buf;
      this.#buf = "";
      onLine(line);
    }
  }
}
