/** Helpers for benchmarks that run the simulator and the collector as subprocesses. */

/** The project root (where main.ts is). */
export const ROOT = new URL("../../", import.meta.url);
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

/** User + system CPU seconds and RSS (MB) of a process, from /proc. */
export async function usage(pid: number): Promise<{ cpu: number; rssMb: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { cpu, rssMb: rss };
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
