/** `main.ts stats`: per-room statistics of a danmaku database, as a table or JSON. */
import { ConfigError } from "../errors.ts";
import { SqliteStore } from "../storage/sqlite_store.ts";
import { computeStats, type StatsReport } from "../analysis/room_stats.ts";
import { statsTable } from "../analysis/stats_table.ts";
import { THROTTLE_RULE } from "../analysis/throttling.ts";
import { parseRoomList, parseTimeRange } from "../export/time_flag.ts";
import { durationFlag, numberFlag, parseFlags } from "./flags.ts";
import type { LineWriter } from "../util/line_writer.ts";

/** Usage text of the stats command. */
export const STATS_USAGE = `Usage: main.ts stats --db FILE [flags]

Per-room statistics of a danmaku database (rules: README, "Export and analysis"):
counts by kind; danmaku per minute (mean, peak; the series in json); top
senders and phrases; gift, super chat and guard value in CNY; collection gaps
from sessions; suspected throttling (a connected ${
  THROTTLE_RULE.windowMs / 60_000
}-minute window below ${THROTTLE_RULE.ratio * 100} % of
the room's median rate).

  --db FILE          database to read (never created; opened read-only)
  --room ID,...      only these real room ids (default: every room with rows)
  --since T          rows at or after T (unix ms or ISO 8601 with a zone)
  --until T          rows before T
  --format FMT       table (default, for people) or json (for tools)
  --top N            senders and phrases listed per room (default 10)
  --min-gap D        shortest collection gap listed (default 60s)`;

/** Parses stats flags and computes the report; ConfigError / StorageError on bad input. */
export function statsReport(args: string[]): { report: StatsReport; format: "table" | "json" } {
  const values = parseFlags("stats", args, {
    db: { type: "string" },
    room: { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    format: { type: "string" },
    top: { type: "string" },
    "min-gap": { type: "string" },
  });
  if (values.db === undefined || values.db === "") {
    throw new ConfigError(`Cannot compute stats: --db FILE is required\n\n${STATS_USAGE}`);
  }
  const format = values.format ?? "table";
  if (format !== "table" && format !== "json") {
    throw new ConfigError(`Cannot parse --format "${format}": expected table or json`);
  }
  const { sinceMs, untilMs } = parseTimeRange(values.since, values.until);
  const rooms = parseRoomList(values.room);
  const top = numberFlag("top", values.top, 10, { min: 0, max: 1000, integer: true });
  const minGapMs = durationFlag("min-gap", values["min-gap"], 60_000, 1);
  using store = SqliteStore.openExisting(values.db, { readOnly: true });
  const report = computeStats(store, { filter: { rooms, sinceMs, untilMs }, top, minGapMs });
  return { report, format };
}

/** Runs the stats command, printing the report to `stdout`. */
export function runStats(
  args: string[],
  io: { stdout: LineWriter; log: (line: string) => void },
): Promise<StatsReport> {
  const { report, format } = statsReport(args);
  if (format === "json") io.stdout.writeLine(JSON.stringify(report, null, 2));
  else for (const line of statsTable(report)) io.stdout.writeLine(line);
  io.stdout.flush();
  return Promise.resolve(report);
}
