/**
 * The error an rtnetlink request fails with when the kernel refuses it.
 *
 * @module
 */

import { EACCES, EPERM, errnoDescription, errnoName } from "../launcher/errno.ts";

/** What failed, for a {@linkcode NetlinkError}'s message. */
export interface FailedRequest {
  /** Completes "Cannot …", e.g. `add address fd00::2/64 to wg0`. */
  readonly what: string;
  /** The likely fix for this errno, if one is known. */
  readonly hint?: string;
  /** The kernel's own explanation (extended ack), if it sent one. */
  readonly kernelMessage?: string;
}

/**
 * The kernel answered a request with an error. `errno` is positive (`17` for
 * EEXIST); the message is one line naming the request, the error, and the
 * likely fix:
 * `Cannot add address fd00::2/64 to wg0: Operation not permitted (EPERM); …`.
 * It is one of wgcage's own failures (exit status 125): the kernel refused
 * what the configuration asked for.
 */
export class NetlinkError extends Error {
  /** The exit status for wgcage's own failures. */
  readonly exitCode = 125;
  readonly errno: number;
  constructor(errno: number, request: FailedRequest) {
    const kernel = request.kernelMessage ? `, kernel says "${request.kernelMessage}"` : "";
    const hint = request.hint ? `; ${request.hint}` : "";
    super(
      `Cannot ${request.what}: ${errnoDescription(errno)} (${errnoName(errno)}${kernel})${hint}`,
    );
    this.name = "NetlinkError";
    this.errno = errno;
  }
}

/**
 * The usual cause of EPERM or EACCES on an rtnetlink change: the socket's
 * namespace belongs to someone else (no CAP_NET_ADMIN over it).
 */
export function permissionHint(errno: number): string | undefined {
  if (errno === EPERM || errno === EACCES) {
    return "the netlink socket is not in a network namespace wgcage owns";
  }
  return undefined;
}
