/** Prometheus text read back by the real parser: Debian's python3-prometheus-client. */

/** One metric family as prometheus_client reads it; a sample is `[name, labels, value]`. */
export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: [string, Record<string, string>, number][];
}

const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
print(json.dumps([{"name": f.name, "type": f.type, "help": f.documentation,
  "samples": [[s.name, s.labels, s.value] for s in f.samples]}
  for f in text_string_to_metric_families(sys.stdin.read())]))
`;

/**
 * Parses `text` with `prometheus_client.parser` under /usr/bin/python3 (where Debian installs
 * it, unlike a python3 earlier on PATH): the families, or the parser's error when it refuses.
 */
export async function parsePrometheus(
  text: string,
): Promise<{ code: number; families: ParsedFamily[]; error: string }> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return {
    code,
    families: code === 0 ? JSON.parse(decoder.decode(stdout)) : [],
    error: decoder.decode(stderr),
  };
}
