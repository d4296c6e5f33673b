/** Every command of main.ts, declared once: the top-level usage and docs/flags.md list them. */
import { COLLECT_COMMAND } from "../collector/config.ts";
import { type CommandSpec, usageEntry } from "../util/flags.ts";
import { DECODE_COMMAND } from "./decode_command.ts";
import { DEMO_COMMAND } from "./demo_command.ts";
import { EXPORT_COMMAND } from "./export_command.ts";
import { ROOMS_COMMAND } from "./rooms_command.ts";
import { SIMULATE_COMMAND } from "./simulate_command.ts";
import { STATS_COMMAND } from "./stats_command.ts";

/** The commands, in the order the usage lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  COLLECT_COMMAND,
  ROOMS_COMMAND,
  DECODE_COMMAND,
  SIMULATE_COMMAND,
  DEMO_COMMAND,
  EXPORT_COMMAND,
  STATS_COMMAND,
];

/** The command named `name`, if there is one. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** The usage of main.ts itself: how to run it and the list of commands. */
export function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  const lines = [
    "Usage: main.ts <command> [flags]",
    "   or: deno task <task> [flags]   (tasks in deno.json; a leading -- is accepted)",
    "",
    "Commands:",
  ];
  for (const command of COMMANDS) {
    lines.push(...usageEntry(command.name, command.summary, width + 4));
  }
  lines.push(
    "",
    'Run "main.ts <command> --help" for its flags; docs/flags.md lists them all.',
  );
  return lines.join("\n");
}
