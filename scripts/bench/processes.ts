/** Helpers for benchmarks that run the simulator and the collector as subprocesses. */
import { signWbiQuery, wbiKeyFromUrl } from "../../src/bilibili/wbi.ts";

/** The project root (where main.ts is). */
export const ROOT = new URL("../../", import.meta.url);

/**
 * The `--v8-flags=…` of a deno.json task, so a benchmark or soak runs a command exactly as
 * `deno task NAME` does (the flags are written once, in deno.json).
 */
export function taskV8Flags(task: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  const command = config.tasks[task];
  if (command === undefined) throw new Error(`deno.json has no task "${task}"`);
  return command.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
}
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** A simulator running in a subprocess. */
export interface Child {
  process: Deno.ChildProcess;
  api: string;
  tcp: { hostname: string; port: number };
  stop(): Promise<void>;
}

/** Starts `main.ts simulate FLAGS` in a subprocess and reads its addresses. */
export async function startChild(flags: string[]): Promise<Child> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "simulate", "--log-every", "0", ...flags],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("Cannot start the simulator: it exited before printing its address");
    text += value;
  }
  const line = JSON.parse(text.slice(0, text.indexOf("\n")));
  const [hostname, port] = String(line.tcp).split(":");
  return {
    process,
    api: line.api,
    tcp: { hostname, port: Number(port) },
    async stop() {
      process.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await process.status;
    },
  };
}

/**
 * User + system CPU seconds, RSS and its file-backed part (the binary and libraries paged in),
 * MB, of a process, from /proc.
 */
export async function usage(
  pid: number,
): Promise<{ cpu: number; rssMb: number; fileMb: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const mb = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { cpu, rssMb: mb("VmRSS"), fileMb: mb("RssFile") };
}

/** The first `count` room ids of the simulator's popularity list. */
export async function roomIds(api: string, count: number): Promise<number[]> {
  // Live and offline rooms alike: walk ids through the live list, then fill from room_init.
  const ids: number[] = [];
  for (let page = 1; ids.length < count; page++) {
    const body = await (await fetch(
      `${api}/room/v3/area/getRoomList?sort_type=online&page_size=200&page=${page}`,
    )).json();
    const list: { roomid: number }[] = body.data.list;
    if (list.length === 0) break;
    for (const r of list) ids.push(r.roomid);
  }
  return ids.slice(0, count);
}

/** The `buvid3` cookie bench clients present; danmaku tokens are bound to it. */
export const BENCH_BUVID = "BENCH000-0000-0000-0000-00000000000000000infoc";

/** Danmaku tokens for anonymous clients (uid 0, {@linkcode BENCH_BUVID}), from WBI-signed getDanmuInfo. */
export async function danmuTokens(api: string, ids: number[]): Promise<Map<number, string>> {
  const nav = await (await fetch(`${api}/x/web-interface/nav`)).json();
  const keys = {
    imgKey: wbiKeyFromUrl(nav.data.wbi_img.img_url),
    subKey: wbiKeyFromUrl(nav.data.wbi_img.sub_url),
  };
  const out = new Map<number, string>();
  const fetchOne = async (id: number) => {
    const query = signWbiQuery({ id, type: 0 }, keys, Date.now() / 1000);
    const body = await (await fetch(`${api}/xlive/web-room/v1/index/getDanmuInfo?${query}`, {
      headers: { cookie: `buvid3=${BENCH_BUVID}` },
    })).json();
    if (typeof body?.data?.token !== "string") {
      throw new Error(`Cannot fetch a danmaku token for room ${id}: code ${body?.code}`);
    }
    out.set(id, body.data.token);
  };
  for (let i = 0; i < ids.length; i += 32) await Promise.all(ids.slice(i, i + 32).map(fetchOne));
  return out;
}

/** The median of `values` (the upper one of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
