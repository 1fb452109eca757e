/**
 * The one builder of hand-made IP packets for tests: what the core tests
 * seal, what the data path tests send through the loop, what the cage tests
 * write into the TUN; and a decoder for the UDP packets a test reads back.
 *
 * Addresses are written as tests think of them: `"10.0.0.1"` or
 * `[10, 0, 0, 1]` for IPv4, 16 bytes for IPv6.
 *
 * @module
 */

/** An IPv4 address: dotted quad or its 4 bytes. */
export type Ipv4 = string | readonly number[] | Uint8Array;

/** IP protocol number of UDP. */
export const UDP = 17;

function ipv4Bytes(a: Ipv4): readonly number[] | Uint8Array {
  return typeof a === "string" ? a.split(".").map(Number) : a;
}

/** The Internet checksum (RFC 1071) of `b`. */
function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** UTF-8 bytes of `s`, for payloads. */
export function text(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s);
}

/**
 * An IPv4 packet (20-byte header, TTL 64, header checksum set) carrying
 * `payload` as protocol `protocol` (UDP unless told): the payload is taken
 * as it is, so `ipv4(src, dst, text("x"))` is 21 bytes.
 */
export function ipv4(
  src: Ipv4,
  dst: Ipv4,
  payload: Uint8Array,
  protocol = UDP,
): Uint8Array<ArrayBuffer> {
  const p = new Uint8Array(20 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  p[8] = 64; // TTL
  p[9] = protocol;
  p.set(ipv4Bytes(src), 12);
  p.set(ipv4Bytes(dst), 16);
  v.setUint16(10, checksum(p.subarray(0, 20)));
  p.set(payload, 20);
  return p;
}

/** An IPv6 packet (hop limit 64, no extension headers) carrying `payload` as `nextHeader`. */
export function ipv6(
  src: Uint8Array,
  dst: Uint8Array,
  payload: Uint8Array,
  nextHeader = UDP,
): Uint8Array<ArrayBuffer> {
  const p = new Uint8Array(40 + payload.length);
  p[0] = 0x60;
  new DataView(p.buffer).setUint16(4, payload.length);
  p[6] = nextHeader;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  p.set(payload, 40);
  return p;
}

/** A UDP header and `payload` (checksum 0: none, which IPv4 allows). */
export function udp(srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const d = new Uint8Array(8 + payload.length);
  const v = new DataView(d.buffer);
  v.setUint16(0, srcPort);
  v.setUint16(2, dstPort);
  v.setUint16(4, d.length);
  d.set(payload, 8);
  return d;
}

/** An IPv4/UDP packet. */
export function udp4Packet(
  src: Ipv4,
  dst: Ipv4,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
): Uint8Array<ArrayBuffer> {
  return ipv4(src, dst, udp(srcPort, dstPort, payload));
}

/** The UDP datagram inside an IPv4 or IPv6 packet, if it is one. */
export interface UdpView {
  readonly family: 4 | 6;
  readonly dstPort: number;
  readonly dst: string;
  readonly payload: Uint8Array;
}

/** Decodes a UDP packet (no IPv6 extension headers); undefined for anything else. */
export function parseUdp(p: Uint8Array): UdpView | undefined {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (p[0] >> 4 === 4 && p[9] === UDP) {
    const ihl = (p[0] & 15) * 4;
    return {
      family: 4,
      dst: Array.from(p.subarray(16, 20)).join("."),
      dstPort: v.getUint16(ihl + 2),
      payload: p.subarray(ihl + 8, v.getUint16(2)),
    };
  }
  if (p[0] >> 4 === 6 && p[6] === UDP) {
    const words = [];
    for (let i = 0; i < 8; i++) words.push(v.getUint16(24 + 2 * i).toString(16));
    return {
      family: 6,
      dst: words.join(":"),
      dstPort: v.getUint16(42),
      payload: p.subarray(48, 40 + v.getUint16(4)),
    };
  }
  return undefined;
}
