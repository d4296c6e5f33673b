/**
 * The normalizer's modules import each other without a loop: the per-cmd handlers share
 * src/normalize/context.ts with the dispatcher and never import the dispatcher itself.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { folderLoops, readImports, typeScriptFiles } from "./support/import_graph.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("no module under src/normalize/ imports itself around a loop", async () => {
  const files = await typeScriptFiles(ROOT, ["src/normalize"]);
  assert.ok(files.includes("src/normalize/normalize_message.ts"), files.join(", "));
  const edges = await readImports(ROOT, files);
  assert.ok(edges.some((edge) => edge.to === "src/normalize/context.ts"), "edges were read");
  // One layer whose entries are the files themselves: folderLoops() then reports file loops.
  assert.deepEqual(folderLoops(edges, [files]), []);
});
