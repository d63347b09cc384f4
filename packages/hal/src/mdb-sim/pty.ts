// A pseudo-terminal pair made by socat (Debian package `socat`): two pty slaves whose masters socat joins, so both
// the MDB device and the sim VMC open a real tty with `serialport` and the production serial path runs end to end.
// Why socat and not node-pty: node-pty compiles a native addon at install time (node-gyp, a toolchain on the Pi and
// in CI) and gives one master/slave pair to a child process, not two tty paths; socat is one apt package, and
// killing it is exactly "the HAT was unplugged" for whoever holds the other end.
import { spawn, type ChildProcess } from "node:child_process";
import { lstat, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimVmcError, SimVmcErrorCode } from "./errors.js";

export interface PtyPair {
  /** The tty the MDB device opens (stands for /dev/ttyAMA0). */
  devicePath: string;
  /** The tty the sim VMC opens. */
  vmcPath: string;
  /** Kills socat: both ends see the line drop (EIO/hang-up), as with an unplugged HAT. */
  close(): Promise<void>;
  readonly alive: boolean;
}

export async function openPtyPair(opts: { dir?: string; timeoutMs?: number } = {}): Promise<PtyPair> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "zapvend-mdb-")));
  const devicePath = join(dir, "mdb-device");
  const vmcPath = join(dir, "mdb-vmc");
  await rm(devicePath, { force: true });
  await rm(vmcPath, { force: true });
  let child: ChildProcess;
  try {
    // raw,echo=0: no line discipline on either side (no echo, no CR/LF translation), like a UART.
    child = spawn("socat", [`pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${vmcPath}`], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    throw new SimVmcError(SimVmcErrorCode.SOCAT_MISSING, `cannot start socat (apt-get install socat): ${String(err)}`);
  }
  let exited = false;
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString();
  });
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", (err) => {
      exited = true;
      stderr += String(err);
      resolve();
    });
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  // socat makes the links once both ptys exist: poll for them (a few ms normally, longer on a loaded machine).
  for (;;) {
    if (exited) {
      const missing = /ENOENT/.test(stderr);
      throw new SimVmcError(missing ? SimVmcErrorCode.SOCAT_MISSING : SimVmcErrorCode.PTY_FAILED, missing ? "socat is not installed (apt-get install socat)" : `socat exited: ${stderr.trim()}`);
    }
    if ((await exists(devicePath)) && (await exists(vmcPath))) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new SimVmcError(SimVmcErrorCode.PTY_FAILED, `socat made no pty pair within ${opts.timeoutMs ?? 10_000} ms: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    devicePath,
    vmcPath,
    get alive() {
      return !exited;
    },
    async close() {
      if (!exited) child.kill("SIGTERM");
      await exitedPromise;
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
