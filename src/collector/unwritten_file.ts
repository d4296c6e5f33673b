/**
 * The last resort for events the database would not take at exit: one JSON object per line,
 * saved beside a SQLite database (for a PostgreSQL one, in the current folder as
 * `danmaku-unwritten-<node>-<ms>.jsonl`), else in the temp folder. Synchronous, so that a forced exit can
 * call it from a signal handler. A file is complete or absent: a failed write removes it before
 * the next place is tried, and no events means no file.
 */
import type { CollectedEvent } from "../normalize/events.ts";
import { isPostgresUrl } from "../storage/database_url.ts";
import { fieldLogger } from "../util/log.ts";

/** Events encoded per write, so a large queue is never one huge string. */
const EVENTS_PER_WRITE = 2000;

const encoder = new TextEncoder();

/**
 * Saves `events` as JSONL next to `dbPath` (`<db>.unwritten-<now>.jsonl`; for a `postgres://`
 * --db, `danmaku-unwritten-<nodeId>-<now>.jsonl` in the current folder, the URL never in a
 * name), else in the temp folder; returns the file's path, or undefined when there were no
 * events or no place would take them (both logged).
 */
export function saveUnwritten(
  dbPath: string,
  events: readonly CollectedEvent[],
  now: number,
  log: (line: string) => void,
  nodeId = "node",
): string | undefined {
  if (events.length === 0) return undefined;
  const postgres = isPostgresUrl(dbPath);
  const first = postgres
    ? `danmaku-unwritten-${nodeId.replace(/[^A-Za-z0-9._-]+/g, "-")}-${now}.jsonl`
    : `${dbPath}.unwritten-${now}.jsonl`;
  const places: { where: string; target: string; open: () => OpenFile }[] = [
    {
      where: postgres ? "in the current folder" : "next to the database",
      target: first,
      open: () => openNew(first),
    },
    {
      where: "in the temp folder",
      target: "danmaku-unwritten-*.jsonl",
      open: () => {
        const path = Deno.makeTempFileSync({ prefix: "danmaku-unwritten-", suffix: ".jsonl" });
        return { path, file: Deno.openSync(path, { write: true }) };
      },
    },
  ];
  for (const { where, target, open } of places) {
    let opened: OpenFile | undefined;
    try {
      opened = open();
      writeAll(opened.file, events);
      opened.file.syncSync();
      opened.file.close();
      fieldLogger(log).error("Saved the events not written to the database as JSONL", {
        events: events.length,
        file: opened.path,
      });
      return opened.path;
    } catch (error) {
      if (opened !== undefined) discard(opened);
      fieldLogger(log).error(`Cannot save unwritten events ${where}`, {
        file: opened?.path ?? target,
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  }
  fieldLogger(log).error("Cannot save unwritten events anywhere: they are lost", {
    events: events.length,
  });
  return undefined;
}

/** A file being written, with its path. */
interface OpenFile {
  path: string;
  file: Deno.FsFile;
}

/** Creates `path` (never overwriting: `-1`, `-2`, … are tried after it). */
function openNew(path: string): OpenFile {
  for (let attempt = 0;; attempt++) {
    const candidate = attempt === 0 ? path : path.replace(/\.jsonl$/, `-${attempt}.jsonl`);
    try {
      return { path: candidate, file: Deno.openSync(candidate, { write: true, createNew: true }) };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists) || attempt >= 100) throw error;
    }
  }
}

function writeAll(file: Deno.FsFile, events: readonly CollectedEvent[]): void {
  for (let start = 0; start < events.length; start += EVENTS_PER_WRITE) {
    let text = "";
    for (const event of events.slice(start, start + EVENTS_PER_WRITE)) {
      text += JSON.stringify(event) + "\n";
    }
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
  }
}

/** Closes and removes a file that could not be written completely. */
function discard({ path, file }: OpenFile): void {
  try {
    file.close();
  } catch {
    // Already closed.
  }
  try {
    Deno.removeSync(path);
  } catch {
    // Nothing more can be done; the next place is tried anyway.
  }
}
