import assert from "node:assert/strict";
import { formatMegabytes, parseByteSize } from "../src/util/byte_size.ts";

Deno.test("parseByteSize() reads plain bytes and decimal and binary units, any case", () => {
  assert.equal(parseByteSize("1000000"), 1_000_000);
  assert.equal(parseByteSize("64MB"), 64_000_000);
  assert.equal(parseByteSize("64mb"), 64_000_000);
  assert.equal(parseByteSize("1GB"), 1_000_000_000);
  assert.equal(parseByteSize("1.5GB"), 1_500_000_000);
  assert.equal(parseByteSize("512MiB"), 512 * 1024 * 1024);
  assert.equal(parseByteSize("2 GiB"), 2 * 1024 ** 3);
  assert.equal(parseByteSize("300kb"), 300_000);
  assert.equal(parseByteSize(" 10B "), 10);
});

Deno.test("parseByteSize() returns undefined for what is not a whole number of bytes", () => {
  for (const text of ["", "MB", "1.5", "-1MB", "1e6", "12 parsecs", "1MBB", "0x10", "1,000"]) {
    assert.equal(parseByteSize(text), undefined, text);
  }
});

Deno.test("formatMegabytes() shows megabytes of 10^6 bytes with one decimal", () => {
  assert.equal(formatMegabytes(0), "0.0");
  assert.equal(formatMegabytes(256_000_000), "256.0");
  assert.equal(formatMegabytes(1_250_000), "1.3");
});
