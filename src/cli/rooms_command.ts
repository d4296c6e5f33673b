/**
 * `main.ts rooms` (deno task discover): lists live rooms — the most popular (`--top N`) or
 * the newest started (`--new N`) — through the collector's rate-limited API client.
 */
import { BilibiliApi } from "../bilibili/api_client.ts";
import { LiveWebId } from "../bilibili/live_page.ts";
import type { LiveRoomListing } from "../bilibili/room_list_api.ts";
import { COLLECT_COMMAND } from "../collector/config.ts";
import { ROOMS_DEFAULTS } from "../defaults.ts";
import { listLiveRooms } from "../discovery/room_lists.ts";
import { ConfigError } from "../errors.ts";
import { systemClock } from "../util/clock.ts";
import { type CommandSpec, flag, parseCommandArgs } from "../util/flags.ts";
import type { LineWriter } from "../util/line_writer.ts";
import { RateLimiter } from "../util/rate_limiter.ts";
import { fieldLogger } from "../util/log.ts";

const count = { min: 1, max: 100_000, integer: true };
const shared = COLLECT_COMMAND.flags;

/** The flags of rooms, keyed by the value each one sets. */
const ROOMS_FLAGS = {
  top: flag.number({
    name: "top",
    default: undefined,
    defaultText: String(ROOMS_DEFAULTS.limit),
    help: "the N most popular live rooms, in ranking order",
    ...count,
  }),
  new: flag.number({
    name: "new",
    default: undefined,
    help: "the N most recently started live rooms, newest first",
    ...count,
  }),
  areaId: { ...shared.areaId, group: undefined, help: "only rooms of this area" },
  parentAreaId: {
    ...shared.parentAreaId,
    group: undefined,
    help: "only rooms of this parent area",
  },
  format: flag.choice({
    name: "format",
    choices: ["table", "jsonl"],
    default: "table",
    help: "table (for people) or jsonl (one object per room)",
  }),
  pageSize: flag.number({
    name: "page-size",
    default: ROOMS_DEFAULTS.pageSize,
    help: "rooms per API page",
    min: 1,
    max: 200,
    integer: true,
  }),
  apiBase: {
    ...shared.apiBase,
    group: undefined,
    help: "send API calls here (e.g. the simulator)",
  },
  apiRatePerSecond: { ...shared.apiRatePerSecond, group: undefined },
  userAgent: {
    ...shared.userAgent,
    group: undefined,
    defaultText: "a current desktop Chrome",
    help: "User-Agent of every request (update it if the API answers -352)",
  },
};

/** The rooms command: usage, help and flags. */
export const ROOMS_COMMAND: CommandSpec<typeof ROOMS_FLAGS> = {
  name: "rooms",
  usage: ["main.ts rooms [flags]", "deno task discover [flags]"],
  summary: "list live rooms: the most popular or the newest started (deno task discover)",
  description: `Lists live rooms from /room/v3/area/getRoomList, falling back to getListByAreaID and
then to the live area page's second/getList: the most popular (--top N, the default) or the
newest started (--new N).`,
  flags: ROOMS_FLAGS,
  notes: `JSONL rows: room_id (real id), uid, uname, title, online, area, area_id,
parent_area, parent_area_id, live_time (unix seconds when the list says, else
null). Exits 1 when no room is live.`,
};

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
  const { values } = parseCommandArgs(ROOMS_COMMAND, args);
  if (values.top !== undefined && values.new !== undefined) {
    throw new ConfigError("Cannot use --top and --new together: list one kind at a time");
  }
  const sort = values.new !== undefined ? "live_time" : "online";
  const limiter = new RateLimiter({ perSecond: values.apiRatePerSecond, clock: systemClock });
  const api = new BilibiliApi({
    limiter,
    clock: systemClock,
    apiBase: values.apiBase,
    userAgent: values.userAgent,
    log: io.log,
  });
  const webId = new LiveWebId({ api, clock: systemClock });
  const rooms = await listLiveRooms(api, {
    sort,
    limit: values.new ?? values.top ?? ROOMS_DEFAULTS.limit,
    areaId: values.areaId || undefined,
    parentAreaId: values.parentAreaId || undefined,
    pageSize: values.pageSize,
    signal: io.signal,
    log: io.log,
    webId,
  });
  if (values.format === "jsonl") {
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
  fieldLogger(io.log).info("listed rooms", {
    sort,
    rooms: rooms.length,
    requests: [...api.requests.values()].reduce((a, b) => a + b, 0),
  });
  return rooms.length > 0 ? 0 : 1;
}
