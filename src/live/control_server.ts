/**
 * The control service of a live cage: unix stream sockets speaking
 * WireGuard's cross-platform userspace API (one request is an operation line,
 * its lines, and an empty line; several per connection), served from the
 * keeper's event loop over launcher/control.c.
 *
 * Only clients of the keeper's own uid (SO_PEERCRED) that are not in a cage
 * are served: their network namespace must be the keeper's, their user
 * namespace the keeper's or one below it (launcher/control.c says why).
 * Anyone else is closed at once, before a byte is read. Bad input cannot hurt the keeper: a request over
 * {@linkcode MAX_REQUEST} bytes gets `errno=-22` and the connection closes; a
 * half request is dropped after {@linkcode IDLE_MS}; a client that does not
 * read its replies is dropped once {@linkcode MAX_PENDING} bytes wait; more
 * than {@linkcode MAX_CLIENTS} at once are closed on accept.
 *
 * @module
 */

import type { LauncherSymbols } from "../launcher/library.ts";
import { EAGAIN, EPERM } from "../launcher/errno.ts";

/** The largest request taken (a `wg setconf` of thousands of peers fits). */
export const MAX_REQUEST = 1 << 20;
/** Reply bytes that may wait for a client that does not read. */
export const MAX_PENDING = 4 << 20;
/** A connection with a half request (or nothing, and no hold) is closed after this. */
export const IDLE_MS = 10_000;
export const MAX_CLIENTS = 256;

const RECV_CHUNK = 65536;
const TICK_MS = 1000;

/** One client connection, as the handler sees it. */
export interface ControlClient {
  readonly id: number;
  readonly uid: number;
  readonly pid: number;
  /** Set by the handler: the connection holds the cage (a command runs in it). */
  hold: boolean;
}

/** A reply that passes fds along (SCM_RIGHTS, with its first bytes). */
export interface ControlReply {
  readonly text: string;
  /** The server's own fds: it sends copies and keeps (and never closes) these. */
  readonly fds: readonly number[];
}

/** A reply, or undefined to close the connection. */
type Reply = string | ControlReply | undefined;

export interface ControlHandler {
  /**
   * One complete request: its operation line and the lines after it (no
   * empty line). Returns the reply, or undefined to close the connection;
   * or a promise of one (the connection's next request waits for it).
   */
  request(
    op: string,
    lines: string[],
    client: ControlClient,
  ): Reply | Promise<Reply>;
  /** The connection closed (after a hold, the count of holds dropped). */
  closed(client: ControlClient): void;
}

interface Pending {
  bytes: Uint8Array;
  /** Sent with the first bytes of `bytes`, then cleared. */
  fds?: readonly number[];
}

interface Connection extends ControlClient {
  readonly fd: number;
  input: string;
  readonly decoder: TextDecoder;
  output: Pending[];
  pending: number;
  lastActive: number;
  /** A reply is being made: the requests after it wait. */
  busy: boolean;
}

export class ControlServer {
  readonly #ffi: LauncherSymbols;
  readonly #listeners: number[];
  readonly #handler: ControlHandler;
  readonly #uid: number;
  readonly #wake: number;
  readonly #log: ((line: string) => void) | undefined;
  readonly #conns = new Map<number, Connection>();
  #nextId = 1;
  #stopped = false;
  #running: Promise<void> | undefined;

  private constructor(
    ffi: LauncherSymbols,
    listeners: number[],
    handler: ControlHandler,
    log?: (line: string) => void,
  ) {
    this.#ffi = ffi;
    this.#listeners = listeners;
    this.#handler = handler;
    this.#log = log;
    this.#uid = Deno.uid() ?? -1;
    this.#wake = ffi.wgl_eventfd();
  }

  /**
   * Listens on each path (made 0600); throws when one cannot be bound. `log`
   * (the keeper's -v) hears of refused clients.
   */
  static open(
    ffi: LauncherSymbols,
    paths: string[],
    handler: ControlHandler,
    log?: (line: string) => void,
  ): ControlServer {
    const fds: number[] = [];
    for (const path of paths) {
      const fd = ffi.wgl_ctl_listen(new TextEncoder().encode(`${path}\0`));
      if (fd < 0) {
        for (const f of fds) ffi.wgl_fd_close(f);
        throw new Error(`Cannot listen on ${path}: errno ${-fd}`);
      }
      fds.push(fd);
    }
    return new ControlServer(ffi, fds, handler, log);
  }

  /** How many connections hold the cage now. */
  get holds(): number {
    let n = 0;
    for (const c of this.#conns.values()) if (c.hold) n++;
    return n;
  }

  /** Serves until {@linkcode stop}. */
  start(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#ffi.wgl_eventfd_signal(this.#wake);
    await this.#running?.catch(() => {});
    for (const c of [...this.#conns.values()]) this.#close(c);
    for (const fd of this.#listeners) this.#ffi.wgl_fd_close(fd);
    this.#ffi.wgl_fd_close(this.#wake);
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const conns = [...this.#conns.values()];
      const count = this.#listeners.length + conns.length;
      const fds = new Int32Array(count);
      const events = new Int32Array(count);
      this.#listeners.forEach((fd, i) => {
        fds[i] = fd;
        events[i] = 1;
      });
      conns.forEach((c, i) => {
        const at = this.#listeners.length + i;
        fds[at] = c.fd;
        events[at] = 1 | (c.pending > 0 ? 2 : 0);
      });
      const n = await this.#ffi.wgl_ctl_poll(fds, events, count, this.#wake, TICK_MS);
      if (this.#stopped) return;
      if (n < 0) throw new Error(`Cannot poll the control sockets: errno ${-n}`);
      const now = Date.now();
      for (let i = 0; i < this.#listeners.length; i++) {
        if (events[i] !== 0) this.#accept(this.#listeners[i], now);
      }
      conns.forEach((c, i) => {
        const ev = events[this.#listeners.length + i];
        if (!this.#conns.has(c.id)) return;
        if (ev & 4) return this.#close(c);
        if (ev & 2) this.#flush(c);
        if (ev & 1 && this.#conns.has(c.id)) this.#read(c, now);
      });
      for (const c of [...this.#conns.values()]) {
        if (!c.hold && now - c.lastActive > IDLE_MS) this.#close(c);
      }
    }
  }

  #accept(listener: number, now: number): void {
    const who = new Int32Array(3);
    for (;;) {
      const fd = this.#ffi.wgl_ctl_accept(listener, who);
      if (fd < 0) return;
      if (who[0] !== this.#uid || who[2] !== 0 || this.#conns.size >= MAX_CLIENTS) {
        this.#ffi.wgl_fd_close(fd);
        this.#log?.(
          `control socket: refused pid ${who[1]} (${
            who[0] !== this.#uid
              ? `uid ${who[0]}`
              : who[2] === EPERM
              ? "in another network or user namespace: a cage"
              : who[2] !== 0
              ? `its namespaces cannot be checked: errno ${who[2]}`
              : "too many clients"
          })`,
        );
        continue;
      }
      const id = this.#nextId++;
      this.#conns.set(id, {
        id,
        fd,
        uid: who[0],
        pid: who[1],
        hold: false,
        input: "",
        decoder: new TextDecoder("utf-8", { fatal: false }),
        output: [],
        pending: 0,
        lastActive: now,
        busy: false,
      });
    }
  }

  #read(c: Connection, now: number): void {
    const buf = new Uint8Array(RECV_CHUNK);
    for (let round = 0; round < 16; round++) {
      const n = this.#ffi.wgl_ctl_recv(c.fd, buf, buf.length);
      if (n === -EAGAIN) break;
      if (n <= 0) return this.#close(c);
      c.lastActive = now;
      c.input += c.decoder.decode(buf.subarray(0, n), { stream: true });
      if (!this.#process(c)) return;
      if (n < buf.length) break;
    }
  }

  /** Answers every complete request; false when the connection was closed. */
  #process(c: Connection): boolean {
    for (;;) {
      const end = c.busy ? -1 : c.input.indexOf("\n\n");
      if (end < 0) {
        if (c.input.length > MAX_REQUEST) {
          this.#send(c, "errno=-22\n\n");
          this.#close(c);
          return false;
        }
        return true;
      }
      const text = c.input.slice(0, end);
      c.input = c.input.slice(end + 2);
      const [op, ...lines] = text.split("\n");
      let reply: Reply | Promise<Reply>;
      try {
        reply = this.#handler.request(op, lines, c);
      } catch {
        reply = "errno=-55\n\n";
      }
      if (reply instanceof Promise) {
        c.busy = true;
        reply.catch(() => "errno=-55\n\n").then((r) => {
          c.busy = false;
          if (!this.#conns.has(c.id)) return;
          if (r === undefined) return this.#close(c);
          this.#send(c, r);
          if (this.#conns.has(c.id)) this.#process(c);
        });
        return true;
      }
      if (reply === undefined) {
        this.#close(c);
        return false;
      }
      this.#send(c, reply);
      if (!this.#conns.has(c.id)) return false;
    }
  }

  #send(c: Connection, reply: string | ControlReply): void {
    const text = typeof reply === "string" ? reply : reply.text;
    const fds = typeof reply === "string" || reply.fds.length === 0 ? undefined : reply.fds;
    c.output.push({ bytes: new TextEncoder().encode(text), fds });
    c.pending += c.output[c.output.length - 1].bytes.length;
    this.#flush(c);
    if (this.#conns.has(c.id) && c.pending > MAX_PENDING) this.#close(c);
  }

  #flush(c: Connection): void {
    while (c.output.length > 0) {
      const head = c.output[0];
      const n = head.fds === undefined
        ? this.#ffi.wgl_ctl_send(c.fd, head.bytes, head.bytes.length)
        : this.#ffi.wgl_ctl_send_fds(
          c.fd,
          head.bytes,
          head.bytes.length,
          Int32Array.from(head.fds),
          head.fds.length,
        );
      if (n === -EAGAIN) return;
      if (n < 0) return this.#close(c);
      head.fds = undefined;
      c.pending -= n;
      if (n === head.bytes.length) c.output.shift();
      else head.bytes = head.bytes.subarray(n);
    }
  }

  #close(c: Connection): void {
    if (!this.#conns.delete(c.id)) return;
    this.#ffi.wgl_fd_close(c.fd);
    this.#handler.closed(c);
  }
}
