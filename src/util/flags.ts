/**
 * Flags declared once. A command lists its flags as `{ name, type, default, help, parse }`
 * ({@linkcode flag} builds them); from that list come the `node:util` parseArgs spec, the parsed
 * and validated values ({@linkcode parseCommandArgs}), the `--help` text ({@linkcode usageText})
 * and docs/flags.md. Every error names the flag and the bad value.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../errors.ts";
import { formatDuration, parseDuration } from "./duration.ts";

/** Usage text (and docs/flags.md) lines are at most this wide. */
export const USAGE_WIDTH = 80;

/** Column where the help of a flag starts in the usage text. */
const HELP_COLUMN = 28;

/** One flag: its parseArgs type, its value when absent, its help, and how its text is read. */
export interface Flag<T> {
  /** Long name without dashes: `flush-interval`. */
  readonly name: string;
  /** `string` flags take a value; `boolean` flags do not. */
  readonly type: "string" | "boolean";
  /** Placeholder of the value in the usage text: `DUR`, `FILE`, `N`. */
  readonly arg?: string;
  /** The value when the flag is absent. */
  readonly default: T;
  /** How the default reads in the usage text, when the value alone would not say it. */
  readonly defaultText?: string;
  /** One sentence, lower case, no final period; the usage text appends the default. */
  readonly help: string;
  /** Heading the flag is listed under (collect groups its many flags). */
  readonly group?: string;
  /** A boolean flag that also accepts `--no-NAME` (then `false`). */
  readonly negatable?: boolean;
  /** Reads the text of a string flag; throws a ConfigError naming the flag and the value. */
  readonly parse?: (text: string) => T;
}

/** A command's flags, keyed by the name of the value each one sets. */
export type FlagTable = Readonly<Record<string, Flag<unknown>>>;

/** The parsed values of a flag table. */
export type FlagValues<F extends FlagTable> = {
  readonly [K in keyof F]: F[K] extends Flag<infer V> ? V : never;
};

/** A command: how it is run, what it does, its flags and operands. */
export interface CommandSpec<F extends FlagTable = FlagTable> {
  /** Name in messages: `collect`. */
  readonly name: string;
  /** How it is started, first the canonical form: `main.ts collect [flags]`. */
  readonly usage: readonly string[];
  /** One line for the list of commands. */
  readonly summary: string;
  /** Paragraphs after the usage lines (see {@linkcode wrapProse}). */
  readonly description: string;
  readonly flags: F;
  /** Positional operands, e.g. decode's `FILE|-`; absent = none allowed. */
  readonly operands?: { readonly name: string; readonly min: number; readonly max: number };
  /** Text after the flag list (see {@linkcode wrapProse}). */
  readonly notes?: string;
}

/** What {@linkcode parseCommandArgs} returns. */
export interface ParsedArgs<F extends FlagTable> {
  readonly values: FlagValues<F>;
  readonly operands: readonly string[];
}

/** Allowed range of a numeric flag. */
export interface NumberRule {
  min: number;
  max: number;
  integer?: boolean;
}

/** `--help` or `-h` among `args` (before a `--` that ends the flags). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--", 1);
  const flags = end === -1 ? args : args.slice(0, end);
  return flags.includes("--help") || flags.includes("-h");
}

/**
 * Drops one leading `--`: `deno task export -- --db x.db` passes it through literally, and a
 * shell user may type it out of habit.
 */
export function skipLeadingDashDash(args: readonly string[]): readonly string[] {
  return args[0] === "--" ? args.slice(1) : args;
}

/** Parses a number in `rule`'s range; the error names the flag and the value. */
export function parseNumber(flag: string, text: string, rule: NumberRule): number {
  const n = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(n) || (rule.integer && !Number.isInteger(n)) ||
    n < rule.min || n > rule.max
  ) {
    throw new ConfigError(
      `Cannot parse --${flag} "${text}": expected ${
        rule.integer ? "an integer" : "a number"
      } from ${rule.min} to ${rule.max}`,
    );
  }
  return n;
}

/** Parses a duration (`500ms`, `10s`, `5m`, `2h`, `1d`; a bare number is seconds) in ms. */
export function parseDurationFlag(flag: string, text: string, minMs = 0): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < minMs) {
    throw new ConfigError(
      `Cannot parse --${flag} "${text}": expected a duration such as 500ms, 10s, 5m or 2h${
        minMs > 0 ? ` of at least ${minMs} ms` : ""
      }`,
    );
  }
  return ms;
}

/** `a`, `a or b`, `a, b or c`. */
export function orList(items: readonly string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/** Common fields of the flag builders. */
interface FlagOptions<D> {
  name: string;
  help: string;
  default: D;
  arg?: string;
  defaultText?: string;
  group?: string;
}

/** Builders of {@linkcode Flag} declarations. */
export const flag = {
  /** A string taken as it is. */
  string<D extends string | undefined = undefined>(
    options: Omit<FlagOptions<D>, "default"> & { default?: D },
  ): Flag<string | D> {
    return {
      ...options,
      type: "string",
      arg: options.arg ?? "TEXT",
      default: options.default as D,
      parse: (text) => text,
    };
  },
  /** A number within `min`..`max` (an integer if `integer`). */
  number<D extends number | undefined>(options: FlagOptions<D> & NumberRule): Flag<number | D> {
    const { min, max, integer, ...rest } = options;
    return {
      ...rest,
      type: "string",
      arg: options.arg ?? "N",
      parse: (text) => parseNumber(options.name, text, { min, max, integer }),
    };
  },
  /** A duration in ms, at least `minMs`. */
  duration<D extends number | undefined>(
    options: FlagOptions<D> & { minMs?: number },
  ): Flag<number | D> {
    const { minMs, ...rest } = options;
    return {
      ...rest,
      type: "string",
      arg: options.arg ?? "DUR",
      defaultText: options.defaultText ??
        (options.default === undefined ? undefined : formatDuration(options.default)),
      parse: (text) => parseDurationFlag(options.name, text, minMs),
    };
  },
  /** One of a few words. */
  choice<C extends string, D extends C | undefined>(
    options: FlagOptions<D> & { choices: readonly C[] },
  ): Flag<C | D> {
    const { choices, ...rest } = options;
    return {
      ...rest,
      type: "string",
      arg: options.arg ?? choices.join("|"),
      parse: (text) => {
        if (!(choices as readonly string[]).includes(text)) {
          throw new ConfigError(
            `Cannot parse --${options.name} "${text}": expected ${orList(choices)}`,
          );
        }
        return text as C;
      },
    };
  },
  /** A switch: `true` when given; with `negatable`, `--no-NAME` gives `false`. */
  boolean<D extends boolean | undefined = false>(
    options: Omit<FlagOptions<D>, "default" | "arg"> & { default?: D; negatable?: boolean },
  ): Flag<boolean | D> {
    return {
      ...options,
      type: "boolean",
      default: ("default" in options ? options.default : false) as D,
    };
  },
  /** An `http://` or `https://` URL. */
  url<D extends string | undefined>(options: FlagOptions<D>): Flag<string | D> {
    return {
      ...options,
      type: "string",
      arg: options.arg ?? "URL",
      parse: (text) => {
        if (!/^https?:\/\/[^/]+/.test(text)) {
          throw new ConfigError(
            `Cannot parse --${options.name} "${text}": expected an http:// or https:// URL`,
          );
        }
        return text;
      },
    };
  },
  /** A value read by `parse` (which throws a ConfigError naming the flag). */
  custom<T, D extends T | undefined>(
    options: FlagOptions<D> & { arg: string; parse: (text: string) => T },
  ): Flag<T | D> {
    return { ...options, type: "string" };
  },
};

/** How to ask for the command's help: `main.ts decode --help`. */
function helpCommand(spec: CommandSpec): string {
  const usage = spec.usage[0];
  const end = usage.indexOf(spec.name);
  return `${end === -1 ? spec.name : usage.slice(0, end + spec.name.length)} --help`;
}

/** Turns the messages of `node:util` parseArgs into ones a newcomer can act on. */
function explainParseError(spec: CommandSpec, error: Error & { code?: string }): string {
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? "";
  const help = `run "${helpCommand(spec)}" for the flags`;
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option '${quoted}'; ${help}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const name = quoted.replace(/ <value>$/, "");
      const declared = Object.values(spec.flags).find((f) => `--${f.name}` === name);
      return declared?.type === "string"
        ? `'${name}' needs a value: ${name} ${declared.arg}`
        : `'${name}' takes no value; ${help}`;
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument '${quoted}': ${spec.name} takes ${
        spec.operands ? `only ${spec.operands.name}` : "no arguments"
      } besides flags; ${help}`;
    default:
      return error.message;
  }
}

/**
 * Parses `args` (after the command name) against `spec`: skips one leading `--`, rejects unknown
 * flags and stray operands, reads each given flag with its `parse`, and fills in defaults.
 * Throws a ConfigError naming the command, or the flag and its value.
 */
export function parseCommandArgs<F extends FlagTable>(
  spec: CommandSpec<F>,
  args: readonly string[],
): ParsedArgs<F> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const declared of Object.values(spec.flags)) {
    options[declared.name] = { type: declared.type };
    if (declared.negatable) options[`no-${declared.name}`] = { type: "boolean" };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...skipLeadingDashDash(args)],
      options,
      strict: true,
      allowPositionals: spec.operands !== undefined,
    });
  } catch (error) {
    throw new ConfigError(
      `Cannot parse ${spec.name} flags: ${explainParseError(spec, error as Error)}`,
      { cause: error },
    );
  }
  const given = parsed.values as Record<string, string | boolean | undefined>;
  const values: Record<string, unknown> = {};
  for (const [key, declared] of Object.entries(spec.flags)) {
    const raw = given[declared.name];
    if (declared.negatable && given[`no-${declared.name}`]) {
      if (raw) {
        throw new ConfigError(
          `Cannot use --${declared.name} and --no-${declared.name} together`,
        );
      }
      values[key] = false;
    } else if (raw === undefined) {
      values[key] = declared.default;
    } else if (typeof raw === "boolean") {
      values[key] = raw;
    } else {
      values[key] = declared.parse ? declared.parse(raw) : raw;
    }
  }
  const operands = parsed.positionals;
  const rule = spec.operands;
  if (rule && (operands.length < rule.min || operands.length > rule.max)) {
    throw new ConfigError(
      `Cannot parse ${spec.name} arguments: expected ${rule.name}, got ${
        operands.length === 0 ? "nothing" : operands.map((o) => `'${o}'`).join(" ")
      }; run "${helpCommand(spec)}"`,
    );
  }
  return { values: Object.freeze(values) as FlagValues<F>, operands };
}

/** How a flag's default reads, or undefined when there is nothing to say. */
function defaultText(declared: Flag<unknown>): string | undefined {
  if (declared.defaultText !== undefined) return declared.defaultText;
  const value = declared.default;
  if (value === undefined || value === false) return undefined;
  if (value === true) return "on";
  return String(value);
}

/** Terminal columns of `text`: CJK and fullwidth characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) {
    width +=
      /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u
          .test(char)
        ? 2
        : 1;
  }
  return width;
}

/** Wraps `text` to lines no wider than `width`, the first starting at `first` columns in. */
function wrap(text: string, first: number, indent: number, width = USAGE_WIDTH): string[] {
  const lines: string[] = [];
  let line = "";
  let column = first;
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    const size = displayWidth(word);
    if (line !== "" && column + 1 + size > width) {
      lines.push(line);
      line = word;
      column = indent + size;
    } else {
      column += (line === "" ? 0 : 1) + size;
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * Usage-text lines of one entry: `names` indented by two, `text` wrapped beside it from
 * `column` on (or below it when `names` reaches that far).
 */
export function usageEntry(names: string, text: string, column = HELP_COLUMN): string[] {
  const head = `  ${names}`;
  const pad = " ".repeat(column);
  const wrapped = wrap(text, column, column);
  if (displayWidth(head) >= column - 1) return [head, ...wrapped.map((line) => pad + line)];
  const [first, ...rest] = wrapped;
  return [head + " ".repeat(column - displayWidth(head)) + first, ...rest.map((l) => pad + l)];
}

/** The usage-text lines of one flag. */
function flagLines(declared: Flag<unknown>): string[] {
  const names = declared.negatable
    ? `--${declared.name}, --no-${declared.name}`
    : `--${declared.name}${declared.type === "string" ? ` ${declared.arg}` : ""}`;
  const fallback = defaultText(declared);
  return usageEntry(
    names,
    fallback === undefined ? declared.help : `${declared.help} (default: ${fallback})`,
  );
}

/**
 * Wraps prose to {@linkcode USAGE_WIDTH}: consecutive lines join into one paragraph, while blank
 * lines and lines that start with a space (examples, tables) stay as they are.
 */
export function wrapProse(text: string): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  const end = () => {
    if (paragraph.length > 0) out.push(...wrap(paragraph.join(" "), 0, 0));
    paragraph = [];
  };
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith(" ")) {
      end();
      out.push(line);
    } else {
      paragraph.push(line);
    }
  }
  end();
  return out.join("\n");
}

/** The `--help` text of a command, generated from its declaration. */
export function usageText(spec: CommandSpec): string {
  const [first, ...others] = spec.usage;
  const lines = [
    `Usage: ${first}`,
    ...others.map((u) => `   or: ${u}`),
    "",
    wrapProse(spec.description),
  ];
  const groups = new Map<string, Flag<unknown>[]>();
  for (const declared of Object.values(spec.flags)) {
    const group = declared.group ?? "Flags";
    groups.set(group, [...groups.get(group) ?? [], declared]);
  }
  const helpLine = usageEntry("-h, --help", "print this help and exit");
  if (groups.size === 0) lines.push("", "Flags:", ...helpLine);
  let index = 0;
  for (const [group, flags] of groups) {
    lines.push("", `${group}:`, ...flags.flatMap(flagLines));
    if (++index === groups.size) lines.push(...helpLine);
  }
  if (spec.notes) lines.push("", wrapProse(spec.notes));
  return lines.join("\n");
}
