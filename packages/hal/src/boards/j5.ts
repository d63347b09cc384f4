import type { Clock } from "../clock.js";
import { HardwareError } from "../errors.js";
import type { IoPlugin } from "../io.js";

/**
 * Brings an IO plugin up through johnny-five's Board, which owns the plugin's handshake ("connect", "ready") for
 * every board alike. The application owns the process: no REPL, no debug console, and no SIGINT handler (johnny-five's
 * would exit the process from under the vend cycle's `finally`).
 */
export async function startJohnnyFive(io: unknown, clock: Clock, timeoutMs: number): Promise<IoPlugin> {
  // Only the Board module: johnny-five's entry point requires every one of its ~60 component classes (LCD, GPS, IMU
  // drivers...), ~4 MB of RSS on a daemon that uses none of them (hal drives the pins through the IO plugin itself).
  const { default: Board } = await import("johnny-five/lib/board.js");
  const board = new Board({ io, repl: false, debug: false, sigint: false, timeout: timeoutMs });
  return await new Promise<IoPlugin>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      cleanup();
      reject(new HardwareError("BOARD_NOT_READY", `the board did not report ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve(board.io);
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(new HardwareError("BOARD_NOT_READY", `the board failed to start: ${err instanceof Error ? err.message : String(err)}`));
    };
    function cleanup() {
      clock.clearTimeout(timer);
      board.removeListener("ready", onReady);
      board.removeListener("error", onError);
    }
    board.once("ready", onReady);
    board.once("error", onError);
  });
}
