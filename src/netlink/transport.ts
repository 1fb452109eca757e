/**
 * The socket a netlink conversation runs over, kept abstract so that the cage
 * can pass the fd its child opened inside the new network namespace, and
 * tests can pass a fake or a socket of their own.
 *
 * @module
 */

/**
 * A connected `NETLINK_ROUTE` socket. Both methods block and throw on errors.
 */
export interface NetlinkTransport {
  /** Sends one request datagram to the kernel. */
  send(msg: Uint8Array): void;
  /**
   * Reads one datagram into `buf` and returns its length. An implementation
   * that reads with `MSG_TRUNC` may return more than `buf.length` when the
   * datagram did not fit; the reader then reports the truncation.
   */
  recv(buf: Uint8Array): number;
}
