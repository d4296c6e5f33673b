import assert from "node:assert/strict";
import {
  mixinKey,
  signWbiQuery,
  verifyWbiQuery,
  wbiKeyFromUrl,
  wbiQuery,
  wbiSignature,
} from "../src/bilibili/wbi.ts";

const keys = {
  imgKey: "7cd084941338484aae1ad9425b84077c",
  subKey: "4932caff0ff746eab6f01bf08b70ac45",
};

Deno.test("wbiKeyFromUrl() takes the file name without its extension", () => {
  assert.equal(
    wbiKeyFromUrl("https://i0.hdslb.com/bfs/wbi/7cd084941338484aae1ad9425b84077c.png"),
    "7cd084941338484aae1ad9425b84077c",
  );
});

Deno.test("mixinKey() permutes img_key + sub_key into the §3.3 mixin key", () => {
  assert.equal(mixinKey(keys), "ea1db124af3c7062474693fa704f4ff8");
});

Deno.test("wbiSignature() matches the API-collect test vector", () => {
  const params = { foo: "114", bar: "514", zab: 1919810 };
  assert.equal(wbiQuery(params, 1702204169), "bar=514&foo=114&wts=1702204169&zab=1919810");
  assert.equal(wbiSignature(params, 1702204169, keys), "8f6f2b5b3d485fe1886cec6a0be8c5d4");
});

Deno.test("wbiSignature() strips !'()* and encodes spaces as %20 (blrec vector)", () => {
  const params = { foo: ")-_-( F**' 哔~!", bar: "2333" };
  assert.equal(wbiQuery(params, 1748867128), "bar=2333&foo=-_-%20F%20%E5%93%94~&wts=1748867128");
  assert.equal(wbiSignature(params, 1748867128, keys), "6ba96e28a3f09b40e704f1e4b4f8e3e3");
});

Deno.test("verifyWbiQuery() accepts what signWbiQuery() signed and rejects a changed value", () => {
  const query = new URLSearchParams(signWbiQuery({ id: 14073662, type: 0 }, keys, 1748867128.9));
  assert.equal(verifyWbiQuery(query, keys), true);
  query.set("id", "14073663");
  assert.equal(verifyWbiQuery(query, keys), false);
  assert.equal(verifyWbiQuery(new URLSearchParams("id=1&type=0"), keys), false);
});
