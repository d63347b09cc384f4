// The slice of johnny-five's API (and of its IO plugins) hal uses: these packages ship no types. hal loads only
// johnny-five's Board module (see boards/j5.ts), never its entry point.
// The Board module alone (what `startJohnnyFive` loads): `module.exports = Board`.
declare module "johnny-five/lib/board.js" {
  import type { EventEmitter } from "node:events";
  import type { IoPlugin } from "../io.js";
  interface BoardOptions {
    io?: unknown;
    port?: string;
    repl?: boolean;
    debug?: boolean;
    sigint?: boolean;
    timeout?: number;
  }
  interface Board extends EventEmitter {
    readonly io: IoPlugin;
    readonly isReady: boolean;
  }
  const Board: new (options: BoardOptions) => Board;
  export default Board;
}

declare module "firmata-io" {
  import type { IoPlugin } from "../io.js";
  const bindTransport: { Firmata: new (transport: unknown, options?: Record<string, unknown>) => IoPlugin };
  export default bindTransport;
}

// Optional, arm only: present on a Pi, absent elsewhere.
declare module "raspi-io" {
  export class RaspiIO {
    constructor(options?: Record<string, unknown>);
  }
}
