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
  #closed = false;

  private constructor(sym: LauncherSymbols, fd: number, port: number) {
    this.#sym = sym;
    this.fd = fd;
    this.port = port;
  }

  /**
   * Binds a socket to `port` on every address (0: any free port). Throws
   * {@linkcode LauncherError} (exit 125) naming the fix when the host
   * refuses: the port is in use, or below 1024 without root.
   */
  static async open(port: number): Promise<UdpSocket> {
    await prepareLauncher();
    const ffi = launcher();
    const fd = ffi.wgl_udp_open(port);
    if (fd < 0) throw new LauncherError(openFailure(port, -fd), { errno: -fd });
    return new UdpSocket(ffi, fd, ffi.wgl_udp_local_port(fd));
  }

  /** Sends the first `n` slots of `batch` that the core addressed to a peer. */
  send(batch: MemoryBatch, n: number): void {
    this.#sym.wgl_udp_send_batch(
      this.fd,
      batch.slotsPointerView(),
      batch.slotSize,
      batch.descView(),
      n,
    );
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sym.wgl_fd_close(this.fd);
  }
}
