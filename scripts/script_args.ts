/** Flag handling shared by the scripts (bench, soak, docs): help, then one-line errors. */
import { ConfigError } from "../src/errors.ts";
import {
  type CommandSpec,
  type FlagTable,
  type FlagValues,
  parseCommandArgs,
  usageText,
  wantsHelp,
} from "../src/util/flags.ts";

/**
 * Parses a script's arguments: `--help` prints the usage and exits 0; a bad flag prints one
 * `error: …` line and exits 2.
 */
export function scriptArgs<F extends FlagTable>(
  spec: CommandSpec<F>,
  args: readonly string[],
): FlagValues<F> {
  if (wantsHelp(args)) {
    console.log(usageText(spec));
    Deno.exit(0);
  }
  try {
    return parseCommandArgs(spec, args).values;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`error: ${error.message}`);
    Deno.exit(2);
  }
}
