/**
 * One timer for many deadlines: a min-heap of entries ordered by time, served by a single
 * `clock.sleep` on the earliest. Every room keeps its heartbeat, auth deadline and drain checks
 * here as entries instead of sleeping async loops with a timer, a signal and closures apiece.
 */
import type { Clock } from "../util/clock.ts";

/**
 * An owner of deadlines that are called as its method rather than through a closure apiece
 * (a room's heartbeat lives as long as the room): `onTimer(entry)` gets the entry that fired.
 */
export interface TimerTarget {
  onTimer(entry: TimerEntry): void;
}

/** A deadline in a {@linkcode TimerQueue}; `cancel()` drops it if it has not fired. */
export class TimerEntry {
  /** Clock time it fires at. */
  readonly time: number;
  readonly #callback: (() => void) | TimerTarget;
  #queue: TimerQueue | undefined;
  /** Position in the heap, -1 once fired or cancelled. */
  index = -1;

  constructor(queue: TimerQueue, time: number, callback: (() => void) | TimerTarget) {
    this.#queue = queue;
    this.time = time;
    this.#callback = callback;
  }

  /** Removes the entry; nothing happens if it already fired or was cancelled. */
  cancel(): void {
    this.#queue?.remove(this);
    this.#queue = undefined;
  }

  /** Runs the callback (the queue calls this once the entry is due). */
  fire(): void {
    this.#queue = undefined;
    const callback = this.#callback;
    if (typeof callback === "function") callback();
    else callback.onTimer(this);
  }
}

/** Deadlines for many owners on one timer; call `at()` to add one. */
export class TimerQueue implements Disposable {
  readonly #clock: Clock;
  readonly #heap: TimerEntry[] = [];
  /** Aborts the pending sleep (re-arming earlier, or nothing left to wait for). */
  #wake?: AbortController;
  #armedAt = Infinity;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Entries waiting. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Calls `callback` (or `callback.onTimer(entry)`) once the clock reaches `time` (entries due
   * together fire in time order). The callback must not throw; an error it throws is reported
   * and the queue goes on.
   */
  at(time: number, callback: (() => void) | TimerTarget): TimerEntry {
    const entry = new TimerEntry(this, time, callback);
    entry.index = this.#heap.length;
    this.#heap.push(entry);
    this.#up(entry.index);
    this.#arm();
    return entry;
  }

  /** Removes `entry` if it is waiting (use {@linkcode TimerEntry.cancel}). */
  remove(entry: TimerEntry): void {
    const i = entry.index;
    if (i < 0 || this.#heap[i] !== entry) return;
    entry.index = -1;
    const last = this.#heap.pop()!;
    if (last !== entry) {
      this.#heap[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(last.index);
    }
    if (this.#heap.length === 0) this.#disarm();
  }

  /** Drops every entry and the pending sleep. */
  [Symbol.dispose](): void {
    for (const entry of this.#heap) entry.index = -1;
    this.#heap.length = 0;
    this.#disarm();
  }

  #fire(): void {
    const now = this.#clock.now();
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].time <= now) {
      const entry = heap[0];
      this.remove(entry);
      try {
        entry.fire();
      } catch (error) {
        reportError(error);
      }
    }
    this.#arm();
  }

  /** Sleeps until the earliest entry unless a sleep already ends by then. */
  #arm(): void {
    const first = this.#heap[0];
    if (first === undefined) return this.#disarm();
    if (this.#wake && this.#armedAt <= first.time) return;
    this.#disarm();
    const wake = new AbortController();
    this.#wake = wake;
    this.#armedAt = first.time;
    this.#clock.sleep(first.time - this.#clock.now(), wake.signal).then(() => {
      if (wake.signal.aborted) return; // replaced by an earlier sleep, or disarmed
      this.#wake = undefined;
      this.#armedAt = Infinity;
      this.#fire();
    });
  }

  #disarm(): void {
    this.#wake?.abort();
    this.#wake = undefined;
    this.#armedAt = Infinity;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const entry = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].time <= entry.time) break;
      heap[i] = heap[parent];
      heap[i].index = i;
      i = parent;
    }
    heap[i] = entry;
    entry.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const entry = heap[i];
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right].time < heap[left].time ? right : left;
      if (heap[child].time >= entry.time) break;
      heap[i] = heap[child];
      heap[i].index = i;
      i = child;
    }
    heap[i] = entry;
    entry.index = i;
  }
}
