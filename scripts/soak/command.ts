/** The flags of `deno task soak`, declared once (usage text, parsing, docs/flags.md). */
import { ConfigError } from "../../src/errors.ts";
import { parseFaults } from "../../src/simulator/faults.ts";
import { type CommandSpec, flag, parseDurationFlag } from "../../src/util/flags.ts";

/** The faults of the 10-minute soak. */
export const DEFAULT_FAULTS = "disconnect=0.02,corrupt=0.01,stall=0.01,authfail=0.05";

/** A flag that takes a positive number (an integer if `integer`). */
function positive(name: string, arg: string, fallback: number, help: string, integer = false) {
  return flag.custom({
    name,
    arg,
    default: fallback,
    help,
    parse: (text) => {
      const value = Number(text);
      if (
        text.trim() === "" || !Number.isFinite(value) || value <= 0 ||
        (integer && !Number.isInteger(value))
      ) {
        throw new ConfigError(
          `Cannot use --${name} "${text}": expected a positive ${integer ? "integer" : "number"}`,
        );
      }
      return value;
    },
  });
}

const SOAK_FLAGS = {
  minutes: positive("minutes", "N", 2, "how long to collect before SIGINT"),
  rooms: positive("rooms", "N", 50, "rooms, all collected", true),
  rate: positive("rate", "R", 10, "mean op-5 messages/s per live room, Zipf-spread"),
  faults: flag.custom({
    name: "faults",
    arg: "K=P,…",
    default: DEFAULT_FAULTS,
    defaultText: "the faults below",
    help: "the simulator's faults",
    parse: (text) => {
      parseFaults(text);
      return text;
    },
  }),
  seed: flag.string({ name: "seed", arg: "S", default: "soak", help: "simulator seed" }),
  watchdog: flag.custom({
    name: "watchdog",
    arg: "DUR",
    default: "10s",
    help: "the collector's --watchdog",
    parse: (text) => {
      parseDurationFlag("watchdog", text, 10);
      return text;
    },
  }),
  json: flag.string({ name: "json", arg: "FILE", help: "also write the report as JSON" }),
  keep: flag.boolean({
    name: "keep",
    help: "keep the truth file and the database, and print where",
  }),
};

/** `deno task soak`: usage, help and flags. */
export const SOAK_COMMAND: CommandSpec<typeof SOAK_FLAGS> = {
  name: "soak",
  usage: ["deno task soak [flags]"],
  summary: "the collector against a faulty simulator, reconciled against its truth file",
  description: `Runs the simulator with faults and the collector (a child process, --keep-raw)
for a while, samples the collector's RSS, stops it with SIGINT while traffic
still flows, and reports per table: delivered, stored, missing, in flight at
stop, received but not stored, duplicated; sessions by end reason; RSS
min/median/max and its slope over the second half (docs/soak.md). Exits 1 when
a row is duplicated, a received message was not stored, or the collector did
not exit 0; 2 on bad flags.`,
  flags: SOAK_FLAGS,
  notes: `Default faults: ${DEFAULT_FAULTS}
(per connection per second; authfail per auth).`,
};
