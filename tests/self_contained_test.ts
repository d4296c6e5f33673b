/**
 * A fresh clone has no `shared/` folder beside it: nothing the tests, scripts, sources or CI
 * read may point there. Fixtures live in tests/fixtures/.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A path into the folder beside the repository (or the machine's copy of it). */
const OUTSIDE = /\.\.[\\/]+shared\b|\/work\/shared\b/;

/** Files under `path` (relative to the root) whose bytes mention `pattern`, read as Latin-1. */
async function filesMentioning(path: string, pattern: RegExp): Promise<string[]> {
  const found: string[] = [];
  const info = await Deno.stat(join(ROOT, path));
  if (info.isFile) {
    const text = new TextDecoder("latin1").decode(await Deno.readFile(join(ROOT, path)));
    return pattern.test(text) ? [path] : [];
  }
  for await (const entry of Deno.readDir(join(ROOT, path))) {
    found.push(...await filesMentioning(join(path, entry.name), pattern));
  }
  return found;
}

Deno.test("no file under tests/, scripts/, src/ or .ci/ refers to the shared folder outside the repository", async () => {
  const found: string[] = [];
  for (const folder of ["tests", "scripts", "src", ".ci"]) {
    found.push(...await filesMentioning(folder, OUTSIDE));
  }
  assert.deepEqual(found, [], `files that refer to the shared folder:\n  ${found.join("\n  ")}`);
});

Deno.test("the shared-folder pattern matches relative and absolute references but not tests/fixtures", () => {
  // Built from parts, so this file does not match itself.
  const up = "..";
  const references = [
    `Deno.readFile("${up}/shared/protocol-samples/a.bin")`,
    `${up}/${up}/shared`,
    `/work${"/"}shared/x`,
  ];
  for (const text of references) {
    assert.ok(OUTSIDE.test(text), text);
  }
  for (
    const text of ["tests/fixtures/protocol-samples/a.bin", "shared_state.ts", `${up}/sharedx`]
  ) {
    assert.ok(!OUTSIDE.test(text), text);
  }
});
