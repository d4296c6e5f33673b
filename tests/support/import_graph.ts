/**
 * The import graph of the repository's own TypeScript files, read from their import lines, and
 * the two checks the architecture test makes on it: no import from a lower layer to a higher
 * one, and no loop between folders.
 */
import { dirname, join, normalize } from "node:path";

/** One relative import: `from` imports `to` (both paths relative to the repository root). */
export interface ImportEdge {
  from: string;
  to: string;
}

/**
 * Layers, lowest first; each entry is a folder (ending in `/`) or a file, relative to the root.
 * A file belongs to the longest entry that is a prefix of its path.
 */
export type LayerTable = readonly (readonly string[])[];

/** Where a file sits in the layer table: its folder (or file) entry and that entry's layer. */
export interface Placement {
  unit: string;
  layer: number;
}

const FROM_IMPORT = /^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*["']([^"']+)["']/gm;
const BARE_IMPORT = /^\s*import\s*["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The specifiers of every `import … from`, `export … from`, `import "…"` and `import("…")`. */
export function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  for (const pattern of [FROM_IMPORT, BARE_IMPORT, DYNAMIC_IMPORT]) {
    for (const match of source.matchAll(pattern)) specifiers.push(match[1]);
  }
  return specifiers;
}

/** Every `.ts` file under `paths` (folders are walked, files taken as they are), sorted. */
export async function typeScriptFiles(root: string, paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  async function walk(path: string): Promise<void> {
    const info = await Deno.stat(join(root, path));
    if (info.isFile) {
      if (path.endsWith(".ts")) files.push(path);
      return;
    }
    for await (const entry of Deno.readDir(join(root, path))) {
      await walk(join(path, entry.name));
    }
  }
  for (const path of paths) await walk(path);
  return files.sort();
}

/** The relative imports of `files`; package imports (`node:`, `npm:`, bare names) are skipped. */
export async function readImports(root: string, files: readonly string[]): Promise<ImportEdge[]> {
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const source = await Deno.readTextFile(join(root, from));
    for (const specifier of importSpecifiers(source)) {
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      edges.push({ from, to: normalize(join(dirname(from), specifier)) });
    }
  }
  return edges;
}

/** The table entry `path` belongs to, or undefined when no entry covers it. */
export function placement(path: string, table: LayerTable): Placement | undefined {
  let best: Placement | undefined;
  table.forEach((entries, layer) => {
    for (const entry of entries) {
      const covers = entry.endsWith("/") ? path.startsWith(entry) : path === entry;
      if (covers && (!best || entry.length > best.unit.length)) best = { unit: entry, layer };
    }
  });
  return best;
}

/**
 * One message per import that goes up a layer, leaves the repository, or touches a file the
 * table does not place (a new folder must be given a layer first).
 */
export function layerViolations(edges: readonly ImportEdge[], table: LayerTable): string[] {
  const problems: string[] = [];
  for (const { from, to } of edges) {
    const source = placement(from, table);
    const target = placement(to, table);
    if (to === ".." || to.startsWith("../")) {
      problems.push(`${from} imports ${to}, outside the repository`);
    } else if (!source || !target) {
      const unplaced = source ? to : from;
      problems.push(`${from} imports ${to}: ${unplaced} has no layer in the table`);
    } else if (target.layer > source.layer) {
      problems.push(
        `${from} (layer ${source.layer}, ${source.unit}) imports ${to} (layer ${target.layer}, ${target.unit})`,
      );
    }
  }
  return problems;
}

/**
 * Import loops between table entries (folders): each loop is described by its folders and, for
 * every import between them, one example `file -> file`.
 */
export function folderLoops(edges: readonly ImportEdge[], table: LayerTable): string[] {
  const graph = new Map<string, Map<string, ImportEdge>>();
  for (const edge of edges) {
    const source = placement(edge.from, table)?.unit;
    const target = placement(edge.to, table)?.unit;
    if (!source || !target || source === target) continue;
    if (!graph.has(source)) graph.set(source, new Map());
    if (!graph.has(target)) graph.set(target, new Map());
    const targets = graph.get(source)!;
    if (!targets.has(target)) targets.set(target, edge);
  }
  return stronglyConnected(graph).filter((component) => component.length > 1).map(
    (component) => {
      const members = new Set(component);
      const examples: string[] = [];
      for (const unit of component.toSorted()) {
        for (const [target, edge] of graph.get(unit)!) {
          if (members.has(target)) examples.push(`${edge.from} -> ${edge.to}`);
        }
      }
      return `${component.toSorted().join(" <-> ")}: ${examples.join("; ")}`;
    },
  );
}

/** Tarjan's strongly connected components of a small graph. */
function stronglyConnected(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  function visit(node: string): void {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node)?.keys() ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    components.push(component);
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components;
}
