/**
 * Hand-made IP packets for the cage tests: what a test writes into the TUN,
 * and a decoder for what it reads back.
 *
 * @module
 */

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Bytes of a hex string. */
export function fromHex(s: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function ipv4Bytes(a: string): number[] {
  return a.split(".").map(Number);
}

function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4/UDP packet (UDP checksum 0: none, allowed for IPv4). */
export function udp4Packet(
  src: string,
  dst: string,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const len = 20 + 8 + payload.length;
  const p = new Uint8Array(len);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, len);
  p[8] = 64; // TTL
  p[9] = 17; // UDP
  p.set(ipv4Bytes(src), 12);
  p.set(ipv4Bytes(dst), 16);
  v.setUint16(10, checksum(p.subarray(0, 20)));
  v.setUint16(20, srcPort);
  v.setUint16(22, dstPort);
  v.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  return p;
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
  if (p[0] >> 4 === 4 && p[9] === 17) {
    const ihl = (p[0] & 15) * 4;
    return {
      family: 4,
      dst: Array.from(p.subarray(16, 20)).join("."),
      dstPort: v.getUint16(ihl + 2),
      payload: p.subarray(ihl + 8, v.getUint16(2)),
    };
  }
  if (p[0] >> 4 === 6 && p[6] === 17) {
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
