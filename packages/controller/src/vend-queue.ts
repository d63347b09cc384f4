// One delivery port: vends and test vends run one after the other, never overlapping on the hardware.
import type { Logger } from "./ports.js";

export class VendQueue {
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;

  /** `onLeft`: called each time a vend left the queue, with how many are still queued or running. */
  constructor(
    private readonly log: Logger,
    private readonly onLeft: (remaining: number) => void,
  ) {}

  /** Vends queued or running. */
  get size(): number {
    return this.queued;
  }

  /**
   * Queues `run`. `now` starts it in this tick, which only an empty queue allows (nothing else can be using the
   * hardware). A failure is logged, never thrown into the queue.
   */
  run(run: () => Promise<void>, orderId: string, now = false): void {
    this.queued++;
    const guarded = () =>
      run()
        .catch((err: unknown) => this.log.error("vend crashed", { orderId, err: String(err) }))
        .finally(() => this.left());
    this.chain = now ? Promise.all([this.chain, guarded()]).then(() => undefined) : this.chain.then(guarded);
  }

  /** Queues `run` and resolves with its result (a test vend). */
  call<T>(run: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.chain.then(run).finally(() => this.left());
    this.chain = result.then(() => undefined);
    return result;
  }

  /** Resolves once everything queued so far is done. */
  drained(): Promise<void> {
    return this.chain;
  }

  private left(): void {
    this.queued--;
    this.onLeft(this.queued);
  }
}
