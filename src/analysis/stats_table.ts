/** Renders a stats report as plain text for people (`stats --format table`). */
import type { RoomStats, StatsReport } from "./room_stats.ts";
import { EXPORT_KINDS } from "../export/export_tables.ts";

const int = (n: number) => n.toLocaleString("en-US");
const time = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

/** A duration such as `1h 2m 3s`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts: string[] = [];
  if (s >= 86_400) parts.push(`${Math.floor(s / 86_400)}d`);
  if (s >= 3600) parts.push(`${Math.floor(s % 86_400 / 3600)}h`);
  if (s >= 60) parts.push(`${Math.floor(s % 3600 / 60)}m`);
  parts.push(`${s % 60}s`);
  return parts.join(" ");
}

/** The report as lines of text (times in UTC). */
export function statsTable(report: StatsReport): string[] {
  const lines: string[] = [];
  const range = `${report.sinceMs === null ? "start" : time(report.sinceMs)} → ${
    report.untilMs === null ? "end" : time(report.untilMs)
  }`;
  lines.push(`${report.rooms.length} room(s), ${range} (times in UTC)`);
  if (report.rooms.length === 0) lines.push("no rows match");
  for (const room of report.rooms) lines.push("", ...roomLines(room, report));
  return lines;
}

function roomLines(r: RoomStats, report: StatsReport): string[] {
  const lines: string[] = [];
  const who = [r.anchor, r.title].filter((x) => x !== null).join(" · ");
  lines.push(`room ${r.roomId}${who ? `  ${who}` : ""}`);
  if (r.firstMs !== null && r.lastMs !== null) {
    lines.push(`  rows from    ${time(r.firstMs)} to ${time(r.lastMs)}`);
  }
  lines.push(
    `  counts       ${EXPORT_KINDS.map((k) => `${k} ${int(r.counts[k])}`).join("  ")}`,
  );
  const d = r.density;
  lines.push(
    `  density      mean ${d.meanPerMinute.toFixed(2)}/min over ${int(d.minutes)} min, peak ${
      int(d.peakPerMinute)
    }/min${d.peakMinuteMs === null ? "" : ` at ${time(d.peakMinuteMs)}`}, ${
      int(d.activeMinutes)
    } active min, ${int(r.maskedDanmaku)} from masked senders (uid 0)`,
  );
  const v = r.valueCny;
  lines.push(
    `  value CNY    gifts ${v.gifts.toFixed(2)}  super chats ${v.superChats.toFixed(2)}  guards ${
      v.guardBuys.toFixed(2)
    }  total ${v.total.toFixed(2)}`,
  );
  lines.push(`  top senders${r.topSenders.length === 0 ? "  -" : ""}`);
  r.topSenders.forEach((s, i) =>
    lines.push(
      `    ${String(i + 1).padStart(2)}. ${int(s.count).padStart(7)}  ${s.uname} (uid ${s.uid})`,
    )
  );
  if (r.topMaskedSenders.length > 0) {
    lines.push("  top masked senders (uid 0, told apart by user hash)");
    r.topMaskedSenders.forEach((s, i) =>
      lines.push(
        `    ${String(i + 1).padStart(2)}. ${
          int(s.count).padStart(7)
        }  ${s.uname} (hash ${s.userHash})`,
      )
    );
  }
  lines.push(`  top phrases${r.topPhrases.length === 0 ? "  -" : ""}`);
  r.topPhrases.forEach((p, i) =>
    lines.push(
      `    ${String(i + 1).padStart(2)}. ${int(p.count).padStart(7)}  ${JSON.stringify(p.phrase)}`,
    )
  );
  const s = r.sessions;
  lines.push(
    `  sessions     ${int(s.count)} (${s.unterminated} without end), covered ${
      formatDuration(s.coveredMs)
    } of ${formatDuration(s.spanMs)} (${
      (s.coverage * 100).toFixed(1)
    } %), ${s.gaps.length} gap(s) ≥ ${formatDuration(report.minGapMs)}`,
  );
  for (const g of s.gaps) {
    lines.push(`    gap ${time(g.fromMs)} → ${time(g.toMs)} (${formatDuration(g.durationMs)})`);
  }
  const t = r.throttling;
  lines.push(
    `  throttling   ${
      t.suspected ? "SUSPECTED" : "not suspected"
    }: median ${t.medianPerWindow} danmaku per ${
      formatDuration(report.throttleRule.windowMs)
    } over ${t.windows} connected window(s)`,
  );
  for (const f of t.flagged) {
    lines.push(
      `    low rate ${time(f.fromMs)} → ${time(f.toMs)}: ${int(f.count)} danmaku, ${
        int(f.expected)
      } expected`,
    );
  }
  return lines;
}
