import assert from "node:assert/strict";
import { accessIdFromPage } from "../src/bilibili/live_page.ts";

Deno.test("accessIdFromPage() reads access_id from the live page's inline render data, unescaped", () => {
  const html = '<script>window._render_data_ = {"a":1,"access_id":"eyJh.eyJ2\\/x\\u002Fy","b":2};' +
    "</script>";
  assert.equal(accessIdFromPage(html), "eyJh.eyJ2/x/y");
});

Deno.test("accessIdFromPage() reads a URL-encoded __RENDER_DATA__ block", () => {
  const data = encodeURIComponent(JSON.stringify({ access_id: "abc.def/ghi", other: "x" }));
  const html = `<script id="__RENDER_DATA__" type="application/json">${data}</script>`;
  assert.equal(accessIdFromPage(html), "abc.def/ghi");
});

Deno.test("accessIdFromPage() is undefined for a page without access_id or with an empty one", () => {
  assert.equal(accessIdFromPage("<html><title>bilibili</title></html>"), undefined);
  assert.equal(accessIdFromPage('{"access_id":""}'), undefined);
  assert.equal(accessIdFromPage('<script id="__RENDER_DATA__">%E0%A4%A</script>'), undefined);
});
