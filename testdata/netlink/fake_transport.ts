/**
 * In-memory netlink transports for tests: one that replays captured kernel
 * datagrams, one whose replies a test computes from each request.
 *
 * @module
 */

import {
  decodeMessages,
  HOST_LITTLE_ENDIAN,
  type NetlinkMessage,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_DONE,
  NLMSG_ERROR,
} from "../../src/netlink/message.ts";
import type { NetlinkTransport } from "../../src/netlink/transport.ts";

/** A transport that answers each request with datagrams a test function computes. */
export class ScriptedTransport implements NetlinkTransport {
  /** Every request sent, decoded. */
  readonly sent: NetlinkMessage[] = [];
  readonly #pending: Uint8Array[] = [];
  readonly #answer: (request: NetlinkMessage) => Uint8Array[];

  constructor(answer: (request: NetlinkMessage) => Uint8Array[]) {
    this.#answer = answer;
  }

  /** Datagrams sent (a batch is one). */
  sends = 0;

  send(msg: Uint8Array): void {
    this.sends++;
    // The kernel answers a datagram's messages one after another, in order.
    for (const message of decodeMessages(msg.slice())) {
      this.sent.push(message);
      this.#pending.push(...this.#answer(message));
    }
  }

  recv(buf: Uint8Array): number {
    const datagram = this.#pending.shift();
    if (datagram === undefined) throw new Error("the fake kernel has nothing more to say");
    buf.set(datagram.subarray(0, Math.min(datagram.length, buf.length)));
    return datagram.length;
  }
}

/**
 * A transport that replays a captured conversation, datagram by datagram.
 * The capture's sequence numbers were 1, 2, 3, … in request order; each is
 * rewritten to the number the n-th request really carried.
 */
export class ReplayTransport implements NetlinkTransport {
  /** Every request sent, decoded. */
  readonly sent: NetlinkMessage[] = [];
  readonly #datagrams: Uint8Array[];

  constructor(datagrams: readonly Uint8Array[]) {
    this.#datagrams = datagrams.map((datagram) => datagram.slice());
  }

  /** Datagrams sent (a batch is one). */
  sends = 0;

  send(msg: Uint8Array): void {
    this.sends++;
    this.sent.push(...decodeMessages(msg.slice()));
  }

  recv(buf: Uint8Array): number {
    const datagram = this.#datagrams.shift();
    if (datagram === undefined) throw new Error("the captured conversation has ended");
    const view = new DataView(datagram.buffer);
    for (const message of decodeMessages(datagram)) {
      const request = this.sent[message.seq - 1];
      if (request === undefined) continue;
      view.setUint32(message.payload.byteOffset - 16 + 8, request.seq, HOST_LITTLE_ENDIAN);
    }
    buf.set(datagram);
    return datagram.length;
  }

  /** Datagrams not read yet. */
  get remaining(): number {
    return this.#datagrams.length;
  }
}

/** Builds one netlink message (header plus payload), padded to 4 bytes. */
export function message(
  type: number,
  flags: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const length = 16 + payload.length;
  const bytes = new Uint8Array((length + 3) & ~3);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, length, HOST_LITTLE_ENDIAN);
  view.setUint16(4, type, HOST_LITTLE_ENDIAN);
  view.setUint16(6, flags, HOST_LITTLE_ENDIAN);
  view.setUint32(8, seq, HOST_LITTLE_ENDIAN);
  view.setUint32(12, 4242, HOST_LITTLE_ENDIAN);
  bytes.set(payload, 16);
  return bytes;
}

/** Concatenates messages into one datagram. */
export function datagram(...messages: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
  let offset = 0;
  for (const m of messages) {
    bytes.set(m, offset);
    offset += m.length;
  }
  return bytes;
}

/**
 * An NLMSG_ERROR answering `request`: errno 0 is an ack. The request's
 * header is echoed (capped, as the kernel does for acks), then, when
 * `kernelMessage` is given, an NLMSGERR_ATTR_MSG attribute.
 */
export function errorReply(
  request: NetlinkMessage,
  errno: number,
  kernelMessage?: string,
): Uint8Array {
  const text = kernelMessage === undefined
    ? undefined
    : new TextEncoder().encode(kernelMessage + "\0");
  const attributeLength = text === undefined ? 0 : (4 + text.length + 3) & ~3;
  const payload = new Uint8Array(4 + 16 + attributeLength);
  const view = new DataView(payload.buffer);
  view.setInt32(0, -errno, HOST_LITTLE_ENDIAN);
  view.setUint32(4, 16 + request.payload.length, HOST_LITTLE_ENDIAN);
  view.setUint16(8, request.type, HOST_LITTLE_ENDIAN);
  view.setUint16(10, request.flags, HOST_LITTLE_ENDIAN);
  view.setUint32(12, request.seq, HOST_LITTLE_ENDIAN);
  if (text !== undefined) {
    view.setUint16(20, 4 + text.length, HOST_LITTLE_ENDIAN);
    view.setUint16(22, 1, HOST_LITTLE_ENDIAN);
    payload.set(text, 24);
  }
  const flags = NLM_F_CAPPED | (text === undefined ? 0 : NLM_F_ACK_TLVS);
  return message(NLMSG_ERROR, flags, request.seq, payload);
}

/** The NLMSG_DONE that ends a dump, with `errno` (0 on success). */
export function doneReply(seq: number, errno = 0): Uint8Array {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setInt32(0, -errno, HOST_LITTLE_ENDIAN);
  return message(NLMSG_DONE, 0x2, seq, payload);
}
