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
import {
  coalescedProtocols,
  describeTunOffloads,
  offloadWishes,
  TUN_OFFLOADS_WANTED,
  TUN_VNET,
} from "./offloads.ts";

/** Where a TUN read lands before it is cut into slots: a 64 KiB packet and its header. */
const TUN_SCRATCH = 32 + 65536 + 16;

/**
 * Asks for a virtio header on the TUN of the cage made next (launcher/cage.c
 * reads it in the cloned child), unless `WGCAGE_NO_VNET_HDR` says not to; the
 * returned function puts it back. `LauncherPacketIo` then turns the offloads
 * on and handles the header.
 */
export function wantVnetHdr(): () => void {
  const sym = launcher();
  sym.wgl_tun_want_vnet_hdr(offloadWishes().vnetHdr ? 1 : 0);
  return () => sym.wgl_tun_want_vnet_hdr(0);
}

/**
 * Binds the launcher functions a data path over `udp` will call for each
 * batch (the TUN's reads and writes, the wait, the socket's), now: their
 * table (batch_io_symbols.ts) binds on first use, ~0.4 ms on the main
 * thread, which a caller waiting for something else can spend here instead.
 */
export function bindPerPacket(udp: UdpSocket): void {
  const sym = launcher();
  void (offloadWishes().vnetHdr ? sym.wgl_tun_read_batch_vnet : sym.wgl_tun_read_batch);
  void sym.wgl_wait;
  udp.bindPerPacket();
}

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
  /** wgl_tun_offload's result: TUN_VNET and the TUN_F_* flags taken, or 0. */
  readonly #tunOffloads: number;
  /** The Coalesce bits of the TUN writes. */
  readonly #coalesce: number;
  readonly #tunScratch: Uint8Array | undefined;

  /** Needs the launcher loaded (the socket's `open` loads it). */
  constructor(tunFd: number, udp: UdpSocket) {
    this.#sym = launcher();
    this.#tunFd = tunFd;
    this.#udp = udp;
    this.#wakeFd = checked(this.#sym.wgl_eventfd(), "create an eventfd");
    // A TUN made without a virtio header answers 0. Where TUNGETIFF fails the
    // TUN is as asked for before the clone.
    const wishes = offloadWishes();
    const state = this.#sym.wgl_tun_offload(tunFd, TUN_OFFLOADS_WANTED);
    this.#tunOffloads = state >= 0 ? state : wishes.vnetHdr ? TUN_VNET : 0;
    if (this.#tunOffloads & TUN_VNET) this.#tunScratch = new Uint8Array(TUN_SCRATCH);
    this.#coalesce = coalescedProtocols(this.#tunOffloads, wishes.coalesce);
    // Best effort: without it, closing the TUN fd at exit waits for the kernel.
    this.#sym.wgl_tun_detach_on_close(tunFd);
  }

  /** `-v`'s words for the offloads in use, the socket's included. */
  describeOffloads(): string {
    return `${
      describeTunOffloads(this.#tunOffloads, this.#coalesce)
    }, ${this.#udp.describeOffloads()}`;
  }

  readTun(b: B): number {
    if (this.#tunScratch) {
      const r = this.#sym.wgl_tun_read_batch_vnet(
        this.#tunFd,
        b.slotsPointerView(),
        b.slotSize,
        b.descView(),
        b.count,
        HEADROOM,
        this.#tunScratch,
        this.#tunScratch.length,
      );
      return checked(r, "read from the tunnel device");
    }
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
    if (this.#tunScratch) {
      this.#sym.wgl_tun_write_batch_vnet(
        this.#tunFd,
        b.slotsPointerView(),
        b.slotSize,
        b.descView(),
        n,
        this.#coalesce,
      );
      return;
    }
    this.#sym.wgl_tun_write_batch(this.#tunFd, b.slotsPointerView(), b.slotSize, b.descView(), n);
  }

  recvUdp(b: B): number {
    return checked(this.#udp.recv(b), "receive from the UDP socket");
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
