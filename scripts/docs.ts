/** `deno task docs`: writes docs/flags.md from the flag declarations (tests fail when stale). */
import { FLAGS_DOC_PATH, flagsMarkdown } from "./flags_doc.ts";

const path = new URL(`../${FLAGS_DOC_PATH}`, import.meta.url);
await Deno.writeTextFile(path, flagsMarkdown());
console.error(`wrote ${FLAGS_DOC_PATH}`);
