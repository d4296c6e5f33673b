/** The flags of `deno task cluster-demo`, declared once (usage text, parsing, docs/flags.md). */
import { type CommandSpec, flag } from "../../src/util/flags.ts";

const DEMO_FLAGS = {
  rooms: flag.number({
    name: "rooms",
    default: 12,
    help: "rooms the nodes share",
    min: 3,
    max: 300,
    integer: true,
  }),
  messages: flag.number({
    name: "messages",
    default: 300,
    help: "op-5 messages each room sends",
    min: 10,
    max: 100_000,
    integer: true,
  }),
  leaseTtl: flag.duration({
    name: "lease-ttl",
    default: 6000,
    help: "the nodes' --lease-ttl",
    minMs: 1000,
  }),
  flushInterval: flag.duration({
    name: "flush-interval",
    default: 500,
    help: "the nodes' --flush-interval",
    minMs: 50,
  }),
};

/** `deno task cluster-demo`: usage, help and flags. */
export const CLUSTER_DEMO_COMMAND: CommandSpec<typeof DEMO_FLAGS> = {
  name: "cluster-demo",
  usage: ["deno task cluster-demo [flags]"],
  summary: "three collector nodes on one PostgreSQL, one killed half-way",
  description: `Starts the simulator, a throwaway PostgreSQL and three collect nodes
(a, b, c) whose --max-connections (half the rooms each) make them split the
rooms. Half-way through the messages it kills the node holding the most rooms
with SIGKILL, waits for the others to take its rooms over, and prints the rooms
each node held before and after and the danmaku stored against what the
simulator sent. Ctrl+C stops everything.`,
  flags: DEMO_FLAGS,
};
