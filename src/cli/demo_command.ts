/**
 * `main.ts demo` (deno task demo): a newcomer's first look, offline. Starts the simulator
 * in-process, collects from it for a short while, and prints what was stored.
 */
import { DatabaseSync } from "node:sqlite";
import { runCollector } from "../collector/collector.ts";
import { parseCollectArgs } from "../collector/config.ts";
import { startSimulator } from "../simulator/simulator.ts";
import { TABLE_NAMES } from "../storage/schema.ts";
import { systemClock } from "../util/clock.ts";
import { durationFlag, numberFlag, parseFlags } from "./flags.ts";
import type { LineWriter } from "../util/line_writer.ts";

/** Usage text of the demo command. */
export const DEMO_USAGE = `Usage: main.ts demo [--rooms N] [--duration DUR] [--db FILE]

Starts the offline simulator, collects from its rooms for a while (default 10s) and prints
rows per table, the busiest rooms and sample danmaku. The database is a temporary file
unless --db is given.`;

/** Runs the demo; returns the exit code. */
export async function runDemo(
  args: string[],
  io: { stdout: LineWriter; log: (line: string) => void; signal: AbortSignal },
): Promise<number> {
  const values = parseFlags("demo", args, {
    rooms: { type: "string" },
    duration: { type: "string" },
    db: { type: "string" },
  });
  const roomCount = numberFlag("rooms", values.rooms, 30, { min: 1, max: 5000, integer: true });
  const durationMs = durationFlag("duration", values.duration, 10_000, 100);
  const dir = values.db ? undefined : await Deno.makeTempDir({ prefix: "danmaku-demo-" });
  const dbPath = values.db ?? `${dir}/demo.db`;
  const out = (line = "") => io.stdout.writeLine(line);
  try {
    await using sim = await startSimulator({
      rooms: roomCount,
      seed: 2026,
      rate: 20,
      log: () => {},
    });
    out(`Simulator: ${sim.api} (HTTP), ${sim.tcp} (TCP danmaku), ${roomCount} rooms`);
    out(`Collecting for ${durationMs / 1000} s into ${dbPath} …`);
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
      "--duration",
      `${durationMs}ms`,
      "--status-interval",
      "2s",
    ]);
    const summary = await runCollector(config, {
      clock: systemClock,
      random: Math.random,
      log: io.log,
      rooms: sim.world.rooms.map((room) => room.roomId),
    }, io.signal);
    out();
    out(
      `Received ${summary.messages} messages over ${summary.sessions} connections; wrote ${summary.written} rows.`,
    );
    using db = new DatabaseSync(dbPath, { readOnly: true });
    out();
    out("Rows per table:");
    for (const table of TABLE_NAMES) {
      const row = db.prepare(`SELECT count(*) AS n FROM ${table}`).get();
      out(`  ${table.padEnd(14)} ${String(row?.n ?? 0).padStart(8)}`);
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
    out(`Open it yourself: sqlite3 ${dbPath}`);
    return 0;
  } finally {
    io.stdout.flush(); // the temporary database is kept for the user to open
  }
}
