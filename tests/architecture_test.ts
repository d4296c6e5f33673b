/**
 * Imports only go down: a test that reads the import lines of src/, main.ts and scripts/ and
 * fails on an import from a lower layer to a higher one or on a loop between folders.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  folderLoops,
  importSpecifiers,
  type LayerTable,
  layerViolations,
  readImports,
  typeScriptFiles,
} from "./support/import_graph.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Lowest layer first. A folder may import its own layer and the layers below it, never above. */
const LAYERS: LayerTable = [
  ["src/errors.ts", "src/defaults.ts", "src/util/"],
  ["src/protocol/"],
  ["src/bilibili/", "src/normalize/"],
  ["src/room/", "src/storage/"],
  ["src/export/", "src/discovery/", "src/cluster/", "src/simulator/"],
  ["src/analysis/"],
  ["src/collector/"],
  ["src/web/"],
  ["src/cli/"],
  ["main.ts", "scripts/"],
];

async function projectImports() {
  const files = await typeScriptFiles(ROOT, ["src", "scripts", "main.ts"]);
  return { files, edges: await readImports(ROOT, files) };
}

Deno.test("no file under src/, scripts/ or main.ts imports from a higher layer", async () => {
  const { files, edges } = await projectImports();
  assert.ok(files.length > 50 && edges.length > 100, "the import lines were read");
  const problems = layerViolations(edges, LAYERS);
  assert.deepEqual(problems, [], `imports that go up a layer:\n  ${problems.join("\n  ")}`);
});

Deno.test("no two folders import each other, directly or around a loop", async () => {
  const { edges } = await projectImports();
  const loops = folderLoops(edges, LAYERS);
  assert.deepEqual(loops, [], `folders in an import loop:\n  ${loops.join("\n  ")}`);
});

Deno.test("importSpecifiers() reads single-line, multi-line, type, re-export, bare and dynamic imports", () => {
  const source = [
    'import assert from "node:assert/strict";',
    'import type { Clock } from "../util/clock.ts";',
    "import {",
    "  a,",
    "  type B,",
    '} from "./multi.ts";',
    'export { c } from "./reexport.ts";',
    'export * from "./star.ts";',
    'import "./side_effect.ts";',
    'const lazy = await import("./lazy.ts");',
    '// the word import in a comment does not count: import x from "./not.ts" is mid-line',
    'const text = "from \\"./string.ts\\"";',
  ].join("\n");
  assert.deepEqual(importSpecifiers(source).toSorted(), [
    "../util/clock.ts",
    "./lazy.ts",
    "./multi.ts",
    "./reexport.ts",
    "./side_effect.ts",
    "./star.ts",
    "node:assert/strict",
  ]);
});

Deno.test("layerViolations() names an upward import, an import out of the repository and an unplaced folder", () => {
  const problems = layerViolations([
    { from: "src/protocol/packet.ts", to: "src/util/clock.ts" },
    { from: "src/room/transport.ts", to: "src/protocol/packet.ts" },
    { from: "src/export/chunk_writer.ts", to: "src/cli/line_writer.ts" },
    { from: "src/cli/demo_command.ts", to: "../elsewhere/samples.ts" },
    { from: "src/widgets/knob.ts", to: "src/util/clock.ts" },
  ], LAYERS);
  assert.deepEqual(problems, [
    "src/export/chunk_writer.ts (layer 4, src/export/) imports src/cli/line_writer.ts (layer 8, src/cli/)",
    "src/cli/demo_command.ts imports ../elsewhere/samples.ts, outside the repository",
    "src/widgets/knob.ts imports src/util/clock.ts: src/widgets/knob.ts has no layer in the table",
  ]);
});

Deno.test("folderLoops() finds a loop through three folders of the same layer and ignores loops inside a folder", () => {
  const loops = folderLoops([
    { from: "src/export/a.ts", to: "src/discovery/b.ts" },
    { from: "src/discovery/b.ts", to: "src/simulator/c.ts" },
    { from: "src/simulator/c.ts", to: "src/export/d.ts" },
    { from: "src/normalize/x.ts", to: "src/normalize/y.ts" },
    { from: "src/normalize/y.ts", to: "src/normalize/x.ts" },
    { from: "src/room/r.ts", to: "src/protocol/p.ts" },
  ], LAYERS);
  assert.deepEqual(loops, [
    "src/discovery/ <-> src/export/ <-> src/simulator/: src/discovery/b.ts -> src/simulator/c.ts; src/export/a.ts -> src/discovery/b.ts; src/simulator/c.ts -> src/export/d.ts",
  ]);
});
