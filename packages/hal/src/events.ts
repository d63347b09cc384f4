import type { Logger } from "./clock.js";

/**
 * A small typed emitter: a listener that throws is caught and logged (one broken listener must not stop a pour's
 * bookkeeping), and `on` returns the function that removes the listener.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- listeners of every event share one map
type Listener = (...args: any[]) => void;

export class TypedEmitter<E extends Record<string, unknown[]>> {
  readonly #listeners = new Map<keyof E, Set<Listener>>();
  readonly #log: Logger;
  constructor(logger: Logger) {
    this.#log = logger;
  }

  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): void {
    this.#listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) {
      try {
        l(...args);
      } catch (err) {
        this.#log.error("listener threw", { event: String(event), error: String(err) });
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
