/**
 * Headless Chromium for the page tests (Debian's `chromium`; `.ci/run` installs it). Each call
 * spawns one browser with a throwaway profile and a hard time limit, so a page that never
 * settles fails the test instead of hanging it.
 */

/** Where Chromium is: `CHROMIUM` if set, else the first of the usual Debian names on PATH. */
export function chromiumPath(): string {
  const fromEnv = Deno.env.get("CHROMIUM");
  if (fromEnv) return fromEnv;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch {
        // not here
      }
    }
  }
  throw new Error("Cannot find Chromium: install Debian's chromium (.ci/run does) or set CHROMIUM");
}

/** Options of a Chromium run. */
export interface ChromiumOptions {
  /**
   * Virtual time the page gets before the DOM is dumped or the screenshot taken (timers and
   * polling run in it); real time is bounded by `timeoutMs`. @default {3000}
   */
  waitMs?: number;
  /** Window size. @default {{ width: 1000, height: 700 }} */
  width?: number;
  height?: number;
  /** Kills the browser after this long. @default {60000} */
  timeoutMs?: number;
}

async function runChromium(url: string, extra: string[], options: ChromiumOptions) {
  const profile = await Deno.makeTempDir({ prefix: "chromium_profile_" });
  const command = new Deno.Command(chromiumPath(), {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      `--window-size=${options.width ?? 1000},${options.height ?? 700}`,
      `--virtual-time-budget=${options.waitMs ?? 3000}`,
      ...extra,
      url,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs ?? 60_000);
  try {
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** The DOM of `url` after `waitMs` of virtual time, as Chromium serialises it. */
export async function chromiumDumpDom(url: string, options: ChromiumOptions = {}): Promise<string> {
  const { code, stdout, stderr } = await runChromium(url, ["--dump-dom"], options);
  if (code !== 0) throw new Error(`Chromium --dump-dom exited with ${code}: ${stderr.slice(-500)}`);
  return stdout;
}

/** Writes a PNG screenshot of `url` after `waitMs` of virtual time to `file`. */
export async function chromiumScreenshot(
  url: string,
  file: string,
  options: ChromiumOptions = {},
): Promise<void> {
  const { code, stderr } = await runChromium(url, [`--screenshot=${file}`], options);
  const size = await Deno.stat(file).then((s) => s.size, () => 0);
  if (code !== 0 || size === 0) {
    throw new Error(`Chromium --screenshot exited with ${code}: ${stderr.slice(-500)}`);
  }
}
