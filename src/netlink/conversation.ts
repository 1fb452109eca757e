/**
 * Requests and their answers: sequence numbers, acknowledgements, error
 * replies (with extended ack), multipart dumps up to NLMSG_DONE, and batches
 * of requests sent in one datagram.
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
 * One request of a batch: what it asks, how an error names it, and which
 * errnos mean "nothing to do" rather than failure.
 */
export type BatchRequest =
  & BatchRequestParts
  & (
    | { readonly request: NetlinkRequest; readonly encoded?: undefined }
    | {
      /**
       * The request already encoded, flags included, with `seq` written in:
       * for thousands of alike requests made from one template (live/routes.ts).
       */
      readonly encoded: (seq: number) => Uint8Array;
      readonly request?: undefined;
    }
  );

/** What every {@linkcode BatchRequest} says besides the request itself. */
interface BatchRequestParts {
  readonly describe: DescribeFailure;
  /** Errnos that count as done, e.g. EAFNOSUPPORT for an IPv6 setting on a kernel without IPv6. */
  readonly tolerate?: readonly number[];
  /**
   * A dump (NLM_F_DUMP): its objects are read up to NLMSG_DONE. Only the
   * last request of a batch may be one: the kernel runs one dump per socket
   * at a time and refuses a second (EBUSY) while the first has parts left.
   */
  readonly dump?: boolean;
}

/**
 * Requests per datagram. Every request is answered into the socket's receive
 * buffer before we read any answer, and the kernel drops what does not fit
 * (ENOBUFS): an ack costs about a kilobyte of the buffer's accounting, the
 * default buffer is 208 KiB, so 64 leaves room for error replies (which echo
 * their request) and a dump's first 32 KiB part.
 */
export const BATCH_LIMIT = 64;

/** Reused by every read: replies are copied out of it (copyMessage). */
const receiveBuffer = new Uint8Array(RECEIVE_BUFFER_SIZE);

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
  return requestBatch(nl, [{ request, describe }])[0];
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
  return requestBatch(nl, [{ request, describe, dump: true }])[0];
}

/**
 * Sends several requests in one datagram ({@linkcode BATCH_LIMIT} at most;
 * more go in further datagrams) and reads until each is answered: one
 * sendmsg and one pass of reads instead of a round trip per request, as
 * iproute2's `ip -batch` and libmnl's batches do. The kernel handles a
 * datagram's messages in order, each acked under its own sequence number.
 * Returns, per request, the messages it was answered with before its ack
 * (a GET's object, a dump's objects), and for a tolerated refusal the error
 * itself ({@linkcode toleratedRefusal} reads it).
 *
 * Throws {@linkcode NetlinkError} for the first request, in order, that the
 * kernel refused with an errno it does not `tolerate`, after every answer of
 * its datagram was read (so no dump is left half read on the socket); later
 * datagrams are not sent. The kernel does not stop at a refusal: the
 * requests after it in the same datagram were still carried out, so batch
 * only requests whose partial application is harmless (the cage's set-up:
 * any refusal ends the run and its namespace).
 */
export function requestBatch(
  nl: NetlinkTransport,
  requests: readonly BatchRequest[],
): NetlinkMessage[][] {
  requests.forEach((r, i) => {
    if (r.dump && i !== requests.length - 1) {
      throw new RangeError("Cannot batch netlink requests: only the last request may be a dump");
    }
  });
  const answers: NetlinkMessage[][] = [];
  for (let start = 0; start < requests.length; start += BATCH_LIMIT) {
    const chunk = requests.slice(start, start + BATCH_LIMIT);
    let exchanged = exchange(nl, chunk);
    // Only a dump is flagged as interrupted, and only the last request may be one.
    for (let attempt = 1; exchanged.interrupted; attempt++) {
      const dump = chunk[chunk.length - 1];
      if (attempt === DUMP_ATTEMPTS) {
        throw new Error(
          `Cannot ${
            dump.describe(0).what
          }: the kernel interrupted the dump ${DUMP_ATTEMPTS} times because the tables kept changing; try again`,
        );
      }
      const again = exchange(nl, [dump]);
      exchanged = {
        answers: [...exchanged.answers.slice(0, -1), ...again.answers],
        interrupted: again.interrupted,
      };
    }
    answers.push(...exchanged.answers);
  }
  return answers;
}

/** One datagram of requests and every answer to it. */
function exchange(
  nl: NetlinkTransport,
  requests: readonly BatchRequest[],
): { answers: NetlinkMessage[][]; interrupted: boolean } {
  const bySeq = new Map<number, number>();
  const parts = requests.map(({ request, encoded, dump }, i) => {
    const seq = nextSequence();
    bySeq.set(seq, i);
    if (encoded) return encoded(seq);
    return encodeRequest(
      { ...request, flags: request.flags | (dump ? NLM_F_DUMP : NLM_F_ACK) },
      seq,
    );
  });
  nl.send(parts.length === 1 ? parts[0] : concat(parts));

  const answers: NetlinkMessage[][] = requests.map(() => []);
  let interrupted = false;
  let open = requests.length;
  let refused: { index: number; error: NetlinkError } | undefined;
  const close = (seq: number) => {
    bySeq.delete(seq);
    open--;
  };
  const refuse = (index: number, errno: number, message: NetlinkMessage) => {
    if (requests[index].tolerate?.includes(errno)) {
      answers[index].push(copyMessage(message));
      return;
    }
    if (refused === undefined || index < refused.index) {
      refused = { index, error: failure(errno, message, requests[index].describe) };
    }
  };
  try {
    while (open > 0) {
      for (const message of receive(nl)) {
        const index = bySeq.get(message.seq);
        if (index === undefined) continue;
        const { describe, dump } = requests[index];
        if (dump && (message.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
        switch (message.type) {
          case NLMSG_ERROR: {
            const errno = errorCode(message);
            if (errno !== 0) refuse(index, errno, message);
            close(message.seq);
            continue;
          }
          case NLMSG_DONE: {
            if (!dump) continue;
            const errno = message.payload.length >= 4 ? errorCode(message) : 0;
            if (errno !== 0) refuse(index, errno, message);
            close(message.seq);
            continue;
          }
          case NLMSG_NOOP:
            continue;
          case NLMSG_OVERRUN:
            throw overrun(describe);
        }
        answers[index].push(copyMessage(message));
        // A dump answered by one object without NLM_F_MULTI has no NLMSG_DONE.
        if (dump && (message.flags & NLM_F_MULTI) === 0) close(message.seq);
      }
    }
  } catch (e) {
    // The refusal says more than a read that failed after it.
    if (refused !== undefined) throw refused.error;
    throw e;
  }
  if (refused !== undefined) throw refused.error;
  return { answers, interrupted };
}

/**
 * The error a batch request's tolerated refusal would have thrown, from its
 * answer in {@linkcode requestBatch}'s result; undefined when it was done.
 */
export function toleratedRefusal(
  step: BatchRequest,
  answer: readonly NetlinkMessage[],
): NetlinkError | undefined {
  const last = answer.at(-1);
  if (last === undefined || last.type !== NLMSG_ERROR) return undefined;
  const errno = errorCode(last);
  return errno === 0 ? undefined : failure(errno, last, step.describe);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}

/** Reads one datagram and returns its messages (views into the shared buffer). */
function receive(nl: NetlinkTransport): NetlinkMessage[] {
  const buffer = receiveBuffer;
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
  return decodeMessages(buffer.subarray(0, length));
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
