/**
 * One full garbage collection once a connection ramp ends. Setting up a room allocates
 * ≈ 145 KB (HTTP calls, JSON, connects; measured with V8's sampling heap profiler); what was in
 * flight when a young-generation scavenge ran is promoted, and with no old-generation
 * collection after the ramp that garbage kept ≈ 18 KB of RSS per idle room for as long as the
 * run lasted (1,000 rooms: no change over 20 s). A full GC after the last setup returns it.
 * V8 runs a full GC only through `gc()`, which `--expose-gc` adds to new contexts: the flag is
 * set at run time and the function taken from a fresh context, once per process. Measured at
 * 10,000 idle rooms: 20 KB of RSS per room before, 16 KB after such a collection.
 *
 * After the GC, glibc's `malloc_trim(0)` ({@linkcode trimNativeHeap}): the GC has just released
 * the ramp's native memory (array-buffer backing stores, HTTP bodies, decompression state) to
 * malloc, and glibc returns free memory in the middle of its heaps to the system only when asked.
 * Measured at 10,000 idle rooms: 5–9 MB less RSS right after each call; once settled, back to
 * back with and without it, 14.8 and 14.5 KB per room against 16.0 and 15.1 (docs/benchmarks.md).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: (() => void) | undefined;

/** Runs a full (mark-compact) garbage collection; false when the runtime offers none. */
export function fullGc(): boolean {
  try {
    if (!collect) {
      setFlagsFromString("--expose-gc");
      const gc: unknown = runInNewContext("gc");
      if (typeof gc !== "function") return false;
      // "last-resort": V8's collect-all-available-garbage (several passes, compaction, freed
      // pages returned to the system); a plain gc() left 40 MB of empty heap at 10,000 rooms.
      collect = () => gc({ type: "major", execution: "sync", flavor: "last-resort" });
    }
    collect();
    return true;
  } catch {
    return false;
  }
}

/** The collection the supervisor runs after a ramp: {@linkcode fullGc}, then {@linkcode trimNativeHeap}. */
export function rampCollect(): void {
  fullGc();
  trimNativeHeap();
}

/** Where {@linkcode trimNativeHeap} finds `malloc_trim`; tests replace it. */
export interface NativeHeap {
  /** `Deno.build.os`. */
  os: string;
  /** Whether FFI may be used: never a permission prompt from a GC. */
  ffiGranted(): boolean;
  /** Opens libc's `malloc_trim`; throws where there is none (musl, no FFI in the runtime). */
  open(): { trim(pad: number): number; close(): void };
}

/** This process: glibc's `libc.so.6` through Deno's FFI. */
export const DENO_NATIVE_HEAP: NativeHeap = {
  os: Deno.build.os,
  ffiGranted: () => Deno.permissions.querySync({ name: "ffi" }).state === "granted",
  open() {
    const lib = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return { trim: (pad) => lib.symbols.malloc_trim(BigInt(pad)), close: () => lib.close() };
  },
};

/**
 * Asks glibc to give freed malloc memory back to the system (`malloc_trim(0)`: every arena, free
 * pages in the middle of a heap too). Only on Linux with FFI permission (`deno task start` runs
 * with `-A`); anywhere else, without the permission, or without glibc (musl has no `libc.so.6`)
 * it does nothing and returns false. The library is opened and closed per call (libc is loaded
 * already: a reference count), so nothing stays open between ramps.
 */
export function trimNativeHeap(native: NativeHeap = DENO_NATIVE_HEAP): boolean {
  try {
    if (native.os !== "linux" || !native.ffiGranted()) return false;
    const libc = native.open();
    try {
      libc.trim(0);
    } finally {
      libc.close();
    }
    return true;
  } catch {
    return false;
  }
}
