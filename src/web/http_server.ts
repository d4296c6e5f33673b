/**
 * The `--http` server of `collect`: `/metrics` (Prometheus text), `/api/status` (JSON) and `/`
 * (the live status page), GET and HEAD only. It binds before collecting starts, so a port in
 * use is a ConfigError (exit 2) while nothing runs yet; it serves once the collector's parts
 * are attached, and closes on `signal` or dispose without holding the stop up. Nothing it
 * serves holds a cookie or a header value: only counts, states, ids, titles and paths.
 */
import type { CollectorParts } from "../collector/collector.ts";
import type { HttpAddress } from "../collector/config.ts";
import { ConfigError } from "../errors.ts";
import type { Clock } from "../util/clock.ts";
import { fieldLogger } from "../util/log.ts";
import { type CollectorReading, readCollector } from "./collector_reading.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { StatusTracker } from "./status_json.ts";
import { statusPageHtml } from "./status_page.ts";

/** How often the status tracker samples the counters for rates and history. @default */
export const SAMPLE_INTERVAL_MS = 2_000;

/** Options of {@linkcode startStatusServer}. */
export interface StatusServerOptions {
  address: HttpAddress;
  clock: Clock;
  log: (line: string) => void;
  /** Closes the server when aborted. */
  signal: AbortSignal;
  /** Sampling period of msg/s and the history. @default {SAMPLE_INTERVAL_MS} */
  sampleIntervalMs?: number;
}

/** The running server. */
export interface StatusServer extends AsyncDisposable {
  /** The base URL it listens on, e.g. `http://127.0.0.1:9100/`. */
  readonly url: string;
  /** Starts serving the collector's numbers (before this, the endpoints answer 503). */
  attach(parts: CollectorParts): void;
}

/** How long closing waits for requests in flight before giving up on them. */
const CLOSE_GRACE_MS = 1_000;

/** Headers every answer carries. */
const COMMON_HEADERS = { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" };

/**
 * Binds `address` and serves the endpoints; throws a ConfigError when the address cannot be
 * bound (in use, not on this machine, not permitted).
 */
export function startStatusServer(options: StatusServerOptions): StatusServer {
  const { clock, signal } = options;
  const logger = fieldLogger(options.log);
  const tracker = new StatusTracker();
  const startedAtMs = clock.now();
  let parts: CollectorParts | undefined;
  const read = (): CollectorReading | undefined =>
    parts && readCollector(parts, clock.now(), startedAtMs);
  const page = statusPageHtml();
  const stop = new AbortController();
  const onAbort = () => void close();

  const handler = (request: Request): Response => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, "Method not allowed: only GET and HEAD\n", { Allow: "GET, HEAD" });
    }
    const path = new URL(request.url).pathname;
    if (path === "/") return answer(page, "text/html; charset=utf-8");
    if (path !== "/metrics" && path !== "/api/status") return text(404, "Not found\n");
    const reading = read();
    if (!reading) return text(503, "Starting: the collector is not running yet\n");
    if (path === "/metrics") return answer(renderMetrics(reading), METRICS_CONTENT_TYPE);
    return answer(JSON.stringify(tracker.document(reading)), "application/json; charset=utf-8");
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.address.hostname,
      port: options.address.port,
      signal: stop.signal,
      onListen: () => {},
      onError: (error) => {
        logger.warn("http request failed", { detail: (error as Error).message });
        return text(500, "Internal error\n");
      },
    }, handler);
  } catch (error) {
    throw new ConfigError(
      `Cannot listen on --http ${formatAddress(options.address)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const { hostname, port } = server.addr;
  const url = `http://${formatAddress({ hostname, port })}/`;
  logger.info("http listening", { url });

  // Samples for rates and the history: a timer re-armed after each sample.
  const sampleMs = options.sampleIntervalMs ?? SAMPLE_INTERVAL_MS;
  const sampling = (async () => {
    while (!stop.signal.aborted) {
      const reading = read();
      if (reading) tracker.sample(reading);
      await clock.sleep(sampleMs, stop.signal);
    }
  })();

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      signal.removeEventListener("abort", onAbort);
      stop.abort(); // Deno.serve's signal: stops accepting, ends idle keep-alive connections
      await sampling;
      // Requests in flight are answered synchronously; a stuck client does not hold the stop.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.finished,
        new Promise((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS)),
      ]);
      clearTimeout(timer);
    })();
    return closing;
  }
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) void close();

  return {
    url,
    attach(collector) {
      parts = collector;
      const reading = read();
      if (reading) tracker.sample(reading);
    },
    [Symbol.asyncDispose]: close,
  };
}

/** `host:port`, with an IPv6 host in brackets. */
function formatAddress({ hostname, port }: { hostname: string; port: number }): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

function answer(body: string, contentType: string): Response {
  return new Response(body, { headers: { ...COMMON_HEADERS, "Content-Type": contentType } });
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...COMMON_HEADERS, ...headers, "Content-Type": "text/plain; charset=utf-8" },
  });
}
