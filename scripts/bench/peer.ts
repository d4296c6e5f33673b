/**
 * The peer: bilibili-live-ws (npm, pinned) run in Node, its home runtime. The bench installs it
 * under `.bench/peer` itself and drives it through the small scripts in `peer/`, which speak
 * JSON lines: a command line on stdin, one JSON object per line on stdout.
 */
import { ROOT } from "./processes.ts";

/** The peer package, pinned. */
export const PEER_PACKAGE = "bilibili-live-ws@6.3.1";
const PEER_DIR = new URL(".bench/peer/", ROOT);

/** A usable Node with the peer installed. */
export interface Peer {
  /** `node --version`, e.g. "v20.20.2". */
  nodeVersion: string;
  /** Where `node_modules/bilibili-live-ws` lives. */
  dir: string;
}

let prepared: Promise<Peer | undefined> | undefined;

async function run(command: string, args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(success ? stdout : stderr).trim();
  if (!success) throw new Error(`Cannot run ${command} ${args.join(" ")}: ${text}`);
  return text;
}

async function installedVersion(): Promise<string | undefined> {
  const path = new URL("node_modules/bilibili-live-ws/package.json", PEER_DIR);
  try {
    return JSON.parse(await Deno.readTextFile(path)).version;
  } catch {
    return undefined;
  }
}

/**
 * Finds Node and installs the peer once per run (skipped when already installed at the pinned
 * version). Resolves undefined, after logging why, when Node or npm is missing or fails.
 */
export function preparePeer(log: (line: string) => void): Promise<Peer | undefined> {
  prepared ??= (async () => {
    try {
      const nodeVersion = await run("node", ["--version"]);
      const want = PEER_PACKAGE.split("@")[1];
      if (await installedVersion() !== want) {
        log(`peer: installing ${PEER_PACKAGE} into .bench/peer`);
        await Deno.mkdir(PEER_DIR, { recursive: true });
        await run("npm", [
          "install",
          "--prefix",
          PEER_DIR.pathname,
          PEER_PACKAGE,
          "--save-exact",
          "--no-audit",
          "--no-fund",
        ]);
        if (await installedVersion() !== want) throw new Error(`npm did not install ${want}`);
      }
      log(`peer: ${PEER_PACKAGE} on Node ${nodeVersion}`);
      return { nodeVersion, dir: PEER_DIR.pathname };
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? "node or npm is not on PATH"
        : String(error);
      log(`peer: skipped, no peer figures (${reason})`);
      return undefined;
    }
  })();
  return prepared;
}

/** A running peer script. */
export class PeerProcess {
  readonly process: Deno.ChildProcess;
  #lines: ReadableStreamDefaultReader<string>;
  #pending = "";
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  /** Starts `scripts/bench/peer/<script>` in Node with `args`; `env` adds to the environment. */
  constructor(peer: Peer, script: string, args: string[], env: Record<string, string> = {}) {
    this.process = new Deno.Command("node", {
      args: [new URL(`peer/${script}`, import.meta.url).pathname, ...args],
      cwd: ROOT,
      env: { PEER_DIR: peer.dir, ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = this.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stdin = this.process.stdin.getWriter();
  }

  /** Sends one command line. */
  async send(command: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`${command}\n`));
  }

  /** The next JSON line the script prints. */
  async next(): Promise<Record<string, number>> {
    while (!this.#pending.includes("\n")) {
      const { value, done } = await this.#lines.read();
      if (done) throw new Error("Cannot read from the peer: its script exited early");
      this.#pending += value;
    }
    const at = this.#pending.indexOf("\n");
    const line = this.#pending.slice(0, at);
    this.#pending = this.#pending.slice(at + 1);
    return JSON.parse(line);
  }

  /** Sends `command` and returns the reply. */
  async ask(command: string): Promise<Record<string, number>> {
    await this.send(command);
    return await this.next();
  }

  /** Closes stdin (the scripts exit on end of input) and waits for the exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 5000);
    await this.#lines.cancel().catch(() => {});
    await this.process.status;
    clearTimeout(timer);
  }
}
