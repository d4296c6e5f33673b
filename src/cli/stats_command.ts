/**
 * `main.ts stats`: per-room statistics of a danmaku database (SQLite file or PostgreSQL URL),
 * as a table, JSON or an HTML report.
 */
import { STATS_DEFAULTS } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import { describeDatabase } from "../storage/database_url.ts";
import { openReadStore } from "../storage/read_store.ts";
import { computeStats, type StatsReport } from "../analysis/room_stats.ts";
import { statsTable } from "../analysis/stats_table.ts";
import { statsHtml } from "../analysis/html_report.ts";
import { THROTTLE_RULE } from "../analysis/throttling.ts";
import { parseRoomList, parseTimeRange } from "../export/time_flag.ts";
import { type CommandSpec, flag, parseCommandArgs } from "../util/flags.ts";
import { fieldLogger } from "../util/log.ts";
import type { LineWriter } from "../util/line_writer.ts";

/** The flags of stats, keyed by flag name. */
const STATS_FLAGS = {
  db: flag.string({
    name: "db",
    arg: "FILE|URL",
    help:
      "SQLite file or postgres://user:password@host:port/dbname to read (required; never created; opened read-only)",
  }),
  room: flag.string({
    name: "room",
    arg: "ID,...",
    defaultText: "every room with rows",
    help: "only these real room ids",
  }),
  since: flag.string({
    name: "since",
    arg: "T",
    help: "rows at or after T (unix ms or ISO 8601 with a zone)",
  }),
  until: flag.string({ name: "until", arg: "T", help: "rows before T" }),
  format: flag.choice({
    name: "format",
    arg: "FMT",
    choices: ["table", "json"],
    default: "table",
    help: "table (for people) or json (for tools)",
  }),
  html: flag.string({
    name: "html",
    arg: "FILE",
    help:
      "write a self-contained HTML report with charts to FILE (as FILE.partial, renamed when complete) instead of printing",
  }),
  top: flag.number({
    name: "top",
    default: STATS_DEFAULTS.top,
    help: "senders and phrases listed per room",
    min: 0,
    max: 1000,
    integer: true,
  }),
  "min-gap": flag.duration({
    name: "min-gap",
    arg: "D",
    default: STATS_DEFAULTS.minGapMs,
    help: "shortest collection gap listed",
    minMs: 1,
  }),
  "include-lottery": flag.boolean({
    name: "include-lottery",
    help:
      "keep danmaku sent by lotteries (天选时刻 keywords, 节奏风暴) in density, senders and phrases",
  }),
};

/** The stats command: usage, help and flags. */
export const STATS_COMMAND: CommandSpec<typeof STATS_FLAGS> = {
  name: "stats",
  usage: ["main.ts stats --db FILE|URL [flags]", "deno task stats --db FILE|URL [flags]"],
  summary: "per-room counts, density, top senders, value, gaps, throttling",
  description: `Per-room statistics of a danmaku database (rules: docs/export.md):
counts by kind; danmaku per minute (mean, peak; the series in json); top senders and
phrases; gift, super chat and guard value in CNY; collection gaps
from sessions; suspected throttling (a connected ${
    THROTTLE_RULE.windowMs / 60_000
  }-minute window below ${THROTTLE_RULE.ratio * 100}% of
the room's median rate). Danmaku sent by lotteries (天选时刻, 节奏风暴) are counted apart
and left out of density, senders and phrases unless --include-lottery; deleted super chats
are no revenue.`,
  flags: STATS_FLAGS,
};

/**
 * Parses stats flags and computes the report; ConfigError / StorageError on bad input. An
 * upgrade of an older database on the way is logged to `log`.
 */
export async function statsReport(
  args: string[],
  log: (line: string) => void = () => {},
): Promise<
  { report: StatsReport; format: "table" | "json"; html: string | undefined; db: string }
> {
  const { values } = parseCommandArgs(STATS_COMMAND, args);
  if (values.db === undefined || values.db === "") {
    throw new ConfigError(
      `Cannot compute stats: --db FILE|URL is required; run "main.ts stats --help" for the flags`,
    );
  }
  const format = values.format;
  const html = values.html;
  if (html === "" || html === "-") {
    throw new ConfigError(
      `Cannot parse --html "${html}": expected a file name (the report is a file to open in a browser)`,
    );
  }
  const { sinceMs, untilMs } = parseTimeRange(values.since, values.until);
  const rooms = parseRoomList(values.room);
  const top = values.top;
  const minGapMs = values["min-gap"];
  const includeLottery = values["include-lottery"];
  await using store = await openReadStore(values.db, { log: fieldLogger(log) });
  const report = await computeStats(store, {
    filter: { rooms, sinceMs, untilMs },
    top,
    minGapMs,
    includeLottery,
  });
  return { report, format, html, db: values.db };
}

/**
 * Writes `text` to `path` as `path.partial`, renamed when complete, so an interrupted write never
 * leaves a truncated file under the real name; ConfigError when the file cannot be written.
 */
function writeWhole(path: string, bytes: Uint8Array): void {
  const partial = `${path}.partial`;
  try {
    Deno.writeFileSync(partial, bytes);
    Deno.renameSync(partial, path);
  } catch (error) {
    try {
      Deno.removeSync(partial);
    } catch {
      // Never created.
    }
    throw new ConfigError(`Cannot write --html "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Runs the stats command, printing the report to `stdout` or writing it to `--html FILE`. */
export async function runStats(
  args: string[],
  io: { stdout: LineWriter; log: (line: string) => void; nowMs?: () => number },
): Promise<StatsReport> {
  const { report, format, html, db } = await statsReport(args, io.log);
  if (html !== undefined) {
    // The file name, or the database name of a URL (never its password or parameters).
    const shown = describeDatabase(db);
    const page = new TextEncoder().encode(statsHtml(report, {
      generatedAtMs: (io.nowMs ?? Date.now)(),
      source: shown.slice(shown.lastIndexOf("/") + 1),
    }));
    writeWhole(html, page);
    fieldLogger(io.log).info("wrote stats report", {
      file: html,
      rooms: report.rooms.length,
      bytes: page.length,
    });
    return report;
  }
  if (format === "json") io.stdout.writeLine(JSON.stringify(report, null, 2));
  else for (const line of statsTable(report)) io.stdout.writeLine(line);
  io.stdout.flush();
  return report;
}
