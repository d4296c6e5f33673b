/**
 * The PostgreSQL sink (npm:postgres): the tables of rows.ts rendered by pg_schema.ts, one
 * transaction per `write`, the same unique keys and `ON CONFLICT` clauses as SQLite, so the
 * same batches give the same rows in either store — also when two collectors write overlapping
 * batches into one database. Rows reach the server by binary COPY (the default; pg_copy.ts):
 * straight into the table where no stored row can share a key, else into a temporary staging
 * table and from there by `INSERT … SELECT … ON CONFLICT`; or by multi-row `INSERT … VALUES …
 * ON CONFLICT` statements (`method: "insert"`, 3–4× slower; docs/postgres.md "Write path" has
 * the figures).
 */
import type postgres from "postgres";
import type { SQLInputValue } from "node:sqlite";
import { StorageError } from "../errors.ts";
import type { CollectedEvent, CollectedEventType } from "../normalize/events.ts";
import { formatLogLine, type LogSink } from "../util/log.ts";
import { describeDatabase } from "./database_url.ts";
import { pgConnect } from "./pg_connect.ts";
import { pgError } from "./pg_errors.ts";
import { CopyWriter, type RowWriter, rowWriter } from "./pg_copy.ts";
import { openPgSchema, pgColumnDefinition, pgOnConflict } from "./pg_schema.ts";
import { ROW_SPECS, type RowSpec, rowSpecOf, TABLE_NAMES, type TableName } from "./rows.ts";
import { emptyWriteCounts, type TableCounts, type WriteCounts } from "./sqlite_store.ts";

/** How rows go to the server. */
export type PgWriteMethod = "copy" | "insert";

/** How a PgStore is opened. */
export interface PgStoreOptions {
  /** Where the store's log lines go (the schema upgrade it made). @default {no logging} */
  log?: LogSink;
  /** COPY (straight in, or through a staging table), or multi-row INSERT statements. @default {"copy"} */
  method?: PgWriteMethod;
  /** Connections the store may open. @default {2} */
  poolSize?: number;
}

/** PostgreSQL's limit of bind parameters in one statement. */
const MAX_PARAMETERS = 65535;

/**
 * Bytes of COPY data sent to the server in one chunk: small enough that the server parses and
 * inserts one chunk while the next is built.
 */
const COPY_CHUNK_BYTES = 1 << 16;

/**
 * Writes of a table that go through the staging table after its direct COPY met an existing
 * key (a replay, or another node's copy of the same rows), before trying direct again.
 */
const STAGED_AFTER_CONFLICT = 16;

/** One event's column value. */
type ColumnValue = (event: CollectedEvent) => SQLInputValue;

/** How one table's rows are written: its INSERT head and conflict clause, its key columns. */
interface TablePlan {
  readonly table: TableName;
  readonly columns: readonly string[];
  readonly values: readonly ColumnValue[];
  /** An event as a row of binary COPY, columns in table order. */
  readonly row: RowWriter<CollectedEvent>;
  /** An event as a row of the staging table: its position and round, then its columns. */
  readonly stagedRow: RowWriter<CollectedEvent>;
  /** `ON CONFLICT …` for PostgreSQL, or "". */
  readonly onConflict: string;
  /**
   * How many unique keys the table has (unique indexes, the primary key): two rows sharing a
   * key must not be in one statement (PostgreSQL refuses `DO UPDATE` of one row twice).
   */
  readonly keyCount: number;
  /** Writes an event's keys into `out` (`undefined` for a key with a NULL, which never conflicts). */
  readonly keysOf: (event: CollectedEvent, out: (string | number | undefined)[]) => void;
  /**
   * The table keeps one row per entity by its primary key (rooms, sessions): most batches update
   * a stored row, so its rows always go through the staging table.
   */
  readonly entity: boolean;
  /** The staging table COPY writes into. */
  readonly stage: string;
  /** `CREATE TEMP TABLE IF NOT EXISTS` of the staging table. */
  readonly createStage: string;
}

/**
 * The key writer of a table, with the column reads written out: for keys `[[0], [1, 2]]`,
 * `(e, o) => { { const x0 = v[0](e); o[0] = x0 === null ? undefined : x0; } { const x0 =
 * v[1](e); const x1 = v[2](e); o[1] = x0 === null || x1 === null ? undefined : x0 + "\u0001" +
 * x1; } }` (a third of the time of reading each key through arrays).
 */
function keysOf(
  spec: RowSpec<CollectedEvent>,
  keys: readonly (readonly number[])[],
): TablePlan["keysOf"] {
  const body = keys.map((key, k) => {
    const names = key.map((_, i) => `x${i}`);
    const reads = key.map((column, i) => `const ${names[i]} = v[${column}](e);`).join(" ");
    const isNull = names.map((name) => `${name} === null`).join(" || ");
    const value = names.length === 1 ? names[0] : names.join(' + "\\u0001" + ');
    return `{ ${reads} o[${k}] = ${isNull} ? undefined : ${value}; }`;
  });
  const make = new Function("v", `return (e, o) => { ${body.join(" ")} };`);
  return make(spec.columns.map((c) => c.value));
}

function tablePlan(spec: RowSpec<CollectedEvent>): TablePlan {
  const columns = spec.columns.map((c) => c.name);
  const keys = [
    ...spec.columns.filter((c) => c.primaryKey).map((c) => [columns.indexOf(c.name)]),
    ...spec.indexes.filter((i) => i.unique).map((i) => i.columns.map((c) => columns.indexOf(c))),
  ];
  const stage = `danmaku_stage_${spec.table}`;
  const stageColumns = [
    "seq INTEGER NOT NULL",
    "round INTEGER NOT NULL",
    ...spec.columns.map((c) =>
      pgColumnDefinition({ ...c, primaryKey: undefined, nullable: true, defaultSql: undefined })
    ),
  ];
  return {
    table: spec.table as TableName,
    columns,
    values: spec.columns.map((c) => c.value),
    row: rowWriter(spec.columns, false),
    stagedRow: rowWriter(spec.columns, true),
    onConflict: spec.onConflict ? pgOnConflict(spec.onConflict) : "",
    keyCount: keys.length,
    keysOf: keysOf(spec, keys),
    entity: spec.columns.some((c) => c.primaryKey),
    stage,
    createStage: `CREATE TEMP TABLE IF NOT EXISTS ${stage} (${
      stageColumns.join(", ")
    }) ON COMMIT DELETE ROWS`,
  };
}

const PLANS: ReadonlyMap<CollectedEventType, TablePlan> = new Map(
  (Object.keys(ROW_SPECS) as CollectedEventType[]).map((type) => [
    type,
    tablePlan(rowSpecOf(type)),
  ]),
);

/**
 * The order tables are written in: the keyed ones first, danmaku (most of the rows) last of
 * them, then the keyless ones (which never conflict). A direct COPY that meets a stored key
 * rolls the transaction back and `write` runs it again, so what comes before it is written
 * twice: with this order little.
 */
const WRITE_ORDER: readonly CollectedEventType[] = [...PLANS.keys()].sort((a, b) =>
  writeRank(PLANS.get(a)!) - writeRank(PLANS.get(b)!)
);

function writeRank(plan: TablePlan): number {
  return plan.keyCount === 0 ? 2 : plan.table === "danmaku" ? 1 : 0;
}

/** One table's events of a batch, in batch order, and the round each goes in. */
interface TableRows {
  readonly plan: TablePlan;
  readonly events: CollectedEvent[];
  /** rounds[i]: 0 unless event i shares a key with an earlier one (then one past its round). */
  readonly rounds: number[];
  /** Highest round + 1. */
  roundCount: number;
}

/** A table's rows being grouped: the round each key was last given, per key. */
interface Grouping extends TableRows {
  readonly lastRound: Map<string | number, number>[];
}

/**
 * The batch grouped by table, with rounds: rows sharing a unique key go in successive rounds,
 * so each statement holds a key at most once and the rounds in order give what SQLite's one
 * upsert after another gives. A key with a NULL never conflicts (NULLs are distinct).
 */
function groupRows(events: readonly CollectedEvent[]): TableRows[] {
  const byType = new Map<CollectedEventType, Grouping>();
  const keys: (string | number | undefined)[] = [];
  for (const event of events) {
    let group = byType.get(event.type);
    if (group === undefined) {
      const plan = PLANS.get(event.type);
      if (plan === undefined) throw new TypeError(`Unknown event type "${event.type}"`);
      const lastRound = Array.from({ length: plan.keyCount }, () => new Map());
      group = { plan, events: [], rounds: [], roundCount: 1, lastRound };
      byType.set(event.type, group);
    }
    let round = 0;
    const { plan, lastRound } = group;
    if (plan.keyCount > 0) {
      plan.keysOf(event, keys);
      for (let k = 0; k < plan.keyCount; k++) {
        const key = keys[k];
        const earlier = key === undefined ? undefined : lastRound[k].get(key);
        if (earlier !== undefined && earlier >= round) round = earlier + 1;
      }
      for (let k = 0; k < plan.keyCount; k++) {
        const key = keys[k];
        if (key !== undefined) lastRound[k].set(key, round);
      }
    }
    group.events.push(event);
    group.rounds.push(round);
    if (round >= group.roundCount) group.roundCount = round + 1;
  }
  // Tables in one fixed order (WRITE_ORDER): two nodes writing overlapping batches take their
  // row locks table by table in the same order.
  return WRITE_ORDER.flatMap((type) => byType.get(type) ?? []);
}

/** A transaction of npm:postgres. */
type Tx = postgres.TransactionSql;

/** A danmaku database on a PostgreSQL server: `write` batches; `close` when done. */
export class PgStore implements AsyncDisposable {
  /** The database as it may be shown (`describeDatabase`: no password). */
  readonly description: string;
  /** The schema upgrade this open made (versions from and to), else undefined. */
  upgrade: { from: number; to: number } | undefined;
  /** How rows go to the server. */
  readonly method: PgWriteMethod;
  readonly #url: string;
  #sql: postgres.Sql | undefined;
  readonly #staged: StagedWrites = new Map();

  private constructor(url: string, sql: postgres.Sql, method: PgWriteMethod) {
    this.#url = url;
    this.#sql = sql;
    this.method = method;
    this.description = describeDatabase(url);
  }

  /**
   * Connects to the database at `url`, creates the schema in an empty one and upgrades an
   * older one (once, however many stores open it at the same time). Throws a one-line
   * StorageError without the password: `unreachable` (no server), `auth` (credentials
   * refused), `missing` (no such database), `schema` (not a danmaku database, a newer version).
   */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const sql = pgConnect(url, { max: options.poolSize });
    const store = new PgStore(url, sql, options.method ?? "copy");
    try {
      store.upgrade = await openPgSchema(sql, url);
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw pgError(`Cannot open database "${store.description}"`, error, url);
    }
    if (store.upgrade) {
      options.log?.(formatLogLine("info", "upgraded the database schema", {
        db: store.description,
        ...store.upgrade,
      }));
    }
    return store;
  }

  /** Whether `close` has not been called yet. */
  get isOpen(): boolean {
    return this.#sql !== undefined;
  }

  /**
   * Writes a batch in one transaction and returns what changed (as SqliteStore.write counts
   * it). On any failure nothing is committed and a StorageError says why (`unreachable` while
   * the server is down or restarting: worth retrying); `events` is untouched.
   */
  async write(events: readonly CollectedEvent[]): Promise<WriteCounts> {
    const sql = this.#requireOpen("write");
    const counts = emptyWriteCounts();
    if (events.length === 0) return counts;
    let step = "group the batch";
    try {
      const groups = groupRows(events);
      const staged = this.method === "copy" ? this.#stagedTables(groups) : new Set<TableName>();
      for (;;) {
        const tally = emptyWriteCounts();
        try {
          step = "begin a transaction";
          await sql.begin(async (tx) => {
            const copies = this.method === "copy" ? groups.map((g) => copiesOf(g, staged)) : [];
            for (const [k, group] of groups.entries()) {
              const { table } = group.plan;
              step = `${this.method === "copy" ? "copy" : "insert"} rows into ${table}`;
              if (this.method === "copy") {
                // While the server takes this table's rows, the next table's are encoded.
                const next = copies[k + 1]?.[0];
                await copyRows(tx, copies[k], tally, () => next && encodeRows(next));
              } else {
                await insertRows(tx, group, tally);
              }
            }
            step = "commit";
          });
          Object.assign(counts, tally);
          break;
        } catch (error) {
          if (!(error instanceof DirectConflict) || staged.has(error.table)) throw error;
          // A key already stored (a replay, another node's copy of the same broadcast): the
          // transaction is rolled back; again with that table through the staging table, which
          // its next writes take directly for a while. (At most once per keyed table.)
          staged.add(error.table);
          this.#staged.set(error.table, STAGED_AFTER_CONFLICT);
        }
      }
    } catch (error) {
      throw pgError(
        `Cannot write ${events.length} events to "${this.description}"`,
        error instanceof DirectConflict ? error.cause : error,
        this.#url,
        step,
      );
    }
    return counts;
  }

  /** The keyed tables of the batch that go through the staging table this time (counted down). */
  #stagedTables(groups: readonly TableRows[]): Set<TableName> {
    const staged = new Set<TableName>();
    for (const { plan } of groups) {
      if (plan.keyCount === 0) continue;
      if (plan.entity) {
        staged.add(plan.table);
        continue;
      }
      const waiting = this.#staged.get(plan.table) ?? 0;
      if (waiting === 0) continue;
      staged.add(plan.table);
      this.#staged.set(plan.table, waiting - 1);
    }
    return staged;
  }

  /** Row counts of every table. */
  async countRows(): Promise<TableCounts> {
    const sql = this.#requireOpen("count the rows of");
    try {
      const [row] = await sql.unsafe<Record<string, string>[]>(
        `SELECT ${TABLE_NAMES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(", ")}`,
      );
      const counts = {} as TableCounts;
      for (const table of TABLE_NAMES) counts[table] = Number(row[table]);
      return counts;
    } catch (error) {
      throw pgError(`Cannot count the rows of "${this.description}"`, error, this.#url);
    }
  }

  /** Closes every connection (waiting up to 5 s for running queries); later calls do nothing. */
  async close(): Promise<void> {
    const sql = this.#sql;
    if (sql === undefined) return;
    this.#sql = undefined;
    await sql.end({ timeout: 5 });
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #requireOpen(action: string): postgres.Sql {
    if (this.#sql === undefined) {
      throw new StorageError(
        `Cannot ${action} "${this.description}": the store is closed`,
        "other",
      );
    }
    return this.#sql;
  }
}

/** Adds a statement's affected rows (inserted or updated) and the rest as unchanged. */
function count(counts: WriteCounts, table: TableName, rows: number, affected: number): void {
  counts[table] += affected;
  counts.unchanged += rows - affected;
}

/** A row's values for a bind parameter list (U+0000 as U+FFFD, as COPY stores it). */
function rowValues(plan: TablePlan, event: CollectedEvent): SQLInputValue[] {
  return plan.values.map((value) => {
    const v = value(event);
    return typeof v === "string" && v.includes("\0") ? v.replaceAll("\0", "\uFFFD") : v;
  });
}

/** Multi-row `INSERT … VALUES` of each round, as many rows per statement as parameters allow. */
async function insertRows(tx: Tx, group: TableRows, counts: WriteCounts): Promise<void> {
  const { plan } = group;
  const width = plan.columns.length;
  const perStatement = Math.floor(MAX_PARAMETERS / width);
  const head = `INSERT INTO ${plan.table} (${plan.columns.join(", ")}) VALUES `;
  const tail = plan.onConflict ? ` ${plan.onConflict}` : "";
  for (let round = 0; round < group.roundCount; round++) {
    const events = group.roundCount === 1
      ? group.events
      : group.events.filter((_, i) => group.rounds[i] === round);
    for (let start = 0; start < events.length; start += perStatement) {
      const chunk = events.slice(start, start + perStatement);
      const params: SQLInputValue[] = [];
      const tuples: string[] = [];
      for (const event of chunk) {
        const first = params.length;
        tuples.push(`(${plan.columns.map((_, c) => `$${first + c + 1}`).join(",")})`);
        for (const value of rowValues(plan, event)) params.push(value);
      }
      const result = await tx.unsafe(
        head + tuples.join(",") + tail,
        params as postgres.ParameterOrJSON<never>[],
      );
      count(counts, plan.table, chunk.length, result.count);
    }
  }
}

/** Per table, how many more writes go through the staging table before trying direct COPY. */
type StagedWrites = Map<TableName, number>;

/** A direct COPY met a key already stored (SQLSTATE 23505, in `cause`). */
class DirectConflict extends Error {
  /** The table of the COPY. */
  readonly table: TableName;
  constructor(table: TableName, cause: unknown) {
    super(`A row copied into ${table} has a key already stored`, { cause });
    this.name = "DirectConflict";
    this.table = table;
  }
}

/** One COPY of a table's rows: straight into the table, or into its staging table. */
interface CopyStep {
  readonly rows: TableRows;
  readonly staging: boolean;
  /** The rows in binary COPY, once encoded. */
  chunks?: Uint8Array[];
}

/**
 * The COPYs of a table. Without a unique key: straight into it. A keyed table: the first row
 * of each key (round 0) straight in too, and only the later rows of a key (twins that update
 * it) through the staging table; or, when the table is `staged`, every row through the staging
 * table. A row of a direct COPY that meets a stored key (23505: a replayed batch, another
 * node's copy of the same message) fails the transaction with a DirectConflict, and `write`
 * runs it again with the table staged. (No savepoint around the direct COPY: one costs two
 * round trips and a subtransaction per table and write; a conflict is rare, and then the
 * staging table is used for the next writes of the table.)
 */
function copiesOf(group: TableRows, staged: ReadonlySet<TableName>): CopyStep[] {
  const { plan } = group;
  if (plan.keyCount > 0 && (staged.has(plan.table) || plan.entity)) {
    return [{ rows: group, staging: true }];
  }
  if (group.roundCount === 1) return [{ rows: group, staging: false }];
  // Round 0 holds the first row of every key in the batch; later rounds update those rows.
  return [{ rows: subset(group, 0), staging: false }, { rows: subset(group, 1), staging: true }];
}

/** Runs the COPYs of one table (`afterSend` once the first one's rows are all sent). */
async function copyRows(
  tx: Tx,
  steps: readonly CopyStep[],
  counts: WriteCounts,
  afterSend: () => void,
): Promise<void> {
  for (const [i, step] of steps.entries()) {
    const { plan, events } = step.rows;
    const then = i === 0 ? afterSend : () => {};
    if (step.staging) {
      await stageRows(tx, step, counts, then);
      continue;
    }
    const direct = `COPY ${plan.table} (${plan.columns.join(", ")}) FROM STDIN (FORMAT binary)`;
    try {
      await copyLines(tx, direct, step, then);
    } catch (error) {
      throw errorCode(error) === "23505" && plan.keyCount > 0
        ? new DirectConflict(plan.table, error)
        : error;
    }
    count(counts, plan.table, events.length, events.length);
  }
}

/** Encodes a step's rows in binary COPY (once). */
function encodeRows(step: CopyStep): void {
  if (step.chunks) return;
  const { events, rounds, plan } = step.rows;
  const out = new CopyWriter(COPY_CHUNK_BYTES);
  const row = step.staging ? plan.stagedRow : plan.row;
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < events.length; i++) {
    row(events[i], out, i, rounds[i]);
    if (out.full) chunks.push(out.take());
  }
  chunks.push(out.finish());
  step.chunks = chunks;
}

/** The events of `group` from round `from` on, their rounds counted from there. */
function subset(group: TableRows, from: number): TableRows {
  const events: CollectedEvent[] = [];
  const rounds: number[] = [];
  group.rounds.forEach((round, i) => {
    if (from === 0 ? round === 0 : round >= from) {
      events.push(group.events[i]);
      rounds.push(round - from);
    }
  });
  return { plan: group.plan, events, rounds, roundCount: from === 0 ? 1 : group.roundCount - from };
}

/**
 * COPY of `group` into the staging table, then one `INSERT … SELECT … ON CONFLICT` per round
 * (the statements sent without waiting for each other's answer: one round trip for them all).
 */
async function stageRows(
  tx: Tx,
  step: CopyStep,
  counts: WriteCounts,
  afterSend: () => void,
): Promise<void> {
  const group = step.rows;
  const { plan } = group;
  const created = tx.unsafe(plan.createStage);
  created.catch(() => {});
  await copyLines(
    tx,
    `COPY ${plan.stage} (seq, round, ${plan.columns.join(", ")}) FROM STDIN (FORMAT binary)`,
    step,
    afterSend,
  ).catch(async (error) => {
    await created; // the first failure is the one to report
    throw error;
  });
  const columns = plan.columns.join(", ");
  const perRound = new Array<number>(group.roundCount).fill(0);
  for (const round of group.rounds) perRound[round]++;
  const inserts = [];
  for (let round = 0; round < group.roundCount; round++) {
    const insert = tx.unsafe(
      `INSERT INTO ${plan.table} (${columns}) SELECT ${columns} FROM ${plan.stage}${
        group.roundCount === 1 ? "" : ` WHERE round = ${round}`
      } ORDER BY seq${plan.onConflict ? ` ${plan.onConflict}` : ""}`,
    );
    insert.catch(() => {});
    inserts.push(insert);
  }
  for (let round = 0; round < group.roundCount; round++) {
    count(counts, plan.table, perRound[round], (await inserts[round]).count);
  }
}

/** The SQLSTATE (or connection code) of an error from npm:postgres, if any. */
function errorCode(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null && "code" in error
    ? error.code
    : undefined;
  return typeof code === "string" ? code : undefined;
}

/**
 * Runs `copy` (a `COPY … FROM STDIN (FORMAT binary)`) with the group's rows in binary format,
 * each led by its position and round when `staging`.
 */
async function copyLines(tx: Tx, copy: string, step: CopyStep, afterSend: () => void) {
  const query = tx.unsafe(copy);
  // npm:postgres 3.4.9 resolves a COPY query with its stream once the server accepts the COPY;
  // an error the server reports later (a bad row, a duplicate key, the connection lost) only
  // reaches the query's `reject`, which no promise listens to any more, and the stream never
  // finishes. Catching it here turns a hang into the server's own words.
  const internals = query as unknown as { reject: (error: unknown) => void };
  const reject = internals.reject;
  let failed: (error: unknown) => void = () => {};
  const failure = new Promise<never>((_, rejectFailure) => failed = rejectFailure);
  failure.catch(() => {});
  internals.reject = (error) => {
    failed(error);
    reject(error);
  };
  const stream = await Promise.race([query.writable(), failure]);
  let finished = false;
  const done = new Promise<void>((resolve, rejectDone) => {
    stream.once("finish", () => (finished = true, resolve()));
    stream.once("error", rejectDone);
    stream.once("close", () => {
      if (!finished) {
        rejectDone(
          Object.assign(new Error("the COPY stream closed before the server confirmed it"), {
            code: "CONNECTION_CLOSED",
          }),
        );
      }
    });
  });
  done.catch(() => {});
  const settled = Promise.race([done, failure]);
  const chunks = step.chunks;
  if (chunks) {
    for (let i = 0; i < chunks.length - 1; i++) stream.write(chunks[i]);
    stream.end(chunks[chunks.length - 1]);
  } else {
    // Encoded as it goes: the server takes one chunk while the next is built.
    const { events, rounds, plan } = step.rows;
    const out = new CopyWriter(COPY_CHUNK_BYTES);
    const row = step.staging ? plan.stagedRow : plan.row;
    try {
      for (let i = 0; i < events.length; i++) {
        row(events[i], out, i, rounds[i]);
        if (out.full && !stream.write(out.take())) {
          await Promise.race([
            new Promise<void>((resolve) => stream.once("drain", resolve)),
            settled,
          ]);
        }
      }
    } catch (error) {
      // A value the column cannot hold: CopyFail ends the COPY (the transaction fails with it).
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
      await settled.catch(() => {});
      throw error;
    }
    stream.end(out.finish());
  }
  step.chunks = undefined;
  try {
    afterSend();
  } catch {
    // The next table's rows are encoded again, and fail, when its turn comes.
  }
  await settled;
}
