/** A truth file the soak can mark: the line it adds separates writes before and after a moment. */
import { TruthFile, type TruthSink } from "../../src/simulator/truth_log.ts";
import { STOP_MARK } from "./reconcile.ts";

/**
 * The simulator's truth file with a {@linkcode STOP_MARK} line the soak adds when it signals the
 * collector. The simulator runs in the soak's own process and appends each line when its write
 * completed, so every line before the mark was handed to the socket before the signal was sent.
 */
export class MarkedTruthFile implements TruthSink, Disposable {
  #file: TruthFile;
  #marked = false;

  constructor(path: string) {
    this.#file = new TruthFile(path);
  }

  append(text: string): void {
    this.#file.append(text);
  }

  flush(): void {
    this.#file.flush();
  }

  close(): void {
    this.#file.close();
  }

  /** Adds the stop mark after everything appended so far; only the first call does. */
  markStop(): void {
    if (this.#marked) return;
    this.#marked = true;
    this.#file.append(`${STOP_MARK}\n`);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
