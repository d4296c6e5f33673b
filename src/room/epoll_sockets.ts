/**
 * Raw TCP danmaku connections without Deno's sockets: non-blocking libc sockets through Deno's
 * FFI, all of a process's connections in ONE level-triggered epoll set. Deno spends ≈ 4.2 KB of
 * RSS per connection with a pending read; a libc socket in a shared epoll set ≈ 0.5 KB
 * (docs/benchmarks.md, "What one connection costs in Deno"), and a busy room's reads cost a
 * synchronous `recv` instead of a promise and an op each.
 *
 * One `epoll_wait` is pending (on one of Deno's blocking threads) only while at least one socket
 * is in the set: none when all are closed or paused, so tests' op sanitizers and a process's
 * natural exit see nothing pending. An eventfd in the set wakes it when the last socket leaves
 * or the sockets are closed. Each socket's epoll data is a token (fd and a generation), so an
 * event for a closed fd never reaches the connection that reuses the number.
 *
 * Reading: `recv(MSG_DONTWAIT)` on the main thread into one 64 KB buffer shared by every
 * connection, pushed through a {@linkcode PacketSplitter}: a connection holds bytes only while a
 * packet is cut. A paused reader (its `beforeRead` gate returned a promise) leaves the set's
 * EPOLLIN interest until the promise settles, so its bytes wait in the kernel and nothing spins.
 * Writing: `send(MSG_NOSIGNAL | MSG_DONTWAIT)`; what does not fit waits for EPOLLOUT.
 *
 * Linux on x86-64 (packed 12-byte epoll_event) and aarch64 (16-byte) with glibc only; needs the
 * FFI permission. {@linkcode openSockets} says why it cannot be used elsewhere.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { ConfigError } from "../errors.ts";
import { PacketSplitter } from "../protocol/frame_reader.ts";
import { type BodyDecoding, decodePacket, type MessageSink } from "../protocol/packet_decoder.ts";
import { Deadline } from "../util/deadline.ts";
import type { DanmakuTransport } from "./transport.ts";

/** `--sockets`: the epoll layer, Deno's sockets, or the epoll layer where it can run. */
export type SocketsMode = "auto" | "epoll" | "deno";

/** The libc functions used (glibc: `gnu_get_libc_version` is there only to fail elsewhere). */
const LIBC_SYMBOLS = {
  gnu_get_libc_version: { parameters: [], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  inet_pton: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // ssize_t results read as i32: the low half of the register, exact for counts below 2 GiB
  // and for -1 (a 64-bit result would be a BigInt per call).
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

// Linux constants (the same on x86-64 and aarch64).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SHUT_WR = 1;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLIN = 0x1;
const EPOLLOUT = 0x4;
const EPOLLERR = 0x8;
const EPOLLHUP = 0x10;
const EINTR = 4;
const EAGAIN = 11;
const EINPROGRESS = 115;

/** Size of the read buffer all connections share. */
export const SHARED_READ_BUFFER_SIZE = 65536;

/**
 * Bytes one wakeup reads at most, shared among its ready sockets (each reads once, at least
 * {@linkcode MIN_READ_SIZE}): the reads' decoding runs in one go, and timers, the flusher and the
 * other rooms wait for it. A socket with more left is reported again by the next wait.
 */
const WAKEUP_READ_BUDGET = 1024 * 1024;

/** The smallest read of a wakeup with many ready sockets. */
const MIN_READ_SIZE = 16 * 1024;

/** Events one `epoll_wait` returns at most. */
const MAX_EVENTS = 256;

/** Writes a connection queues behind a full socket buffer at most. */
const MAX_QUEUED_WRITES = 64;

/** `epoll_wait` failures in a row (EINTR) after which the sockets give up. */
const MAX_WAIT_FAILURES = 100;

/** Errno values Deno's own sockets map to an error class (as Rust's io::ErrorKind does). */
const ERROR_CLASSES: Readonly<Record<number, new (message: string) => Error>> = {
  1: Deno.errors.PermissionDenied, // EPERM
  13: Deno.errors.PermissionDenied, // EACCES
  32: Deno.errors.BrokenPipe, // EPIPE
  98: Deno.errors.AddrInUse, // EADDRINUSE
  99: Deno.errors.AddrNotAvailable, // EADDRNOTAVAIL
  101: Deno.errors.NetworkUnreachable, // ENETUNREACH
  103: Deno.errors.ConnectionAborted, // ECONNABORTED
  104: Deno.errors.ConnectionReset, // ECONNRESET
  107: Deno.errors.NotConnected, // ENOTCONN
  110: Deno.errors.TimedOut, // ETIMEDOUT
  111: Deno.errors.ConnectionRefused, // ECONNREFUSED
};

/** epoll_event's size and where its data sits, by architecture (undefined: unsupported). */
function eventLayout(arch: string): { size: number; data: number } | undefined {
  if (arch === "x86_64") return { size: 12, data: 4 }; // __attribute__((packed))
  if (arch === "aarch64") return { size: 16, data: 8 };
  return undefined;
}

/** What the epoll layer needs from the platform (tests replace it). */
export interface SocketsPlatform {
  /** `Deno.build.os`. */
  os: string;
  /** `Deno.build.arch`. */
  arch: string;
  /** Whether FFI may be used (never a permission prompt). */
  ffiGranted(): boolean;
}

/** This process. */
export const DENO_PLATFORM: SocketsPlatform = {
  os: Deno.build.os,
  arch: Deno.build.arch,
  ffiGranted: () => Deno.permissions.querySync({ name: "ffi" }).state === "granted",
};

/** What {@linkcode openSockets} chose. */
export interface SocketsChoice {
  kind: "epoll" | "deno";
  /** The shared epoll set, when `kind` is epoll (dispose it once every room is closed). */
  sockets?: EpollSockets;
  /** Why Deno's sockets are used, when they are. */
  reason?: string;
}

/**
 * Picks the sockets of raw TCP rooms for `--sockets`: with `auto` the epoll layer where it can
 * run (Linux x86-64/aarch64, glibc, FFI permission), else Deno's sockets and the reason; with
 * `epoll` a ConfigError naming the reason when it cannot run.
 */
export function openSockets(
  mode: SocketsMode,
  platform: SocketsPlatform = DENO_PLATFORM,
): SocketsChoice {
  if (mode === "deno") return { kind: "deno", reason: "--sockets deno" };
  let reason: string;
  if (platform.os !== "linux") reason = `epoll needs Linux, not ${platform.os}`;
  else if (!eventLayout(platform.arch)) reason = `no epoll layout for ${platform.arch}`;
  else if (!platform.ffiGranted()) reason = "no FFI permission (--allow-ffi)";
  else {
    try {
      return { kind: "epoll", sockets: EpollSockets.open(platform.arch) };
    } catch (error) {
      reason = (error as Error).message;
    }
  }
  if (mode === "epoll") throw new ConfigError(`Cannot use --sockets epoll: ${reason}`);
  return { kind: "deno", reason };
}

/** Options of {@linkcode EpollSockets.connect}. */
export interface EpollConnectOptions {
  /** Gives up connecting (a TimedOut error) after this long. @default {10000} */
  timeoutMs?: number;
  /** Gives up connecting (with the signal's reason) once aborted. */
  signal?: AbortSignal;
}

/**
 * One epoll set for a process's raw TCP connections. Close it (`await using`) once done: it
 * closes what is still open and, once the pending `epoll_wait` returned, its own descriptors
 * and the library.
 */
export class EpollSockets implements AsyncDisposable {
  readonly #reactor: Reactor;

  private constructor(reactor: Reactor) {
    this.#reactor = reactor;
  }

  /** Opens libc (glibc), an epoll set and its eventfd; throws where that cannot be done. */
  static open(arch: string = Deno.build.arch): EpollSockets {
    const layout = eventLayout(arch);
    if (!layout) throw new Error(`Cannot use epoll on ${arch}: no epoll_event layout for it`);
    let library: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
    try {
      library = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
    } catch (error) {
      throw new Error(`Cannot open glibc (libc.so.6): ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      return new EpollSockets(new Reactor(library, layout));
    } catch (error) {
      library.close();
      throw error;
    }
  }

  /** Wakeups of `epoll_wait` so far (tests count them: a paused reader must not add any). */
  get wakeups(): number {
    return this.#reactor.wakeups;
  }

  /** Sockets in the epoll set now (connecting, reading or writing; paused ones are not). */
  get registered(): number {
    return this.#reactor.registered;
  }

  /** Connections open now. */
  get open(): number {
    return this.#reactor.connections.size;
  }

  /** The descriptors this set holds now: its epoll set, its eventfd, every open connection's. */
  get descriptors(): number[] {
    return [...this.#reactor.ownDescriptors, ...this.#reactor.connections.keys()];
  }

  /** Whether an `epoll_wait` is pending. */
  get waiting(): boolean {
    return this.#reactor.waiting !== undefined;
  }

  /**
   * Connects to `hostname:port` (a name goes through getaddrinfo, /etc/hosts included; its
   * first address is used, IPv4 or IPv6). Rejects with the error class Deno.connect would:
   * ConnectionRefused, TimedOut (after `timeoutMs`), the signal's reason once it aborts.
   */
  async connect(
    hostname: string,
    port: number,
    options: EpollConnectOptions = {},
  ): Promise<EpollConnection> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    using deadline = new Deadline(timeoutMs, options.signal);
    const aborted = () =>
      deadline.timedOut
        ? new Deno.errors.TimedOut(`Connection timed out after ${timeoutMs} ms`)
        : options.signal?.reason ?? new DOMException("The signal has been aborted", "AbortError");
    if (this.#reactor.closed) throw new Deno.errors.BadResource("The epoll sockets are closed");
    const ip = await resolveAddress(hostname, deadline.signal).catch((error) => {
      throw deadline.signal.aborted ? aborted() : error;
    });
    if (deadline.signal.aborted) throw aborted();
    const address = this.#reactor.address(ip);
    if (!address) {
      throw new Deno.errors.AddrNotAvailable(`Cannot connect to "${hostname}": no usable address`);
    }
    const connection = this.#reactor.socket(address.family, `${hostname}:${port}`);
    try {
      await connection.connectTo(sockaddr(address, port), deadline.signal);
    } catch (error) {
      connection.close();
      throw deadline.signal.aborted ? aborted() : error;
    }
    return connection;
  }

  /** Closes every connection; the epoll set and libc follow once no `epoll_wait` is pending. */
  close(): void {
    this.#reactor.close();
  }

  /** Closes, then waits until the pending `epoll_wait` returned and everything is released. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#reactor.close();
    await this.#reactor.released;
  }
}

/** The shared state behind {@linkcode EpollSockets} and its connections. */
class Reactor {
  readonly libc: Libc;
  readonly #library: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
  readonly #errno: Deno.UnsafePointerView;
  readonly #eventSize: number;
  readonly #dataOffset: number;
  readonly #epfd: number;
  readonly #eventfd: number;
  /** The events `epoll_wait` fills (read only once it returned). */
  readonly #events: Uint8Array;
  readonly #eventsView: DataView;
  /** One event for `epoll_ctl`. */
  readonly #event: Uint8Array;
  readonly #eventView: DataView;
  /** The read buffer every connection shares. */
  readonly buffer = new Uint8Array(SHARED_READ_BUFFER_SIZE);
  /** What each socket of this wakeup reads at most, as a number and as recv() takes it. */
  readSize = SHARED_READ_BUFFER_SIZE;
  readLength = BigInt(SHARED_READ_BUFFER_SIZE);
  /** Scratch for getsockopt/setsockopt and the eventfd counter. */
  readonly scratch = new Uint8Array(8);
  readonly scratchLength = new Uint8Array(4);
  /** Open connections by fd. */
  readonly connections = new Map<number, EpollConnection>();
  /** Sockets in the epoll set. */
  registered = 0;
  wakeups = 0;
  #waitFailures = 0;
  #nextGeneration = 1;
  #dispatching = false;
  /** The pending `epoll_wait`, if any. */
  waiting: Promise<void> | undefined;
  closed = false;
  readonly #released = Promise.withResolvers<void>();

  /** The epoll set's and the eventfd's descriptors. */
  get ownDescriptors(): number[] {
    return [this.#epfd, this.#eventfd];
  }

  constructor(library: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>, layout: {
    size: number;
    data: number;
  }) {
    this.#library = library;
    this.libc = library.symbols;
    this.#errno = new Deno.UnsafePointerView(this.libc.__errno_location()!);
    this.#eventSize = layout.size;
    this.#dataOffset = layout.data;
    this.#events = new Uint8Array(layout.size * MAX_EVENTS);
    this.#eventsView = new DataView(this.#events.buffer);
    this.#event = new Uint8Array(layout.size);
    this.#eventView = new DataView(this.#event.buffer);
    this.#epfd = this.libc.epoll_create1(SOCK_CLOEXEC); // EPOLL_CLOEXEC
    if (this.#epfd < 0) throw this.error(this.errno(), "Cannot create an epoll set");
    this.#eventfd = this.libc.eventfd(0, SOCK_NONBLOCK | SOCK_CLOEXEC); // EFD_NONBLOCK|EFD_CLOEXEC
    const eventfdErrno = this.#eventfd < 0 ? this.errno() : 0;
    if (this.#eventfd < 0 || this.ctl(EPOLL_CTL_ADD, this.#eventfd, EPOLLIN, 0) !== 0) {
      const errno = eventfdErrno || this.errno();
      if (this.#eventfd >= 0) this.libc.close(this.#eventfd);
      this.libc.close(this.#epfd);
      throw this.error(errno, "Cannot create the epoll set's eventfd");
    }
  }

  /** Resolves once the descriptors and the library are released after {@linkcode close}. */
  get released(): Promise<void> {
    return this.#released.promise;
  }

  /** errno of the main thread: read it right after the failing call, before any other. */
  errno(): number {
    return this.#errno.getInt32();
  }

  /** The error Deno's sockets would throw for `errno`, e.g. ConnectionRefused. */
  error(errno: number, context?: string): Error {
    const text = `${
      Deno.UnsafePointerView.getCString(this.libc.strerror(errno)!)
    } (os error ${errno})`;
    const Class = ERROR_CLASSES[errno] ?? Error;
    return new Class(context ? `${context}: ${text}` : text);
  }

  /** `ip` (IPv4 or IPv6, no zone) as its family and address bytes (inet_pton); else undefined. */
  address(ip: string): ResolvedAddress | undefined {
    const text = new TextEncoder().encode(`${ip}\0`);
    for (const [family, length] of [[AF_INET, 4], [AF_INET6, 16]] as const) {
      const bytes = new Uint8Array(length);
      if (this.libc.inet_pton(family, text, bytes) === 1) return { family, bytes };
    }
    return undefined;
  }

  /** Opens a non-blocking socket of `family` (throws the socket() error). */
  socket(family: number, address: string): EpollConnection {
    const fd = this.libc.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw this.error(this.errno());
    const generation = this.#nextGeneration;
    this.#nextGeneration = this.#nextGeneration === 0xffff_ffff ? 1 : this.#nextGeneration + 1;
    const connection = new EpollConnection(this, fd, generation, address);
    this.connections.set(fd, connection);
    new DataView(this.scratch.buffer).setInt32(0, 1, true);
    this.libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, this.scratch, 4); // best effort
    return connection;
  }

  /** `epoll_ctl` with `events` and the token (fd, generation); 0 or errno. */
  ctl(op: number, fd: number, events: number, generation: number): number {
    this.#eventView.setUint32(0, events, true);
    this.#eventView.setUint32(this.#dataOffset, fd, true);
    this.#eventView.setUint32(this.#dataOffset + 4, generation, true);
    return this.libc.epoll_ctl(this.#epfd, op, fd, this.#event) === 0 ? 0 : this.errno();
  }

  /** Moves `fd` into, within or out of the set; 0 or errno. */
  interest(fd: number, generation: number, from: number, to: number): number {
    if (from === to) return 0;
    if (to === 0) {
      this.ctl(EPOLL_CTL_DEL, fd, 0, generation);
      this.registered--;
      // The last socket left: end the pending wait, so no op stays pending.
      if (this.registered === 0 && this.waiting) this.wake();
      return 0;
    }
    const errno = this.ctl(from === 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, to, generation);
    if (errno !== 0) return errno;
    if (from === 0) {
      this.registered++;
      this.#arm();
    }
    return 0;
  }

  /** Makes the pending `epoll_wait` return. */
  wake(): void {
    new DataView(this.scratch.buffer).setBigUint64(0, 1n, true);
    this.libc.write(this.#eventfd, this.scratch, 8n);
  }

  /** Starts an `epoll_wait` when none is pending and a socket is in the set. */
  #arm(): void {
    if (this.waiting || this.#dispatching || this.closed || this.registered === 0) return;
    this.waiting = this.libc.epoll_wait(this.#epfd, this.#events, MAX_EVENTS, -1).then(
      (ready) => this.#dispatch(ready),
    );
  }

  /** Hands each event to its connection (a stale token is dropped), then waits again. */
  #dispatch(ready: number): void {
    this.waiting = undefined;
    this.wakeups++;
    if (this.closed) {
      this.#release();
      return;
    }
    // epoll_wait ran on another thread: its errno is not ours to read (EINTR is the one expected).
    this.#waitFailures = ready < 0 ? this.#waitFailures + 1 : 0;
    if (this.#waitFailures >= MAX_WAIT_FAILURES) {
      const error = new Error(
        `Cannot wait for socket events: epoll_wait failed ${MAX_WAIT_FAILURES} times in a row`,
      );
      for (const connection of [...this.connections.values()]) connection.fail(error);
      this.#waitFailures = 0;
    }
    const readSize = Math.min(
      SHARED_READ_BUFFER_SIZE,
      Math.max(MIN_READ_SIZE, Math.floor(WAKEUP_READ_BUDGET / Math.max(1, ready))),
    );
    if (readSize !== this.readSize) {
      this.readSize = readSize;
      this.readLength = BigInt(readSize);
    }
    this.#dispatching = true;
    try {
      const view = this.#eventsView;
      for (let i = 0; i < ready; i++) {
        const at = i * this.#eventSize;
        const events = view.getUint32(at, true);
        const fd = view.getUint32(at + this.#dataOffset, true);
        const generation = view.getUint32(at + this.#dataOffset + 4, true);
        if (generation === 0) {
          if (fd === this.#eventfd) this.libc.read(this.#eventfd, this.scratch, 8n);
          continue;
        }
        const connection = this.connections.get(fd);
        if (connection?.generation === generation) connection.onEvents(events);
      }
    } finally {
      this.#dispatching = false;
    }
    if (this.closed) this.#release();
    else this.#arm();
  }

  /** Closes every connection; releases the rest now, or once the pending wait returned. */
  close(): void {
    if (this.closed) return;
    for (const connection of [...this.connections.values()]) connection.close();
    this.closed = true;
    if (this.waiting) this.wake();
    else if (!this.#dispatching) this.#release();
  }

  #release(): void {
    this.libc.close(this.#eventfd);
    this.libc.close(this.#epfd);
    this.#library.close();
    this.#released.resolve();
  }
}

/** A write waiting for room in the socket buffer. */
interface QueuedWrite {
  bytes: Uint8Array;
  /** Bytes of it written so far. */
  written: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The reader of a connection, between `receive()` and its end. */
interface Reader {
  splitter: PacketSplitter;
  onBytes: (count: number) => void;
  beforeRead?: () => Promise<void> | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One raw TCP connection in an {@linkcode EpollSockets} set; `close()` is idempotent. */
export class EpollConnection implements DanmakuTransport {
  readonly address: string;
  readonly #reactor: Reactor;
  readonly #fd: number;
  /** The token's second half: events of an earlier socket with this fd are dropped. */
  readonly generation: number;
  /** The epoll interest now (0: not in the set). */
  #interest = 0;
  #closed = false;
  #connecting: PromiseWithResolvers<void> | undefined;
  #reader: Reader | undefined;
  #paused = false;
  /** A pause just ended: the next read goes ahead without asking the gate (as readPackets). */
  #resumed = false;
  #writes: QueuedWrite[] | undefined;
  #shutdownAfterWrites = false;

  constructor(reactor: Reactor, fd: number, generation: number, address: string) {
    this.#reactor = reactor;
    this.#fd = fd;
    this.generation = generation;
    this.address = address;
  }

  /** The socket's descriptor (for logs and tests; the kernel reuses it once closed). */
  get fd(): number {
    return this.#fd;
  }

  /** Bytes of an unfinished packet this connection holds. */
  get pendingBytes(): number {
    return this.#reader?.splitter.pending ?? 0;
  }

  /** Starts a non-blocking connect; settles once connected or failed (SO_ERROR). */
  connectTo(address: Uint8Array, signal: AbortSignal): Promise<void> {
    const libc = this.#reactor.libc;
    if (libc.connect(this.#fd, address, address.length) === 0) return Promise.resolve();
    const errno = this.#reactor.errno();
    if (errno !== EINPROGRESS) return Promise.reject(this.#reactor.error(errno));
    this.#connecting = Promise.withResolvers<void>();
    const { promise, reject } = this.#connecting;
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#update();
    return promise.finally(() => signal.removeEventListener("abort", onAbort));
  }

  receive(
    onMessage: MessageSink,
    onBytes: (count: number) => void,
    beforeRead?: () => Promise<void> | undefined,
    decoding?: BodyDecoding,
  ): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#reader) return Promise.reject(new Error("Cannot receive: already receiving"));
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#reader = {
      splitter: new PacketSplitter((packet, offset) =>
        decodePacket(packet, onMessage, offset, decoding)
      ),
      onBytes,
      beforeRead,
      resolve,
      reject,
    };
    this.#update();
    return promise;
  }

  send(packet: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    if (!this.#writes) {
      let written: number;
      try {
        written = this.#sendFrom(packet, 0);
      } catch (error) {
        return Promise.reject(error);
      }
      if (written === packet.length) return Promise.resolve();
      this.#writes = [];
      return this.#queue(packet, written);
    }
    if (this.#writes.length >= MAX_QUEUED_WRITES) {
      return Promise.reject(
        new Error(`Cannot send: ${MAX_QUEUED_WRITES} writes already wait for the socket`),
      );
    }
    return this.#queue(packet, 0);
  }

  finish(): void {
    if (this.#closed) return;
    if (this.#writes) this.#shutdownAfterWrites = true;
    else this.#reactor.libc.shutdown(this.#fd, SHUT_WR); // a peer already gone: nothing to do
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#update(); // leaves the set (and wakes the wait when it was the last)
    const reactor = this.#reactor;
    if (reactor.connections.get(this.#fd) === this) reactor.connections.delete(this.#fd);
    reactor.libc.close(this.#fd);
    const closed = () => new Deno.errors.Interrupted("The connection was closed");
    this.#connecting?.reject(closed());
    this.#connecting = undefined;
    for (const write of this.#writes ?? []) write.reject(closed());
    this.#writes = undefined;
    // Our own close is a clean end of reading, as with Deno's sockets.
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Ends the connection with `error`: reading and writing reject, the socket closes. */
  fail(error: Error): void {
    const reader = this.#reader;
    const writes = this.#writes;
    this.#reader = undefined;
    this.#writes = undefined;
    this.#connecting?.reject(error);
    this.#connecting = undefined;
    reader?.reject(error);
    for (const write of writes ?? []) write.reject(error);
    this.close();
  }

  /** Called with the ready events of this socket. */
  onEvents(events: number): void {
    if (this.#connecting) {
      this.#finishConnect();
      return;
    }
    if (this.#writes && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) this.#flush();
    if (this.#reader && !this.#paused && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) this.#read();
  }

  /** Sets the epoll interest this connection's state asks for. */
  #update(): void {
    const wanted = this.#closed ? 0 : (this.#connecting || this.#writes ? EPOLLOUT : 0) |
      (this.#reader && !this.#paused && !this.#connecting ? EPOLLIN : 0);
    const errno = this.#reactor.interest(this.#fd, this.generation, this.#interest, wanted);
    if (errno === 0) this.#interest = wanted;
    else this.fail(this.#reactor.error(errno, "Cannot watch the socket"));
  }

  #finishConnect(): void {
    const { libc, scratch, scratchLength } = this.#reactor;
    const connecting = this.#connecting!;
    this.#connecting = undefined;
    new DataView(scratchLength.buffer).setUint32(0, 4, true);
    const errno = libc.getsockopt(this.#fd, SOL_SOCKET, SO_ERROR, scratch, scratchLength) === 0
      ? new DataView(scratch.buffer).getInt32(0, true)
      : this.#reactor.errno();
    this.#update();
    if (errno === 0) connecting.resolve();
    else connecting.reject(this.#reactor.error(errno));
  }

  /** Reads once (the wakeup's read size at most) after asking the gate; EOF ends reading. */
  #read(): void {
    const { libc, buffer, readLength } = this.#reactor;
    for (;;) { // again only after EINTR
      const reader = this.#reader;
      if (!reader || this.#paused) return;
      try {
        const pause = this.#resumed ? undefined : reader.beforeRead?.();
        this.#resumed = false;
        if (pause) {
          this.#pause(pause);
          return;
        }
        const count = libc.recv(this.#fd, buffer, readLength, MSG_DONTWAIT);
        if (count > 0) {
          reader.onBytes(count);
          reader.splitter.push(count === buffer.length ? buffer : buffer.subarray(0, count));
          return; // more left: level-triggered, the next wait reports it again
        }
        if (count === 0) {
          reader.splitter.end(); // throws when the stream ended inside a packet
          this.#endReading(reader);
          reader.resolve();
          return;
        }
        const errno = this.#reactor.errno();
        if (errno === EAGAIN) return;
        if (errno === EINTR) continue;
        throw this.#reactor.error(errno);
      } catch (error) {
        if (this.#reader !== reader) return; // closed by a callback: a clean end already
        this.#endReading(reader);
        reader.reject(error);
        return;
      }
    }
  }

  #endReading(reader: Reader): void {
    if (this.#reader !== reader) return;
    this.#reader = undefined;
    this.#paused = false;
    this.#update();
  }

  /** Leaves EPOLLIN interest until `gate` settles: the bytes wait in the kernel. */
  #pause(gate: Promise<void>): void {
    this.#paused = true;
    this.#update();
    const resume = () => {
      this.#paused = false;
      this.#resumed = true;
      if (!this.#closed && this.#reader) this.#update();
    };
    gate.then(resume, resume);
  }

  /** Queues `bytes` (the first `written` sent) until EPOLLOUT. */
  #queue(bytes: Uint8Array, written: number): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#writes!.push({ bytes, written, resolve, reject });
    this.#update();
    return promise;
  }

  /** Sends from `at` until done or the socket buffer is full; returns the end reached. */
  #sendFrom(bytes: Uint8Array, at: number): number {
    const libc = this.#reactor.libc;
    while (at < bytes.length) {
      const count = libc.send(
        this.#fd,
        at === 0 ? bytes : bytes.subarray(at),
        BigInt(bytes.length - at),
        MSG_NOSIGNAL | MSG_DONTWAIT,
      );
      if (count >= 0) {
        at += count;
        continue;
      }
      const errno = this.#reactor.errno();
      if (errno === EAGAIN) return at;
      if (errno !== EINTR) throw this.#reactor.error(errno);
    }
    return at;
  }

  /** Writes queued bytes in order; resolves each write once all of it is sent. */
  #flush(): void {
    const writes = this.#writes!;
    try {
      while (writes.length > 0) {
        const write = writes[0];
        write.written = this.#sendFrom(write.bytes, write.written);
        if (write.written < write.bytes.length) return;
        writes.shift();
        write.resolve();
      }
    } catch (error) {
      this.#writes = undefined;
      for (const write of writes) write.reject(error as Error);
      this.#update();
      return;
    }
    this.#writes = undefined;
    if (this.#shutdownAfterWrites) this.#reactor.libc.shutdown(this.#fd, SHUT_WR);
    this.#update();
  }
}

/** A resolved address: family and the 4 or 16 address bytes. */
interface ResolvedAddress {
  family: typeof AF_INET | typeof AF_INET6;
  bytes: Uint8Array;
}

/**
 * `hostname` as an IP address: a literal as it is (`[::1]` without its brackets), a name through
 * getaddrinfo (node:dns).
 */
async function resolveAddress(hostname: string, signal: AbortSignal): Promise<string> {
  const ip = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  if (isIP(ip)) return ip;
  const found = lookup(hostname);
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return (await Promise.race([found, aborted])).address;
  } finally {
    signal.removeEventListener("abort", onAbort);
    found.catch(() => {}); // an abandoned lookup must not be an unhandled rejection
  }
}

/** `struct sockaddr_in` or `sockaddr_in6` for `address` and `port`. */
function sockaddr(address: ResolvedAddress, port: number): Uint8Array {
  const bytes = new Uint8Array(address.family === AF_INET ? 16 : 28);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, address.family, true); // sa_family_t, host order
  view.setUint16(2, port); // network order
  bytes.set(address.bytes, address.family === AF_INET ? 4 : 8); // sin6_flowinfo before it
  return bytes;
}
