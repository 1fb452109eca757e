/**
 * The netlink wire format: the 16-byte `nlmsghdr`, route attributes
 * (`rtattr`), their 4-byte alignment, and the constants shared by every
 * rtnetlink request (uapi `linux/netlink.h`, `linux/rtnetlink.h`).
 *
 * Netlink integers are in the host's byte order; every `DataView` access goes
 * through {@linkcode HOST_LITTLE_ENDIAN}.
 *
 * @module
 */

/** True on little-endian hosts: netlink headers use the host's byte order. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `NLMSG_ALIGNTO` and `RTA_ALIGNTO`: messages and attributes start on 4 bytes. */
export const NETLINK_ALIGNMENT = 4;

/** `sizeof(struct nlmsghdr)`. */
export const NLMSG_HDRLEN = 16;

/** `sizeof(struct rtattr)`. */
export const RTA_HDRLEN = 4;

/** Control message types (`NLMSG_*`). */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

/** Header flags (`NLM_F_*`). */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
/** On a GET request: dump every object (`NLM_F_ROOT | NLM_F_MATCH`). */
export const NLM_F_DUMP = 0x300;
/** On a NEW request. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** On an NLMSG_ERROR: only the request's header was echoed back. */
export const NLM_F_CAPPED = 0x100;
/** On an NLMSG_ERROR or NLMSG_DONE: extended-ack attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

/** rtnetlink message types (`RTM_*`). */
export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_GETROUTE = 26;

/** Address families. */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** Attribute type bits that are flags, not part of the type. */
const NLA_TYPE_MASK = 0x3fff;

/** Rounds a length up to the next multiple of 4 (`NLMSG_ALIGN`, `RTA_ALIGN`). */
export function align(length: number): number {
  return (length + NETLINK_ALIGNMENT - 1) & ~(NETLINK_ALIGNMENT - 1);
}

/** One route attribute: a type and its payload, before alignment. */
export interface Attribute {
  readonly type: number;
  readonly data: Uint8Array;
}

/** A request before it has a sequence number. */
export interface NetlinkRequest {
  readonly type: number;
  readonly flags: number;
  /** The family header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`). */
  readonly header: Uint8Array;
  readonly attributes: readonly Attribute[];
}

/** A message read from the socket; `payload` is a view into the receive buffer. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly payload: Uint8Array;
}

/** An attribute carrying a 32-bit integer in host byte order. */
export function u32Attribute(type: number, value: number): Attribute {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, value, HOST_LITTLE_ENDIAN);
  return { type, data };
}

/** An attribute carrying a NUL-terminated string (`IFLA_IFNAME`, `IFA_LABEL`). */
export function stringAttribute(type: number, value: string): Attribute {
  const text = new TextEncoder().encode(value);
  const data = new Uint8Array(text.length + 1);
  data.set(text);
  return { type, data };
}

/** An attribute holding other attributes (`NLA_F_NESTED` is not set, as `ip` sends them). */
export function nestedAttribute(type: number, children: readonly Attribute[]): Attribute {
  let length = 0;
  for (const child of children) length += align(RTA_HDRLEN + child.data.length);
  const data = new Uint8Array(length);
  const view = new DataView(data.buffer);
  let at = 0;
  for (const child of children) {
    view.setUint16(at, RTA_HDRLEN + child.data.length, HOST_LITTLE_ENDIAN);
    view.setUint16(at + 2, child.type, HOST_LITTLE_ENDIAN);
    data.set(child.data, at + RTA_HDRLEN);
    at += align(RTA_HDRLEN + child.data.length);
  }
  return { type, data };
}

/** An attribute carrying raw bytes (addresses, in network order). */
export function bytesAttribute(type: number, value: Uint8Array): Attribute {
  return { type, data: value };
}

/**
 * Encodes a request as one netlink message: header, family header, then
 * each attribute, every part padded to 4 bytes. The port id is 0 (the kernel).
 */
export function encodeRequest(request: NetlinkRequest, seq: number): Uint8Array {
  let length = NLMSG_HDRLEN + align(request.header.length);
  for (const attribute of request.attributes) length += align(RTA_HDRLEN + attribute.data.length);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, length, HOST_LITTLE_ENDIAN);
  view.setUint16(4, request.type, HOST_LITTLE_ENDIAN);
  view.setUint16(6, request.flags, HOST_LITTLE_ENDIAN);
  view.setUint32(8, seq >>> 0, HOST_LITTLE_ENDIAN);
  view.setUint32(12, 0, HOST_LITTLE_ENDIAN);
  bytes.set(request.header, NLMSG_HDRLEN);
  let offset = NLMSG_HDRLEN + align(request.header.length);
  for (const attribute of request.attributes) {
    view.setUint16(offset, RTA_HDRLEN + attribute.data.length, HOST_LITTLE_ENDIAN);
    view.setUint16(offset + 2, attribute.type, HOST_LITTLE_ENDIAN);
    bytes.set(attribute.data, offset + RTA_HDRLEN);
    offset += align(RTA_HDRLEN + attribute.data.length);
  }
  return bytes;
}

/**
 * Splits one datagram into its messages. Throws a `RangeError` when a
 * header's length does not fit the datagram.
 */
export function decodeMessages(datagram: Uint8Array): NetlinkMessage[] {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const length = view.getUint32(offset, HOST_LITTLE_ENDIAN);
    if (length < NLMSG_HDRLEN || offset + length > datagram.length) {
      throw new RangeError(
        `Cannot read a netlink reply: a message at byte ${offset} claims ${length} bytes of ${
          datagram.length - offset
        } left`,
      );
    }
    messages.push({
      type: view.getUint16(offset + 4, HOST_LITTLE_ENDIAN),
      flags: view.getUint16(offset + 6, HOST_LITTLE_ENDIAN),
      seq: view.getUint32(offset + 8, HOST_LITTLE_ENDIAN),
      pid: view.getUint32(offset + 12, HOST_LITTLE_ENDIAN),
      payload: datagram.subarray(offset + NLMSG_HDRLEN, offset + length),
    });
    offset += align(length);
  }
  return messages;
}

/**
 * Reads the attributes that follow a family header, keyed by type (flag bits
 * cleared). When a type repeats, the last one wins, as in the kernel's
 * `nla_parse`. Truncated trailing bytes are ignored.
 */
export function decodeAttributes(bytes: Uint8Array): Map<number, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const attributes = new Map<number, Uint8Array>();
  let offset = 0;
  while (offset + RTA_HDRLEN <= bytes.length) {
    const length = view.getUint16(offset, HOST_LITTLE_ENDIAN);
    if (length < RTA_HDRLEN || offset + length > bytes.length) break;
    const type = view.getUint16(offset + 2, HOST_LITTLE_ENDIAN) & NLA_TYPE_MASK;
    attributes.set(type, bytes.subarray(offset + RTA_HDRLEN, offset + length));
    offset += align(length);
  }
  return attributes;
}

/** Reads a 32-bit host-order integer attribute; undefined when absent or short. */
export function readU32(data: Uint8Array | undefined): number | undefined {
  if (data === undefined || data.length < 4) return undefined;
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0, HOST_LITTLE_ENDIAN);
}

/** Reads a NUL-terminated string attribute; undefined when absent. */
export function readString(data: Uint8Array | undefined): string | undefined {
  if (data === undefined) return undefined;
  const end = data.indexOf(0);
  return new TextDecoder().decode(end < 0 ? data : data.subarray(0, end));
}

/** A DataView over a message's payload, for the family header's fields. */
export function payloadView(payload: Uint8Array): DataView {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
}
