/** `main.ts collect` as a child process of the soak, with its stderr parsed as it comes. */
import { ROOT, taskV8Flags } from "../bench/processes.ts";

/** The V8 flags `deno task start` runs the collector with (deno.json). */
export const COLLECT_V8_FLAGS = taskV8Flags("start");

/** Log lines kept for the report when something goes wrong. */
const TAIL_LINES = 40;

/** The fields of the collector's final `msg="stopped"` line. */
export interface StoppedLine {
  messages: number;
  written: number;
  dropped: number;
  sessions: number;
}

/** Reads `key=number` fields of a `key=value` log line. */
export function numericFields(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const match of line.matchAll(/(?:^|\s)(\w+)=(-?\d+(?:\.\d+)?)(?=\s|$)/g)) {
    out[match[1]] = Number(match[2]);
  }
  return out;
}

/** Parses the collector's `msg="stopped" messages=N written=N dropped=N sessions=N` line. */
export function parseStoppedLine(line: string): StoppedLine | undefined {
  if (!line.includes('msg="stopped"')) return undefined;
  const f = numericFields(line);
  if ([f.messages, f.written, f.dropped, f.sessions].some((v) => v === undefined)) return undefined;
  return { messages: f.messages, written: f.written, dropped: f.dropped, sessions: f.sessions };
}

/** A running collector. */
export class CollectorProcess implements AsyncDisposable {
  /** The child process. */
  readonly process: Deno.ChildProcess;
  /** The flags after `main.ts collect`. */
  readonly args: readonly string[];
  /** Latest `msg=status` fields. */
  status: Record<string, number> = {};
  /** The final line, once logged. */
  stopped: StoppedLine | undefined;
  /** Whether it logged that it is stopping (it got a signal). */
  stopping = false;
  /** Lines logged at `level=warn` and `level=error`. */
  warnings = 0;
  errors = 0;
  /** The last lines of stderr, status lines excepted. */
  readonly tail: string[] = [];
  readonly #reading: Promise<void>;

  /** Starts `main.ts collect ARGS` with the start task's V8 flags. */
  constructor(args: readonly string[]) {
    this.args = args;
    this.process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...COLLECT_V8_FLAGS, "main.ts", "collect", ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#reading = this.#read();
  }

  /** The collector's process id. */
  get pid(): number {
    return this.process.pid;
  }

  async #read(): Promise<void> {
    let pending = "";
    for await (const chunk of this.process.stderr.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) this.#line(line);
    }
    if (pending !== "") this.#line(pending);
  }

  #line(line: string): void {
    if (line.includes("msg=status")) {
      this.status = numericFields(line);
      return;
    }
    if (line.includes("level=warn")) this.warnings++;
    if (line.includes("level=error")) this.errors++;
    if (line.includes('msg="stopping')) this.stopping = true;
    this.stopped = parseStoppedLine(line) ?? this.stopped;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
  }

  /**
   * Sends SIGINT and waits up to `timeoutMs` for the exit; kills it after that. With
   * `unlessStopping` (a terminal's Ctrl+C reached the whole process group) it first waits up to
   * a second for the collector to say it is stopping, and signals only if it does not.
   */
  async interrupt(
    timeoutMs: number,
    { unlessStopping = false } = {},
  ): Promise<{ status: Deno.CommandStatus; killed: boolean; signalled: boolean }> {
    for (let waited = 0; unlessStopping && !this.stopping && waited < 1000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const signalled = !(unlessStopping && this.stopping);
    if (signalled) this.process.kill("SIGINT");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), timeoutMs)
    );
    const first = await Promise.race([this.process.status, late]);
    clearTimeout(timer);
    let killed = false;
    if (first === "late") {
      killed = true;
      this.process.kill("SIGKILL");
    }
    const status = await this.process.status;
    await this.#reading;
    return { status, killed, signalled };
  }

  /** Kills the process if it still runs, and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.process.status;
    await this.#reading.catch(() => {});
  }
}
