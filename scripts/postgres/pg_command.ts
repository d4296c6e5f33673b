/** The flags of `deno task pg`, declared once (usage text, parsing, docs/flags.md). */
import { type CommandSpec, flag } from "../../src/util/flags.ts";

const PG_FLAGS = {
  data: flag.string({
    name: "data",
    arg: "DIR",
    help:
      "keep the cluster in DIR (created on first use, started again as it is later) instead of a temporary folder removed on stop",
  }),
  port: flag.number({
    name: "port",
    default: 0,
    defaultText: "a free port",
    help: "TCP port on 127.0.0.1",
    min: 0,
    max: 65535,
    integer: true,
  }),
  urlOnly: flag.boolean({
    name: "url-only",
    help: "print only the URL (one line on stdout), for scripts such as .ci/run",
  }),
  database: flag.string({
    name: "database",
    arg: "NAME",
    default: "danmaku",
    help: "database to create and print the URL of",
  }),
};

/** `deno task pg`: usage, help and flags. */
export const PG_COMMAND: CommandSpec<typeof PG_FLAGS> = {
  name: "pg",
  usage: ["deno task pg [flags]"],
  summary: "a throwaway PostgreSQL on this machine for collect --db postgres://…",
  description: `Starts PostgreSQL (Debian's postgresql package: initdb + pg_ctl, as the
postgres user when run as root) on 127.0.0.1 with password authentication,
creates the database, prints the URL to pass as --db and keeps running. Ctrl+C
stops the server and removes its data, unless --data DIR keeps it.`,
  flags: PG_FLAGS,
};
