/**
 * The real kernel side of the data path: the TUN fd from the cage and the
 * host-side UDP socket, driven through the launcher's batched I/O. Slots and
 * descriptors are views of the core's memory, so no packet is copied in
 * JavaScript.
 *
 * @module
 */

import type { PacketBatch, PacketIo } from "./loop.ts";
import type { UdpSocket } from "./udp_socket.ts";
import { launcher } from "../launcher/library.ts";
import type { LauncherSymbols } from "../launcher/symbols.ts";
import { errnoName } from "../launcher/errno.ts";
import { HEADROOM } from "../wg/abi.ts";

/** A batch whose slots and descriptors the launcher can read and write. */
export interface MemoryBatch extends PacketBatch {
  readonly slotSize: number;
  /** The slots, as a view of WASM memory (re-made if memory grew). */
  slotsPointerView(): Uint8Array;
  /** The descriptors, as a view of WASM memory (re-made if memory grew). */
  descView(): Uint32Array;
}

function checked(result: number, what: string): number {
  if (result < 0) throw new Error(`Cannot ${what}: ${errnoName(-result)}`);
  return result;
}

export class LauncherPacketIo<B extends MemoryBatch> implements PacketIo<B> {
  readonly #sym: LauncherSymbols;
  readonly #tunFd: number;
  readonly #udp: UdpSocket;
  readonly #wakeFd: number;

  /** Needs the launcher loaded (the socket's `open` loads it). */
  constructor(tunFd: number, udp: UdpSocket) {
    this.#sym = launcher();
    this.#tunFd = tunFd;
    this.#udp = udp;
    this.#wakeFd = checked(this.#sym.wgl_eventfd(), "create an eventfd");
    // Best effort: without it, closing the TUN fd at exit waits for the kernel.
    this.#sym.wgl_tun_detach_on_close(tunFd);
  }

  readTun(b: B): number {
    const r = this.#sym.wgl_tun_read_batch(
      this.#tunFd,
      b.slotsPointerView(),
      b.slotSize,
      b.descView(),
      b.count,
      HEADROOM,
    );
    return checked(r, "read from the tunnel device");
  }

  writeTun(b: B, n: number): void {
    this.#sym.wgl_tun_write_batch(this.#tunFd, b.slotsPointerView(), b.slotSize, b.descView(), n);
  }

  recvUdp(b: B): number {
    const r = this.#sym.wgl_udp_recv_batch(
      this.#udp.fd,
      b.slotsPointerView(),
      b.slotSize,
      b.descView(),
      b.count,
    );
    return checked(r, "receive from the UDP socket");
  }

  sendUdp(b: B, n: number): void {
    this.#udp.send(b, n);
  }

  async wait(timeoutMs: number): Promise<void> {
    await this.#sym.wgl_wait(
      this.#tunFd,
      this.#udp.fd,
      this.#wakeFd,
      Math.min(timeoutMs, 2 ** 31 - 1),
    );
  }

  wake(): void {
    this.#sym.wgl_eventfd_signal(this.#wakeFd);
  }

  /** Closes the wake-up fd (the TUN and the socket belong to their owners). */
  close(): void {
    this.#sym.wgl_fd_close(this.#wakeFd);
  }
}
