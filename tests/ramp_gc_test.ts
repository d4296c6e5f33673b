import assert from "node:assert/strict";
import { type NativeHeap, trimNativeHeap } from "../src/collector/ramp_gc.ts";

/** A NativeHeap that records what trimNativeHeap asked of it. */
function fakeHeap(overrides: Partial<NativeHeap> & { trimThrows?: boolean } = {}) {
  const calls: string[] = [];
  const heap: NativeHeap = {
    os: "linux",
    ffiGranted: () => {
      calls.push("query");
      return true;
    },
    open: () => {
      calls.push("open");
      return {
        trim(pad) {
          calls.push(`trim(${pad})`);
          if (overrides.trimThrows) throw new Error("no such symbol");
          return 1;
        },
        close: () => calls.push("close"),
      };
    },
    ...overrides,
  };
  return { heap, calls };
}

Deno.test("trimNativeHeap() calls malloc_trim(0) on Linux with FFI permission and closes libc again", () => {
  const { heap, calls } = fakeHeap();
  assert.equal(trimNativeHeap(heap), true);
  assert.deepEqual(calls, ["query", "open", "trim(0)", "close"]);
});

Deno.test("trimNativeHeap() does nothing off Linux and never opens libc without FFI permission", () => {
  const offLinux = fakeHeap({ os: "darwin" });
  assert.equal(trimNativeHeap(offLinux.heap), false);
  assert.deepEqual(offLinux.calls, []);

  const denied = fakeHeap({ ffiGranted: () => false });
  assert.equal(trimNativeHeap(denied.heap), false);
  assert.deepEqual(denied.calls, [], "no dlopen, so no permission prompt");
});

Deno.test("trimNativeHeap() returns false when libc or malloc_trim is missing (musl), closing what it opened", () => {
  const noLibc = fakeHeap({
    open: () => {
      throw new Error("libc.so.6: cannot open shared object file");
    },
  });
  assert.equal(trimNativeHeap(noLibc.heap), false);

  const failing = fakeHeap({ trimThrows: true });
  assert.equal(trimNativeHeap(failing.heap), false);
  assert.deepEqual(failing.calls, ["query", "open", "trim(0)", "close"]);
});

Deno.test("trimNativeHeap() trims this process's heap on Linux (glibc, tests run with -A)", {
  ignore: Deno.build.os !== "linux",
}, () => {
  assert.equal(trimNativeHeap(), true);
});

Deno.test("A process without FFI permission runs the ramp collection without an error or a prompt", async () => {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const module = new URL("../src/collector/ramp_gc.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { rampCollect, trimNativeHeap } from "${module}";\n` +
        `rampCollect();\nconsole.log(JSON.stringify({ trimmed: trimNativeHeap() }));\n`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-lock", script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), { trimmed: false });
  } finally {
    await Deno.remove(script);
  }
});
