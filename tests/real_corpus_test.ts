/**
 * The corpus of real message bodies (tests/fixtures/real/, issue 12): every body, captured by
 * another project from Bilibili, goes through `normalizeMessage` and must give the events its
 * file expects, field by field. The expectations were written by reading the JSON, not by
 * running the normalizer; tests/fixtures/real/SOURCES.md says where each body came from.
 */
import assert from "node:assert/strict";
import type { CollectedEvent } from "../src/normalize/events.ts";
import { type NormalizeContext, normalizeMessage } from "../src/normalize/normalize_message.ts";

const CORPUS_DIR = new URL("./fixtures/real/", import.meta.url);
const SOURCES = new URL("SOURCES.md", CORPUS_DIR);
const CONTEXT: NormalizeContext = { roomId: 1, receivedAtMs: 1_700_000_000_000, keepRaw: false };
/** Issue 12's done-when: at least this many bodies of at least this many cmds. */
const MIN_BODIES = 80;
const MIN_CMDS = 25;

/** One expected event: its `type` and every field that was checked by reading the body. */
type ExpectedEvent = Readonly<Record<string, unknown>> & { readonly type: string };

/** One corpus file. */
interface CorpusEntry {
  readonly file: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly expect: readonly ExpectedEvent[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isExpectedEvent(value: unknown): value is ExpectedEvent {
  return isRecord(value) && typeof value.type === "string";
}

function corpusFiles(): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(CORPUS_DIR)) {
    if (entry.isFile && entry.name.endsWith(".json")) files.push(entry.name);
  }
  return files.sort();
}

function readEntry(file: string): CorpusEntry {
  const parsed: unknown = JSON.parse(Deno.readTextFileSync(new URL(file, CORPUS_DIR)));
  assert.ok(isRecord(parsed), `${file}: not a JSON object`);
  const { body, expect } = parsed;
  assert.ok(isRecord(body) && typeof body.cmd === "string", `${file}: body has no string cmd`);
  assert.ok(Array.isArray(expect), `${file}: expect is not an array`);
  const events: ExpectedEvent[] = [];
  for (const [i, event] of expect.entries()) {
    assert.ok(isExpectedEvent(event), `${file}: expect[${i}] has no string type`);
    events.push(event);
  }
  return { file, body, expect: events };
}

/** The cmd before its first `:` (how the normalizer dispatches). */
function baseCmd(entry: CorpusEntry): string {
  return String(entry.body.cmd).split(":")[0];
}

/** The file names listed in the first column of SOURCES.md's tables (with or without backticks). */
function sourcesRows(): string[] {
  const rows: string[] = [];
  for (const line of Deno.readTextFileSync(SOURCES).split("\n")) {
    const match = /^\|\s*`?([^`|\s]+\.json)`?\s*\|/.exec(line);
    if (match !== null) rows.push(match[1]);
  }
  return rows;
}

function normalize(body: Readonly<Record<string, unknown>>): CollectedEvent[] {
  const out: CollectedEvent[] = [];
  normalizeMessage(body, JSON.stringify(body), CONTEXT, out);
  return out;
}

const FILES = corpusFiles();

for (const file of FILES) {
  Deno.test(`the real body ${file} normalizes to the events it expects`, () => {
    const entry = readEntry(file);
    const events = normalize(entry.body);
    assert.equal(
      events.length,
      entry.expect.length,
      `${file}: ${events.length} events (${events.map((e) => e.type).join(", ")}), ` +
        `expected ${entry.expect.length}`,
    );
    for (const [i, expected] of entry.expect.entries()) {
      const actual: Readonly<Record<string, unknown>> = { ...events[i] };
      for (const [field, value] of Object.entries(expected)) {
        assert.ok(field in actual, `${file}: event ${i} (${actual.type}) has no field ${field}`);
        assert.deepEqual(actual[field], value, `${file}: event ${i} field ${field}`);
      }
    }
  });
}

Deno.test("every corpus file is listed in SOURCES.md and every row names an existing file", () => {
  const rows = sourcesRows();
  const listed = new Set(rows);
  const present = new Set(FILES);
  assert.deepEqual(rows.filter((row) => !present.has(row)), [], "rows naming no file");
  assert.deepEqual(FILES.filter((file) => !listed.has(file)), [], "files missing from SOURCES.md");
  assert.equal(listed.size, rows.length, "a file is listed twice");
});

Deno.test("the corpus holds at least 80 bodies of at least 25 distinct cmds", () => {
  const entries = FILES.map(readEntry);
  const cmds = new Set(entries.map(baseCmd));
  assert.ok(entries.length >= MIN_BODIES, `${entries.length} bodies, want ≥ ${MIN_BODIES}`);
  assert.ok(
    cmds.size >= MIN_CMDS,
    `${cmds.size} cmds (${[...cmds].join(" ")}), want ≥ ${MIN_CMDS}`,
  );
});

Deno.test("every corpus file is named after the cmd of its body", () => {
  for (const entry of FILES.map(readEntry)) {
    assert.ok(entry.file.startsWith(`${baseCmd(entry)}__`), `${entry.file}: cmd ${entry.body.cmd}`);
  }
});
