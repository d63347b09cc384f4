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

/**
 * socat must not outlive the process that made the pair: a SIGKILLed daemon otherwise leaves it running, holding the
 * two ptys (and a restarted daemon's links point at a fresh pair while the old socat lingers). socat has no option
 * to follow its parent (Debian's socat 1.7.4.4, `socat -hhh`: `sighup`/`sigint`/`sigquit` pass signals on to socat's
 * own exec'd child, `ignoreeof`/`-t` act on its data addresses, here two ptys), and Node cannot set
 * prctl(PR_SET_PDEATHSIG) on a child. So socat runs under this small
 * POSIX sh watchdog: its stdin is a pipe from this process, whose write end the kernel closes when this process dies,
 * however it dies; the watcher's `read` then sees EOF and ends socat. A normal close() ends the pipe the same way.
 * The watchdog also ends socat on SIGTERM/SIGINT/SIGHUP, and exits with socat's status when socat ends by itself.
 * ("$@" are socat's arguments; fd 3 keeps the pipe for the background watcher, whose own stdin sh sets to /dev/null.)
 */
const WATCHDOG = [
  "exec 3<&0",
  'socat "$@" </dev/null &',
  "s=$!",
  "trap 'kill -TERM $s 2>/dev/null' TERM INT HUP",
  "( while read -r line <&3; do :; done; kill -TERM $s 2>/dev/null ) &",
  "w=$!",
  "exec 3<&-",
  'wait "$s"; rc=$?',
  // A trapped signal interrupts `wait`: wait for socat itself to be gone.
  'while kill -0 "$s" 2>/dev/null; do wait "$s"; rc=$?; done',
  'kill "$w" 2>/dev/null',
  'exit "$rc"',
].join("\n");

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
    // raw,echo=0: no line discipline on either side (no echo, no CR/LF translation), like a UART. socat runs under
    // the watchdog (below), whose stdin is a pipe from this process.
    child = spawn("/bin/sh", ["-c", WATCHDOG, "zapvend-pty-watchdog", `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${vmcPath}`], {
      stdio: ["pipe", "ignore", "pipe"],
    });
  } catch (err) {
    throw new SimVmcError(SimVmcErrorCode.SOCAT_MISSING, `cannot start socat (apt-get install socat): ${String(err)}`);
  }
  // The watchdog may be gone before a write or the end of its stdin: nothing is ever written, so nothing is lost.
  child.stdin?.on("error", () => {});
  let exited = false;
  let exitCode: number | null = null;
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString();
  });
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", (code) => {
      exited = true;
      exitCode = code;
      resolve();
    });
    child.once("error", (err) => {
      exited = true;
      stderr += String(err);
      resolve();
    });
  });
  /** Ends socat the way the death of this process would: the watchdog's stdin closes. SIGTERM to the shell as a backstop. */
  const end = () => {
    if (exited) return;
    child.stdin?.destroy();
    const t = setTimeout(() => {
      if (!exited) child.kill("SIGTERM");
    }, 2_000);
    t.unref();
    void exitedPromise.then(() => clearTimeout(t));
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  // socat makes the links once both ptys exist: poll for them (a few ms normally, longer on a loaded machine).
  for (;;) {
    if (exited) {
      // 127: the shell found no socat.
      const missing = exitCode === 127 || /ENOENT|socat: not found/.test(stderr);
      throw new SimVmcError(missing ? SimVmcErrorCode.SOCAT_MISSING : SimVmcErrorCode.PTY_FAILED, missing ? "socat is not installed (apt-get install socat)" : `socat exited: ${stderr.trim()}`);
    }
    if ((await exists(devicePath)) && (await exists(vmcPath))) break;
    if (Date.now() > deadline) {
      end();
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
      end();
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
