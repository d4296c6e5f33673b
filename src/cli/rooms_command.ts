/**
 * `main.ts rooms` (deno task discover): lists live rooms — the most popular (`--top N`) or
 * the newest started (`--new N`) — through the collector's rate-limited API client.
 */
import { BilibiliApi, type LiveRoomListing } from "../bilibili/api_client.ts";
import { listLiveRooms } from "../discovery/room_lists.ts";
import { ConfigError } from "../errors.ts";
import { systemClock } from "../util/clock.ts";
import { RateLimiter } from "../util/rate_limiter.ts";
import { numberFlag, parseFlags } from "./flags.ts";
import type { LineWriter } from "../util/line_writer.ts";

/** Usage text of the rooms command. */
export const ROOMS_USAGE =
  `Usage: main.ts rooms [--top N | --new N] [--area ID] [--parent-area ID] [--format table|jsonl]

Lists live rooms from /room/v3/area/getRoomList (getListByAreaID as fallback):
  --top N             the N most popular live rooms, in ranking order (default 100)
  --new N             the N most recently started live rooms, newest first
  --area ID           only this area; --parent-area ID only this parent area
  --format F          table (for people, default) or jsonl (one object per room)
  --page-size N       rooms per API page (default 30)
  --api-base URL      send API calls here (e.g. the simulator)
  --api-rate N        API requests per second (default 1)

JSONL rows: room_id (real id), uid, uname, title, online, area, area_id, parent_area,
parent_area_id, live_time (unix seconds when the list says, else null).`;

/** One JSONL row of the rooms command. */
export function listingToRow(room: LiveRoomListing): Record<string, unknown> {
  return {
    room_id: room.roomId,
    uid: room.uid,
    uname: room.uname,
    title: room.title,
    online: room.online,
    area: room.areaName,
    area_id: room.areaId,
    parent_area: room.parentAreaName,
    parent_area_id: room.parentAreaId,
    live_time: room.liveTime ?? null,
  };
}

/** Runs the rooms command. */
export async function runRooms(
  args: string[],
  io: { stdout: LineWriter; log: (line: string) => void; signal: AbortSignal },
): Promise<number> {
  const values = parseFlags("rooms", args, {
    top: { type: "string" },
    new: { type: "string" },
    area: { type: "string" },
    "parent-area": { type: "string" },
    format: { type: "string" },
    "page-size": { type: "string" },
    "api-base": { type: "string" },
    "api-rate": { type: "string" },
  });
  if (values.top !== undefined && values.new !== undefined) {
    throw new ConfigError("Cannot use --top and --new together: list one kind at a time");
  }
  const format = values.format ?? "table";
  if (format !== "table" && format !== "jsonl") {
    throw new ConfigError(`Cannot parse --format "${format}": expected table or jsonl`);
  }
  const apiBase = values["api-base"];
  if (apiBase !== undefined && !/^https?:\/\/[^/]+/.test(apiBase)) {
    throw new ConfigError(
      `Cannot parse --api-base "${apiBase}": expected an http:// or https:// URL`,
    );
  }
  const sort = values.new !== undefined ? "live_time" : "online";
  const limit = numberFlag(sort === "online" ? "top" : "new", values.new ?? values.top, 100, {
    min: 1,
    max: 100_000,
    integer: true,
  });
  const api = new BilibiliApi({
    limiter: new RateLimiter({
      perSecond: numberFlag("api-rate", values["api-rate"], 1, { min: 0.001, max: 1e6 }),
      clock: systemClock,
    }),
    clock: systemClock,
    apiBase,
    log: io.log,
  });
  const rooms = await listLiveRooms(api, {
    sort,
    limit,
    areaId: numberFlag("area", values.area, 0, { min: 0, max: 1e9, integer: true }) || undefined,
    parentAreaId:
      numberFlag("parent-area", values["parent-area"], 0, { min: 0, max: 1e9, integer: true }) ||
      undefined,
    pageSize: numberFlag("page-size", values["page-size"], 30, { min: 1, max: 200, integer: true }),
    signal: io.signal,
    log: io.log,
  });
  if (format === "jsonl") {
    for (const room of rooms) io.stdout.writeLine(JSON.stringify(listingToRow(room)));
  } else {
    io.stdout.writeLine(
      `${"#".padStart(4)}  ${"room_id".padEnd(10)} ${"online".padStart(9)}  ${
        "area".padEnd(10)
      } uname / title`,
    );
    rooms.forEach((room, i) => {
      io.stdout.writeLine(
        `${String(i + 1).padStart(4)}  ${String(room.roomId).padEnd(10)} ${
          String(room.online).padStart(9)
        }  ${room.areaName.slice(0, 10).padEnd(10)} ${room.uname} / ${
          room.title.replace(/\s+/g, " ")
        }`,
      );
    });
  }
  io.stdout.flush();
  io.log(
    `level=info msg="listed rooms" sort=${sort} rooms=${rooms.length} requests=${
      api.requests.size > 0 ? [...api.requests.values()].reduce((a, b) => a + b, 0) : 0
    }`,
  );
  return rooms.length > 0 ? 0 : 1;
}
