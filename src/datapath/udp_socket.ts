/**
 * The host-side UDP socket the data path talks to the peers through: one
 * IPv6 socket that takes IPv4 too (v4-mapped), or an IPv4 one where the host
 * has no IPv6 (launcher/packet_io.c, `wgl_udp_open`). It stays in the host's
 * namespaces; nothing in the cage can reach it.
 *
 * @module
 */

import { EACCES, EADDRINUSE } from "../launcher/errno.ts";
import { LauncherError } from "../launcher/error.ts";
import { launcher, type LauncherSymbols, prepareLauncher } from "../launcher/library.ts";
import type { MemoryBatch } from "./launcher_io.ts";
import { describeUdpOffloads, offloadWishes, UdpOffload } from "./offloads.ts";

/** Where a coalesced receive lands before it is split into slots. */
const GRO_SCRATCH = 64 + 65536;

function openFailure(port: number, errno: number): string {
  switch (errno) {
    case EADDRINUSE:
      return `wgcage: Cannot listen on UDP port ${port}: it is in use; choose another ListenPort or leave it out`;
    case EACCES:
      return `wgcage: Cannot listen on UDP port ${port}: ports below 1024 need root; choose ListenPort 1024 or above`;
    default:
      return `wgcage: Cannot open a UDP socket (port ${port}): errno ${errno}; check that the host allows UDP sockets`;
  }
}

export class UdpSocket {
  readonly fd: number;
  /** The port it is bound to: the kernel's choice when 0 was asked for. */
  readonly port: number;
  readonly #sym: LauncherSymbols;
  /** Word 0: the UdpOffload bits in use (the C side clears GSO when the kernel refuses it). */
  readonly #state = new Uint32Array(1);
  #groScratch: Uint8Array | undefined;
  #closed = false;

  private constructor(sym: LauncherSymbols, fd: number, port: number, offloads: number) {
    this.#sym = sym;
    this.fd = fd;
    this.port = port;
    this.#state[0] = offloads;
    if (offloads & UdpOffload.GRO) this.#groScratch = new Uint8Array(GRO_SCRATCH);
  }

  /**
   * Binds a socket to `port` on every address (0: any free port), with UDP
   * GSO and GRO where the kernel has them and the environment does not turn
   * them off (`offloads.ts`). Throws {@linkcode LauncherError} (exit 125)
   * naming the fix when the host refuses: the port is in use, or below 1024
   * without root.
   */
  static async open(port: number): Promise<UdpSocket> {
    await prepareLauncher();
    const ffi = launcher();
    const fd = ffi.wgl_udp_open(port);
    if (fd < 0) throw new LauncherError(openFailure(port, -fd), { errno: -fd });
    const wishes = offloadWishes();
    const want = (wishes.gso ? UdpOffload.GSO : 0) | (wishes.gro ? UdpOffload.GRO : 0);
    const offloads = Math.max(0, ffi.wgl_udp_offload(fd, want));
    return new UdpSocket(ffi, fd, ffi.wgl_udp_local_port(fd), offloads);
  }

  /** The UdpOffload bits in use now. */
  get offloads(): number {
    return this.#state[0];
  }

  /** `-v`'s words for them. */
  describeOffloads(): string {
    return describeUdpOffloads(this.#state[0]);
  }

  /** Sends the first `n` slots of `batch` that the core addressed to a peer. */
  send(batch: MemoryBatch, n: number): void {
    this.#sym.wgl_udp_send_batch_gso(
      this.fd,
      batch.slotsPointerView(),
      batch.slotSize,
      batch.descView(),
      n,
      this.#state,
    );
  }

  /**
   * Receives up to `batch.count` datagrams, one a slot at offset 0 with its
   * source in the descriptor; returns how many, or -errno.
   */
  recv(batch: MemoryBatch): number {
    if (this.#groScratch) {
      return this.#sym.wgl_udp_recv_batch_gro(
        this.fd,
        batch.slotsPointerView(),
        batch.slotSize,
        batch.descView(),
        batch.count,
        this.#groScratch,
        this.#groScratch.length,
      );
    }
    return this.#sym.wgl_udp_recv_batch(
      this.fd,
      batch.slotsPointerView(),
      batch.slotSize,
      batch.descView(),
      batch.count,
    );
  }

  /**
   * Binds the launcher functions that {@linkcode send} and {@linkcode recv}
   * will call, now: their tables bind on first use, on the main thread.
   */
  bindPerPacket(): void {
    void (this.#groScratch ? this.#sym.wgl_udp_recv_batch_gro : this.#sym.wgl_udp_recv_batch);
    void this.#sym.wgl_udp_send_batch_gso;
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sym.wgl_fd_close(this.fd);
  }
}
