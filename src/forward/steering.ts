/**
 * Steered connections, seen from TypeScript (launcher/forward.h
 * `wgl_forward_steer`): the relay thread accepts them and holds what the
 * client sends; TypeScript reads it, answers, and says where the connection
 * goes. From then on the relay splices it like any other.
 *
 * Why the handshake is here and the bytes stay in C: a proxy's request is
 * hostile input, parsed best in a memory-safe language, and needs the cage's
 * DNS (an async lookup); the data that follows is bulk and belongs in the
 * splice relay. Deno cannot hand a socket it accepted to C (it exposes no
 * fd), so the relay accepts and TypeScript steers over a small command queue.
 *
 * @module
 */

import type { IpAddress } from "../config/ip.ts";
import type { LauncherSymbols } from "../launcher/library.ts";
import { EPIPE } from "../launcher/errno.ts";

/** launcher/forward.h `enum wgl_steer_note`. */
const Note = {
  Accepted: 1,
  Data: 2,
  Failed: 3,
  Gone: 4,
  Relaying: 5,
  SocketMade: 6,
  AssocResolve: 7,
} as const;
/** launcher/forward.h `enum wgl_steer_op`. */
const Op = {
  Write: 1,
  Close: 2,
  Connect: 3,
  Socket: 4,
  ConnectSend: 5,
  Associate: 6,
  SetTarget: 7,
  AssocMap: 8,
} as const;

/** Bytes of a request the relay holds (STEER_BYTES). */
export const STEER_BYTES = 16384;
const NOTES_AT_ONCE = 64;

/** One steered connection, as its session sees it. */
export interface SteeredConnection {
  /** Sends bytes to the client. */
  write(bytes: Uint8Array): void;
  /** Sends bytes (if any) to the client, then closes. */
  close(bytes?: Uint8Array): void;
  /**
   * Connects through the cage to `to`:`port`: the first `consumed` bytes the
   * client sent are dropped, the rest go to the target; once connected,
   * `reply` goes to the client (or, with `replyToTarget`, to the target
   * before the rest).
   */
  connect(
    to: IpAddress,
    port: number,
    o: { consumed: number; reply?: Uint8Array; replyToTarget?: boolean },
  ): void;
  /**
   * A SOCKS5 UDP ASSOCIATE: the relay binds a host UDP socket, makes one in
   * the cage, answers the client with the host socket's address and relays
   * until the connection ends. `port`: the client's UDP port, 0 for any.
   */
  associate(port: number): void;
  /** A UDP association's name `entry` is `to` in the cage (undefined: it did not resolve). */
  mapName(entry: number, to: IpAddress | undefined): void;
}

/** What a steered rule does with its connections. */
export interface SteerSession {
  /** Bytes the client sent so far (all of them, from the first). */
  data?(held: Uint8Array): void;
  /** Connecting failed (errno); the connection is the session's again. */
  failed(errno: number): void;
  /**
   * A UDP association needs the name in 256-byte slot `entry` of `held`
   * (a length byte, then the name) resolved; answer with `mapName`.
   */
  resolveName?(held: Uint8Array, entry: number): void;
}

/** Makes the session of a new connection of one rule. */
export type SteerRule = (c: SteeredConnection) => SteerSession;

const EMPTY = new Uint8Array(0);
const NO_ADDRESS = new Uint8Array(16);

export class Steering {
  readonly #ffi: LauncherSymbols;
  readonly #handle: number;
  readonly #rules: ReadonlyMap<number, SteerRule>;
  readonly #sessions = new Map<number, SteerSession>();
  readonly #sockets = new Map<number, (r: { fd: number } | { errno: number }) => void>();
  readonly #held = new Uint8Array(STEER_BYTES);
  #nextTag = 1;
  #running: Promise<void> | undefined;

  constructor(ffi: LauncherSymbols, handle: number, rules: ReadonlyMap<number, SteerRule>) {
    this.#ffi = ffi;
    this.#handle = handle;
    this.#rules = rules;
  }

  /** Reads the relay's notes until the forwarder closes. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Resolves once the forwarder closed (the notes ended). */
  get ended(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** Connections waiting for a decision. */
  get waiting(): number {
    return this.#sessions.size;
  }

  /** Where new flows of the -L /udp rule `rule` (to a name) go from now on. */
  setTarget(rule: number, to: IpAddress, port: number): void {
    this.#command(Op.SetTarget, rule, to.family, to.bytes, port, 0, EMPTY);
  }

  /** A socket made in the cage's network namespace (the caller closes it). */
  cageSocket(family: 4 | 6, protocol: "tcp" | "udp"): Promise<number> {
    const tag = this.#nextTag++;
    return new Promise((resolve, reject) => {
      this.#sockets.set(tag, (r) => {
        if ("fd" in r) resolve(r.fd);
        else reject(Object.assign(new Error("the cage's socket service refused"), r));
      });
      this.#command(Op.Socket, tag, family, NO_ADDRESS, protocol === "udp" ? 17 : 6, 0, EMPTY);
    });
  }

  #command(
    op: number,
    id: number,
    family: number,
    addr: Uint8Array,
    port: number,
    consumed: number,
    data: Uint8Array,
  ): void {
    this.#ffi.wgl_forward_steer_command(
      this.#handle,
      op,
      id,
      family,
      addr as Uint8Array<ArrayBuffer>,
      port,
      consumed,
      data as Uint8Array<ArrayBuffer>,
      data.length,
    );
  }

  #connection(id: number): SteeredConnection {
    return {
      write: (bytes) => this.#command(Op.Write, id, 0, NO_ADDRESS, 0, 0, bytes),
      close: (bytes = EMPTY) => {
        this.#sessions.delete(id);
        this.#command(Op.Close, id, 0, NO_ADDRESS, 0, 0, bytes);
      },
      associate: (port) => this.#command(Op.Associate, id, 0, NO_ADDRESS, port, 0, EMPTY),
      mapName: (entry, to) =>
        this.#command(Op.AssocMap, id, to?.family ?? 0, to?.bytes ?? NO_ADDRESS, 0, entry, EMPTY),
      connect: (to, port, o) =>
        this.#command(
          o.replyToTarget ? Op.ConnectSend : Op.Connect,
          id,
          to.family,
          to.bytes,
          port,
          o.consumed,
          o.reply ?? EMPTY,
        ),
    };
  }

  async #run(): Promise<void> {
    const notes = new Uint32Array(NOTES_AT_ONCE * 4);
    for (;;) {
      const n = await this.#ffi.wgl_forward_steer_wait(this.#handle, notes, NOTES_AT_ONCE);
      if (n <= 0) break;
      for (let i = 0; i < n; i++) {
        const [kind, id, errno, extra] = notes.subarray(i * 4, i * 4 + 4);
        this.#note(kind, id, errno, extra);
      }
    }
    this.#sessions.clear();
    for (const settle of this.#sockets.values()) settle({ errno: EPIPE });
    this.#sockets.clear();
  }

  /**
   * A copy of the bytes the launcher holds for connection `id`, or undefined
   * when it has none. Read even when no session wants them: the read is what
   * lets the launcher note more of them.
   */
  #readHeld(id: number): Uint8Array | undefined {
    const got = this.#ffi.wgl_forward_steer_read(this.#handle, id, this.#held, this.#held.length);
    return got >= 0 ? this.#held.slice(0, got) : undefined;
  }

  #note(kind: number, id: number, errno: number, extra: number): void {
    switch (kind) {
      case Note.Accepted: {
        const rule = this.#rules.get(extra);
        if (rule === undefined) {
          this.#command(Op.Close, id, 0, NO_ADDRESS, 0, 0, EMPTY);
          return;
        }
        this.#sessions.set(id, rule(this.#connection(id)));
        return;
      }
      case Note.Data: {
        const session = this.#sessions.get(id);
        const held = this.#readHeld(id);
        if (session?.data && held !== undefined) session.data(held);
        return;
      }
      case Note.Failed:
        this.#sessions.get(id)?.failed(errno);
        return;
      case Note.AssocResolve: {
        const session = this.#sessions.get(id);
        const held = this.#readHeld(id);
        if (session?.resolveName && held !== undefined) session.resolveName(held, extra);
        return;
      }
      case Note.Gone:
      case Note.Relaying:
        this.#sessions.delete(id);
        return;
      case Note.SocketMade: {
        const settle = this.#sockets.get(id);
        this.#sockets.delete(id);
        const fd = extra | 0;
        if (settle === undefined) {
          if (errno === 0 && fd >= 0) this.#ffi.wgl_fd_close(fd);
          return;
        }
        settle(errno === 0 && fd >= 0 ? { fd } : { errno: errno || 5 });
        return;
      }
    }
  }
}
