/**
 * One request and its answer: sequence numbers, acknowledgements, error
 * replies (with extended ack), and multipart dumps up to NLMSG_DONE.
 *
 * @module
 */

import { type FailedRequest, NetlinkError } from "./error.ts";
import {
  align,
  decodeAttributes,
  decodeMessages,
  encodeRequest,
  HOST_LITTLE_ENDIAN,
  type NetlinkMessage,
  type NetlinkRequest,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  readString,
} from "./message.ts";
import type { NetlinkTransport } from "./transport.ts";

/** Extended-ack attribute carrying the kernel's explanation (`NLMSGERR_ATTR_MSG`). */
const NLMSGERR_ATTR_MSG = 1;

/** Large enough for any rtnetlink datagram (the kernel caps dump skbs at 32 KiB). */
const RECEIVE_BUFFER_SIZE = 64 * 1024;

/** Attempts at a dump the kernel marks as interrupted by a concurrent change. */
const DUMP_ATTEMPTS = 3;

/** Describes a request for error messages, given the errno it failed with. */
export type DescribeFailure = (errno: number) => Omit<FailedRequest, "kernelMessage">;

let lastSequence = 0;

/**
 * The next sequence number. One counter serves every transport, so a late
 * reply to an earlier, abandoned request (after a receive timeout, say) is
 * never taken for the answer to a new one, even when a new transport object
 * wraps the same socket.
 */
export function nextSequence(): number {
  lastSequence = (lastSequence + 1) >>> 0 || 1;
  return lastSequence;
}

/**
 * Sends a request with NLM_F_ACK and reads until its acknowledgement. Returns
 * the messages the kernel answered with before the ack (a GET's object);
 * throws {@linkcode NetlinkError} when the ack carries an error.
 */
export function requestWithAck(
  nl: NetlinkTransport,
  request: NetlinkRequest,
  describe: DescribeFailure,
): NetlinkMessage[] {
  const seq = nextSequence();
  nl.send(encodeRequest({ ...request, flags: request.flags | NLM_F_ACK }, seq));
  const replies: NetlinkMessage[] = [];
  const buffer = new Uint8Array(RECEIVE_BUFFER_SIZE);
  for (;;) {
    for (const message of receive(nl, buffer, seq)) {
      if (message.type === NLMSG_ERROR) {
        const errno = errorCode(message);
        if (errno === 0) return replies;
        throw failure(errno, message, describe);
      }
      if (message.type === NLMSG_DONE || message.type === NLMSG_NOOP) continue;
      if (message.type === NLMSG_OVERRUN) throw overrun(describe);
      replies.push(copyMessage(message));
    }
  }
}

/**
 * Sends a dump request (NLM_F_DUMP) and collects every object up to
 * NLMSG_DONE. A dump the kernel flags as interrupted is retried.
 */
export function requestDump(
  nl: NetlinkTransport,
  request: NetlinkRequest,
  describe: DescribeFailure,
): NetlinkMessage[] {
  for (let attempt = 1;; attempt++) {
    const { objects, interrupted } = dumpOnce(nl, request, describe);
    if (!interrupted) return objects;
    if (attempt === DUMP_ATTEMPTS) {
      throw new Error(
        `Cannot ${
          describe(0).what
        }: the kernel interrupted the dump ${DUMP_ATTEMPTS} times because the tables kept changing; try again`,
      );
    }
  }
}

function dumpOnce(
  nl: NetlinkTransport,
  request: NetlinkRequest,
  describe: DescribeFailure,
): { objects: NetlinkMessage[]; interrupted: boolean } {
  const seq = nextSequence();
  nl.send(encodeRequest({ ...request, flags: request.flags | NLM_F_DUMP }, seq));
  const objects: NetlinkMessage[] = [];
  let interrupted = false;
  const buffer = new Uint8Array(RECEIVE_BUFFER_SIZE);
  for (;;) {
    for (const message of receive(nl, buffer, seq)) {
      if ((message.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
      if (message.type === NLMSG_DONE) {
        const errno = message.payload.length >= 4 ? errorCode(message) : 0;
        if (errno !== 0) throw failure(errno, message, describe);
        return { objects, interrupted };
      }
      if (message.type === NLMSG_ERROR) {
        const errno = errorCode(message);
        if (errno === 0) return { objects, interrupted };
        throw failure(errno, message, describe);
      }
      if (message.type === NLMSG_NOOP) continue;
      if (message.type === NLMSG_OVERRUN) throw overrun(describe);
      if ((message.flags & NLM_F_MULTI) === 0) {
        objects.push(copyMessage(message));
        return { objects, interrupted };
      }
      objects.push(copyMessage(message));
    }
  }
}

/** Reads one datagram and returns its messages that answer `seq`. */
function receive(nl: NetlinkTransport, buffer: Uint8Array, seq: number): NetlinkMessage[] {
  const length = nl.recv(buffer);
  if (length <= 0) {
    throw new Error(
      "Cannot read a netlink reply: the socket returned no data; the netlink socket was closed",
    );
  }
  if (length > buffer.length) {
    throw new Error(
      `Cannot read a netlink reply: a ${length}-byte datagram did not fit in ${buffer.length} bytes`,
    );
  }
  return decodeMessages(buffer.subarray(0, length)).filter((message) => message.seq === seq);
}

/** The positive errno of an NLMSG_ERROR or NLMSG_DONE payload (0 for an ack). */
function errorCode(message: NetlinkMessage): number {
  if (message.payload.length < 4) {
    throw new RangeError("Cannot read a netlink reply: an error message has no error code");
  }
  const view = new DataView(message.payload.buffer, message.payload.byteOffset, 4);
  return -view.getInt32(0, HOST_LITTLE_ENDIAN);
}

function failure(errno: number, message: NetlinkMessage, describe: DescribeFailure): NetlinkError {
  return new NetlinkError(errno, {
    ...describe(errno),
    kernelMessage: extendedAckMessage(message),
  });
}

/**
 * The kernel's explanation in an error's extended-ack attributes, present
 * when the socket enabled NETLINK_EXT_ACK.
 */
function extendedAckMessage(message: NetlinkMessage): string | undefined {
  if ((message.flags & NLM_F_ACK_TLVS) === 0) return undefined;
  let offset = 4;
  if (message.type === NLMSG_ERROR) {
    if (message.payload.length < 4 + NLMSG_HDRLEN) return undefined;
    const echoed = new DataView(message.payload.buffer, message.payload.byteOffset + 4, 4)
      .getUint32(0, HOST_LITTLE_ENDIAN);
    offset += (message.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : align(echoed);
  }
  if (offset > message.payload.length) return undefined;
  const text = readString(
    decodeAttributes(message.payload.subarray(offset)).get(NLMSGERR_ATTR_MSG),
  );
  return text === "" ? undefined : text;
}

function overrun(describe: DescribeFailure): Error {
  return new Error(
    `Cannot ${describe(0).what}: the kernel reported a netlink overrun; replies were lost`,
  );
}

/** Replies outlive the receive buffer, which the next read overwrites. */
function copyMessage(message: NetlinkMessage): NetlinkMessage {
  return { ...message, payload: message.payload.slice() };
}
