/**
 * A signal that aborts after `ms` or when a parent signal does, released at once with
 * `using`. Unlike `AbortSignal.timeout`/`any`, nothing outlives the call it guards: thousands
 * of rooms each making requests would otherwise keep timers and dependent signals alive.
 */

/** A disposable timeout signal. */
export class Deadline implements Disposable {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #parent?: AbortSignal;
  readonly #onParentAbort = () => this.#controller.abort();
  /** True once the time ran out (as opposed to the parent aborting). */
  timedOut = false;

  constructor(ms: number, parent?: AbortSignal) {
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#controller.abort();
    }, ms);
    this.#parent = parent;
    if (parent?.aborted) this.#controller.abort();
    else parent?.addEventListener("abort", this.#onParentAbort, { once: true });
  }

  /** Aborts at the deadline or with the parent. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#parent?.removeEventListener("abort", this.#onParentAbort);
  }
}
