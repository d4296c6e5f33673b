/** The soak's report as text that fits 80 columns. */
import type { TableResult } from "./reconcile.ts";
import type { SoakReport } from "./run.ts";

const n = (value: number) => value.toLocaleString("en-US");
const mb = (value: number) => value.toFixed(1);

/** Wraps `items` joined by `sep` into lines of at most `width`, continuation lines indented. */
function wrap(head: string, items: string[], sep = ", ", width = 80): string[] {
  const lines: string[] = [];
  let line = head;
  for (const [i, item] of items.entries()) {
    const piece = i === 0 ? item : sep + item;
    if (line.length + piece.length > width && line.trim() !== "") {
      lines.push(line + (i === 0 ? "" : sep.trimEnd()));
      line = "  " + item;
    } else {
      line += piece;
    }
  }
  lines.push(line);
  return lines;
}

const COLUMNS: [string, (t: TableResult) => string][] = [
  ["delivered", (t) => n(t.delivered)],
  ["stored", (t) => n(t.stored)],
  ["missing", (t) => n(t.missing)],
  ["in flight", (t) => n(t.inFlight)],
  ["rcvd-lost", (t) => n(t.receivedNotStored)],
  ["dup", (t) => (t.match === "raw" ? "-" : n(t.duplicated))],
];

/** Shorter names of tables whose own do not fit the first column. */
const SHORT_NAMES: Readonly<Record<string, string>> = { super_chat_deletions: "sc_deletions" };

/** The per-table lines: a header and one line per table, then the all-messages line. */
export function tableLines(tables: readonly TableResult[], all: TableResult): string[] {
  const name = (t: TableResult) => {
    const table = SHORT_NAMES[t.table] ?? t.table;
    return t.match === "count" ? `${table}*` : t.match === "raw" ? `${table}†` : table;
  };
  const row = (first: string, cells: string[]) =>
    first.padEnd(13) + cells.map((c) => c.padStart(11)).join("");
  return [
    row("table", COLUMNS.map(([title]) => title)),
    ...tables.map((t) => row(name(t), COLUMNS.map(([, cell]) => cell(t)))),
    row(name(all), COLUMNS.map(([, cell]) => cell(all))),
  ];
}

/** The whole report. */
export function formatReport(report: SoakReport): string {
  const { options: o, machine: m, collector: c, reconciliation: r, rss } = report;
  const lines: string[] = [];
  lines.push(
    ...wrap("Soak: ", [
      `${n(o.rooms)} rooms`,
      `${o.rate} msg/s per live room`,
      `seed ${o.seed}`,
      `faults ${o.faults || "none"}`,
      `watchdog ${o.watchdog}`,
    ]),
  );
  lines.push(
    ...wrap("Machine: ", [
      `${m.cores} cores`,
      `${m.memoryGb} GB RAM`,
      m.cpu,
      m.os,
      `deno ${m.deno}`,
    ]),
  );
  const exit = c.killed ? "was killed (no exit)" : `exited ${c.exitCode}`;
  lines.push(
    `Collected for ${(report.collectedS / 60).toFixed(1)} min, then SIGINT while traffic flowed;`,
    `  the collector ${exit} after ${n(c.stopMs)} ms.`,
  );
  if (c.stopped) {
    lines.push(
      ...wrap("Collector's final line: ", [
        `messages=${n(c.stopped.messages)}`,
        `written=${n(c.stopped.written)}`,
        `dropped=${n(c.stopped.dropped)}`,
        `sessions=${n(c.stopped.sessions)}`,
      ], " "),
    );
  } else {
    lines.push('Collector\'s final line: missing (no msg="stopped")');
  }
  lines.push("", ...tableLines(r.tables, r.all), "");
  lines.push(
    "missing    delivered (written before SIGINT) and not stored",
    "in flight  written after SIGINT was sent and never received: may be missing",
    "rcvd-lost  received by the collector but not stored (included in missing)",
    "*          no message id in these rows: stored rows are counted against the rows",
    "           the received messages make (ONLINE_RANK_COUNT makes two audience rows,",
    "           ONLINE_RANK_V2/V3 one online_ranks row per listed viewer)",
    "†          stored = raw_messages rows, one per message received; rcvd-lost = the",
    "           collector's own count of messages minus them",
    `Truth file: ${n(r.truthLines)} lines, ${
      n(r.afterStopLines)
    } after SIGINT; raw rows without an id: ${n(r.rawWithoutId)}`,
  );
  const unexpected = r.tables.filter((t) => t.unexpected > 0);
  if (unexpected.length > 0) {
    lines.push(
      ...wrap(
        "Rows matching no delivered message: ",
        unexpected.map((t) => `${t.table} ${n(t.unexpected)}`),
      ),
    );
  }
  if (report.missingExamples.length > 0) {
    lines.push("Missing messages, by their truth lines (line: text):");
    for (const example of report.missingExamples.slice(0, 10)) lines.push(`  ${example}`);
  }
  lines.push("");
  lines.push(
    ...wrap(
      "Sessions by end reason: ",
      Object.entries(report.sessions).map(([why, count]) => `${why} ${n(count)}`),
    ),
  );
  const s = report.simulator;
  lines.push(
    ...wrap("Simulator: ", [
      `${n(s.messagesSent ?? 0)} messages sent`,
      `${n(s.authAccepted ?? 0)} auths`,
      `${n(s.authRejected ?? 0)} refused`,
      `${n(s.faultDisconnects ?? 0)} disconnects`,
      `${n(s.faultStalls ?? 0)} stalls`,
      `${n(s.faultCorrupt ?? 0)} corrupt frames`,
    ]),
  );
  lines.push(
    `Collector RSS: min ${mb(rss.minMb)}, median ${mb(rss.medianMb)}, max ${mb(rss.maxMb)} MB (${
      n(rss.samples)
    } samples);`,
    `  median/max ${mb(rss.firstHalf.medianMb)}/${mb(rss.firstHalf.maxMb)} MB in the first half, ${
      mb(rss.secondHalf.medianMb)
    }/${mb(rss.secondHalf.maxMb)} MB in the second;`,
    `  least-squares slope over the second half ${rss.slopeMbPerMin >= 0 ? "+" : ""}${
      rss.slopeMbPerMin.toFixed(2)
    } MB/min (${n(rss.slopeSamples)} samples)`,
  );
  const heap = report.heap;
  if (heap.samples > 0) {
    lines.push(
      `V8 heap in use: median ${mb(heap.medianMb)}, max ${mb(heap.maxMb)} MB; second-half slope ${
        heap.slopeMbPerMin >= 0 ? "+" : ""
      }${heap.slopeMbPerMin.toFixed(2)} MB/min`,
    );
  }
  if (c.warnings + c.errors > 0) {
    lines.push(`Collector log: ${n(c.warnings)} warnings, ${n(c.errors)} errors`);
  }
  if (report.dir) lines.push(`Files kept in ${report.dir}`);
  lines.push("");
  if (report.failures.length === 0) {
    lines.push("Result: PASS (0 duplicated, 0 received but not stored, exit 0)");
  } else {
    lines.push("Result: FAIL");
    for (const failure of report.failures) lines.push(...wrap("  - ", [failure]));
    if (c.tail.length > 0) {
      lines.push("Collector's last log lines:");
      for (const line of c.tail.slice(-10)) lines.push(`  ${line.slice(0, 76)}`);
    }
  }
  return lines.join("\n");
}
