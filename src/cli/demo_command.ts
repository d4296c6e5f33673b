/**
 * `main.ts demo` (deno task demo): a newcomer's first look, offline. Starts the simulator
 * in-process, collects from it for a short while, and prints what was stored.
 */
import { DatabaseSync } from "node:sqlite";
import { runCollector } from "../collector/collector.ts";
import { parseCollectArgs } from "../collector/config.ts";
import { DEMO_DEFAULTS as D } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import { describeDatabase, isPostgresUrl } from "../storage/database_url.ts";
import { startSimulator } from "../simulator/simulator.ts";
import { TABLE_NAMES } from "../storage/schema.ts";
import { systemClock } from "../util/clock.ts";
import { type CommandSpec, flag, parseCommandArgs } from "../util/flags.ts";
import type { LineWriter } from "../util/line_writer.ts";

/** The flags of demo, keyed by the value each one sets. */
const DEMO_FLAGS = {
  rooms: flag.number({
    name: "rooms",
    default: D.rooms,
    help: "simulated rooms, all collected",
    min: 1,
    max: 5000,
    integer: true,
  }),
  durationMs: flag.duration({
    name: "duration",
    default: D.durationMs,
    help: "how long to collect",
    minMs: 100,
  }),
  dbPath: flag.string({
    name: "db",
    arg: "FILE",
    default: D.dbPath,
    help: "database to collect into, created if missing, kept afterwards",
  }),
};

/** The demo command: usage, help and flags. */
export const DEMO_COMMAND: CommandSpec<typeof DEMO_FLAGS> = {
  name: "demo",
  usage: ["main.ts demo [flags]", "deno task demo [flags]"],
  summary: "collect from the simulator for a few seconds and show what was stored",
  description: `Starts the offline simulator, collects from all its rooms for a while and prints
rows per table, the busiest rooms and sample danmaku. The database is kept (in
./${D.dbPath} unless --db is given; a second demo adds to it) with the commands
to look at it.`,
  flags: DEMO_FLAGS,
};

/** `path` as a shell word: bare when it is safe, else single-quoted. */
function shellWord(path: string): string {
  return /^[\w./+-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/** Runs the demo; returns the exit code. */
export async function runDemo(
  args: string[],
  io: {
    stdout: LineWriter;
    log: (line: string) => void;
    signal: AbortSignal;
    /** Redraws the one-line status on a terminal; undefined off a TTY. */
    statusLine?: (line: string) => void;
  },
): Promise<number> {
  const { rooms: roomCount, durationMs, dbPath } = parseCommandArgs(DEMO_COMMAND, args).values;
  if (isPostgresUrl(dbPath)) {
    throw new ConfigError(
      `Cannot run the demo into "${
        describeDatabase(dbPath)
      }": it shows a SQLite file; for PostgreSQL run deno task cluster-demo`,
    );
  }
  const existed = await Deno.stat(dbPath).then(() => true, () => false);
  const out = (line = "") => io.stdout.writeLine(line);
  try {
    await using sim = await startSimulator({
      rooms: roomCount,
      seed: 2026,
      rate: 20,
      log: () => {},
    });
    out(`Simulator: ${sim.api} (HTTP), ${sim.tcp} (TCP danmaku), ${roomCount} rooms`);
    out(
      `Collecting for ${durationMs / 1000} s into ${dbPath}${
        existed ? " (it exists: rows are added to what an earlier run stored)" : ""
      } …`,
    );
    io.stdout.flush();
    const config = parseCollectArgs([
      "--db",
      dbPath,
      "--api-base",
      sim.api,
      "--api-rate",
      "500",
      "--connect-rate",
      "200",
      "--flush-interval",
      "1s",
      "--top",
      "0",
      "--no-follow-new",
      "--duration",
      `${durationMs}ms`,
      "--status-interval",
      "2s",
    ]);
    const summary = await runCollector(config, {
      clock: systemClock,
      random: Math.random,
      log: io.log,
      statusLine: io.statusLine,
      rooms: sim.world.rooms.map((room) => room.roomId),
    }, io.signal);
    out();
    out(
      `Received ${summary.messages} messages over ${summary.sessions} connections; wrote ${summary.written} rows.`,
    );
    using db = new DatabaseSync(dbPath); // read-write, so closing it removes the -wal and -shm files
    out();
    out(`Rows per table in ${dbPath}:`);
    const nameWidth = Math.max(...TABLE_NAMES.map((table) => table.length));
    for (const table of TABLE_NAMES) {
      const row = db.prepare(`SELECT count(*) AS n FROM ${table}`).get();
      out(`  ${table.padEnd(nameWidth)} ${String(row?.n ?? 0).padStart(8)}`);
    }
    out();
    out("Busiest rooms (danmaku):");
    for (
      const row of db.prepare(
        `SELECT d.room_id, count(*) AS n, r.uname, r.title FROM danmaku d LEFT JOIN rooms r USING (room_id)
         GROUP BY d.room_id ORDER BY n DESC LIMIT 5`,
      ).all()
    ) {
      out(
        `  ${String(row.room_id).padEnd(10)} ${String(row.n).padStart(6)}  ${row.uname ?? ""} ${
          row.title ?? ""
        }`,
      );
    }
    out();
    out("Sample danmaku:");
    for (
      const row of db.prepare(
        "SELECT room_id, ts_ms, uname, text, medal_name, medal_level FROM danmaku ORDER BY id DESC LIMIT 8",
      ).all()
    ) {
      const medal = row.medal_name ? ` [${row.medal_name} ${row.medal_level}]` : "";
      const time = new Date(Number(row.ts_ms)).toISOString().slice(11, 19);
      out(`  ${time} room ${row.room_id} ${row.uname}${medal}: ${JSON.stringify(row.text)}`);
    }
    out();
    const word = shellWord(dbPath);
    out(`Kept in ${await Deno.realPath(dbPath)}. Look at it with:`);
    out(`  sqlite3 ${word} "SELECT uname, text FROM danmaku ORDER BY id DESC LIMIT 20"`);
    out(`  deno task stats --db ${word}`);
    out(`  deno task export --db ${word} --format csv --out danmaku.csv`);
    return 0;
  } finally {
    io.stdout.flush();
  }
}
