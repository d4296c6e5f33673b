/**
 * XML 1.0 escaping for text and attribute values. Characters XML 1.0 forbids (C0 controls but
 * tab, LF and CR; lone surrogates; U+FFFE, U+FFFF) are dropped, as 录播姬 does; CR, LF and tab
 * become character references so parsers keep them (attribute normalization would turn them
 * into spaces, end-of-line handling CR into LF).
 */

const FORBIDDEN =
  // deno-lint-ignore no-control-regex
  /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SPECIAL = /[&<>"\t\n\r]/g;
// deno-lint-ignore no-control-regex
const ANY = /[&<>"\t\n\r\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;

const ENTITY: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/** Escapes `text` for an XML attribute value in double quotes or for element content. */
export function escapeXml(text: string): string {
  if (!ANY.test(text)) return text;
  return text.replace(FORBIDDEN, "").replace(SPECIAL, (c) => ENTITY[c]);
}
