/** `main.ts collect [flags]`: loads rooms and the cookie, then runs the collector. */
import { loadUserCookie } from "../bilibili/cookies.ts";
import { type CollectorSummary, runCollector } from "../collector/collector.ts";
import { parseCollectArgs, parseRoomIds, parseUserAgent } from "../collector/config.ts";
import { ConfigError } from "../errors.ts";
import { systemClock } from "../util/clock.ts";
import { startStatusServer } from "../web/http_server.ts";

/** What the command needs from `main.ts`. */
export interface CollectContext {
  log: (line: string) => void;
  env: (name: string) => string | undefined;
  /** Writes the live status line on a terminal; undefined off a TTY. */
  statusLine?: (line: string) => void;
  signal: AbortSignal;
  /** Aborted when the user forces an exit: what is queued is saved synchronously first. */
  forced?: AbortSignal;
}

/** Parses flags, loads files, and collects until the signal aborts. */
export async function runCollect(
  args: string[],
  context: CollectContext,
): Promise<CollectorSummary> {
  const parsed = parseCollectArgs(args);
  const envAgent = context.env("BILIBILI_USER_AGENT");
  const config = Object.freeze({
    ...parsed,
    userAgent: parsed.userAgent ??
      (envAgent?.trim() ? parseUserAgent(envAgent, "BILIBILI_USER_AGENT") : undefined),
  });
  const rooms = [...config.rooms];
  if (config.roomsFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(config.roomsFile);
    } catch (error) {
      throw new ConfigError(
        `Cannot read --rooms-file "${config.roomsFile}": ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    rooms.push(...parseRoomIds(text, `--rooms-file "${config.roomsFile}"`));
  }
  // A cluster node may start with no rooms of its own: it claims from the shared wanted set.
  if (rooms.length === 0 && config.top === 0 && !config.followNew && !config.cluster) {
    throw new ConfigError(
      "Cannot collect: no rooms given; pass --rooms ID,…, --rooms-file FILE, --top N or --follow-new",
    );
  }
  const cookie = await loadUserCookie(config.cookieFile, context.env);
  // Bound before anything collects: a port in use is a ConfigError (exit 2) with nothing started.
  await using server = config.http === undefined ? undefined : startStatusServer({
    address: config.http,
    clock: systemClock,
    log: context.log,
    signal: context.signal,
  });
  return await runCollector(config, {
    clock: systemClock,
    random: Math.random,
    log: context.log,
    cookie,
    rooms: [...new Set(rooms)],
    statusLine: context.statusLine,
    forced: context.forced,
    onStarted: server && ((parts) => server.attach(parts)),
  }, context.signal);
}
