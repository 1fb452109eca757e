/**
 * A {@linkcode NetlinkTransport} over the rtnetlink socket the cage's child
 * opened inside the cage's network namespace.
 *
 * @module
 */

import type { NetlinkTransport } from "../netlink/transport.ts";
import type { LauncherSymbols } from "../launcher/symbols.ts";
import { describeErrno, EAGAIN } from "../launcher/errno.ts";

/** How long a receive waits for the kernel's reply before it gives up. */
export const NETLINK_RECV_TIMEOUT_MS = 5000;

/** Sends and receives whole datagrams on a netlink fd; throws on errors. */
export class NetlinkFd implements NetlinkTransport {
  readonly #ffi: LauncherSymbols;
  readonly #fd: number;

  constructor(ffi: LauncherSymbols, fd: number) {
    this.#ffi = ffi;
    this.#fd = fd;
  }

  send(msg: Uint8Array): void {
    const n = this.#ffi.wgl_fd_send(this.#fd, msg as Uint8Array<ArrayBuffer>, msg.length);
    if (n < 0) throw new Error(`Cannot send to the cage's netlink socket: ${describeErrno(-n)}`);
    if (n !== msg.length) {
      throw new Error(`Cannot send to the cage's netlink socket: sent ${n} of ${msg.length} bytes`);
    }
  }

  /** Returns the datagram's full length, which exceeds `buf.length` when it was cut. */
  recv(buf: Uint8Array): number {
    const n = this.#ffi.wgl_fd_recv(this.#fd, buf as Uint8Array<ArrayBuffer>, buf.length);
    if (n === -EAGAIN) {
      throw new Error(
        `Cannot read the kernel's netlink reply: none within ${NETLINK_RECV_TIMEOUT_MS} ms`,
      );
    }
    if (n < 0) throw new Error(`Cannot read the cage's netlink socket: ${describeErrno(-n)}`);
    return n;
  }
}
