// The real gpiod binding: lines through @iiot2k/gpiox (an optional dependency, prebuilt for linux arm and arm64,
// loaded only here), chips listed by libgpiod's own `gpiodetect`, PWM through the kernel's sysfs PWM files.
//
// Contracts used (read from the sources named, not copied):
// - @iiot2k/gpiox 2.1.4, API.md: init_gpio(pin, mode, setval) requests a line (outputs at `setval`), set_gpio,
//   deinit_gpio; watch_gpio(pin, mode, debounceUs, edge, cb(state, edge, pin)) requests an input with bias and edge
//   detection through the GPIO character device v2 uAPI and returns the current level; error_text(). It drives
//   /dev/gpiochip4 where that exists (the Pi 5's RP1 on early kernels, a compatibility link since) and /dev/gpiochip0
//   otherwise (CHANGELOG 2.1.4), so the chip found by label is checked to be that device.
// - libgpiod tools (1.6 on bookworm, 2.x on trixie): `gpiodetect` prints one line per chip, "gpiochip0 [pinctrl-rp1] (54 lines)".
// - Linux Documentation/ABI/testing/sysfs-class-pwm: pwmchipN/{npwm,export,unexport}, pwmchipN/pwmM/{period,duty_cycle,enable} in ns.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { HardwareError } from "../../errors.js";
import type { GpioChip, GpioChipInfo, GpiodBinding, PwmChipInfo, PwmOutput } from "./binding.js";

interface Gpiox {
  GPIO_MODE_INPUT_NOPULL: number;
  GPIO_MODE_INPUT_PULLDOWN: number;
  GPIO_MODE_INPUT_PULLUP: number;
  GPIO_MODE_OUTPUT: number;
  GPIO_EDGE_BOTH: number;
  init_gpio(pin: number, mode: number, setval: number): boolean;
  set_gpio(pin: number, value: number): boolean;
  deinit_gpio(pin: number): boolean;
  watch_gpio(pin: number, mode: number, debounceUs: number, edge: number, cb: (state: number | boolean) => void): number | undefined;
  error_text(): string;
}

const execFileP = promisify(execFile);

/** "gpiochip0 [pinctrl-rp1] (54 lines)" -> chip info (the same line in libgpiod 1.6 and 2.x). */
export function parseGpiodetect(text: string): GpioChipInfo[] {
  const out: GpioChipInfo[] = [];
  for (const line of text.split("\n")) {
    const m = /^(gpiochip[0-9]+) \[([^\]]*)\] \(([0-9]+) lines?\)/.exec(line.trim());
    if (m) out.push({ path: `/dev/${m[1]}`, label: m[2]!, lines: Number(m[3]) });
  }
  return out;
}

const rdev = (p: string): number | null => {
  try {
    return statSync(p).rdev;
  } catch {
    return null;
  }
};

export async function openGpioxBinding(): Promise<GpiodBinding> {
  // A CommonJS addon: loaded with require from here, where hal's optional dependency resolves.
  const gpiox = createRequire(import.meta.url)("@iiot2k/gpiox") as Gpiox | undefined;
  if (!gpiox || typeof gpiox.init_gpio !== "function") throw new Error("@iiot2k/gpiox has no driver for this platform (linux arm or arm64 only)");
  const fail = (what: string): never => {
    throw new HardwareError("BOARD_NOT_READY", `${what}: ${gpiox.error_text() || "refused"} (is the line used by another program, and is this user in group gpio?)`);
  };
  return {
    name: "@iiot2k/gpiox",
    async listChips() {
      let stdout: string;
      try {
        ({ stdout } = await execFileP("gpiodetect", [], { timeout: 10_000 }));
      } catch (err) {
        throw new HardwareError("BOARD_NOT_READY", `could not list the GPIO chips with gpiodetect (sudo apt install gpiod): ${err instanceof Error ? err.message : String(err)}`);
      }
      return parseGpiodetect(stdout);
    },
    async openChip(info): Promise<GpioChip> {
      const driven = existsSync("/dev/gpiochip4") ? "/dev/gpiochip4" : "/dev/gpiochip0";
      const want = rdev(info.path);
      if (want === null || want !== rdev(driven)) {
        throw new HardwareError("BOARD_NOT_READY", `the GPIO chip labelled ${info.label} is ${info.path}, but @iiot2k/gpiox drives ${driven}: this kernel numbers its chips in a way the binding does not know`);
      }
      return {
        info,
        requestOutput(offset, initial) {
          if (!gpiox.init_gpio(offset, gpiox.GPIO_MODE_OUTPUT, initial)) fail(`GPIO${offset} as an output`);
          return {
            setValue: (level) => {
              if (!gpiox.set_gpio(offset, level)) fail(`GPIO${offset} set to ${level}`);
            },
            release: () => void gpiox.deinit_gpio(offset),
          };
        },
        requestInput(offset, req, _consumer, onEdge) {
          const mode = req.bias === "pull-up" ? gpiox.GPIO_MODE_INPUT_PULLUP : req.bias === "pull-down" ? gpiox.GPIO_MODE_INPUT_PULLDOWN : gpiox.GPIO_MODE_INPUT_NOPULL;
          // gpiox reads the edge events in its own thread and calls back per edge; it does not pass the kernel's
          // timestamp on, so timestampNs is null here.
          const initial = gpiox.watch_gpio(offset, mode, req.debounceUs, gpiox.GPIO_EDGE_BOTH, (state) => onEdge({ level: state ? 1 : 0, timestampNs: null }));
          if (initial === undefined) fail(`GPIO${offset} as an input with edge detection`);
          return { initialLevel: initial ? 1 : 0, release: () => void gpiox.deinit_gpio(offset) };
        },
        close() {},
      };
    },
    async listPwmChips() {
      const root = "/sys/class/pwm";
      let names: string[];
      try {
        names = readdirSync(root).filter((n) => /^pwmchip[0-9]+$/.test(n));
      } catch {
        return [];
      }
      return names.map((n): PwmChipInfo => {
        const dir = path.join(root, n);
        let compatible: string[] = [];
        try {
          compatible = readFileSync(path.join(dir, "device/of_node/compatible"), "latin1").split("\0").filter(Boolean);
        } catch {
          // no device-tree node: not one of the Pi's PWM blocks
        }
        return { path: dir, compatible, channels: Number(readFileSync(path.join(dir, "npwm"), "utf8").trim()) };
      });
    },
    async openPwm(chip, channel, periodNs): Promise<PwmOutput> {
      const dir = path.join(chip.path, `pwm${channel}`);
      const write = (file: string, value: string | number) => writeFileSync(path.join(dir, file), String(value));
      try {
        if (!existsSync(dir)) writeFileSync(path.join(chip.path, "export"), String(channel));
        // udev gives the new files to group gpio a moment after the export.
        for (let i = 0; i < 50; i++) {
          try {
            write("duty_cycle", 0);
            break;
          } catch (err) {
            if (i === 49) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        write("period", periodNs);
        write("duty_cycle", 0);
        write("enable", 1);
      } catch (err) {
        throw new HardwareError("BOARD_NOT_READY", `could not set up ${dir}: ${err instanceof Error ? err.message : String(err)}`);
      }
      return {
        periodNs,
        setDutyNs: (dutyNs) => write("duty_cycle", Math.max(0, Math.min(periodNs, Math.round(dutyNs)))),
        async close() {
          write("duty_cycle", 0);
          write("enable", 0);
          writeFileSync(path.join(chip.path, "unexport"), String(channel));
        },
      };
    },
  };
}
