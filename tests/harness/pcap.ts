/**
 * A reader for classic pcap files (what `tcpdump -w` writes) that reduces
 * each packet to what a leak test asks: which IP family, protocol, addresses
 * and ports it carried.
 *
 * File layout: a 24-byte global header (magic, version, snaplen, link type),
 * then records of a 16-byte header (seconds, sub-seconds, captured length,
 * original length) followed by the captured bytes. The magic tells byte
 * order and whether sub-seconds are micro- or nanoseconds.
 *
 * @module
 */

import { formatIp } from "../../src/config/ip.ts";

/** Link types we decode (values from the pcap LINKTYPE registry). */
export const LinkType = {
  Ethernet: 1,
  Raw: 101,
  LinuxSll: 113,
  LinuxSll2: 276,
} as const;

/** EtherType values we name. */
export const EtherType = {
  IPv4: 0x0800,
  Arp: 0x0806,
  Vlan: 0x8100,
  IPv6: 0x86dd,
} as const;

/** IP protocol numbers we name. */
export const IpProtocol = {
  Icmp: 1,
  Tcp: 6,
  Udp: 17,
  Icmpv6: 58,
} as const;

/** One captured packet, decoded as far as the harness needs. */
export interface PcapPacket {
  /** Capture time, seconds since the epoch (fractional). */
  readonly time: number;
  /** Length on the wire. */
  readonly originalLength: number;
  /** EtherType, or undefined when the link type has none (raw IP). */
  readonly etherType?: number;
  /** 4 or 6 for IP packets. */
  readonly family?: 4 | 6;
  /** IP protocol number (after IPv6 extension headers). */
  readonly protocol?: number;
  readonly src?: string;
  readonly dst?: string;
  /** UDP/TCP ports. */
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** ICMP/ICMPv6 type. */
  readonly icmpType?: number;
  /** Length of the UDP/TCP payload as captured. */
  readonly payloadLength?: number;
}

/** Parses a whole pcap file. Throws RangeError on a malformed header or record. */
export function parsePcap(bytes: Uint8Array): PcapPacket[] {
  if (bytes.length < 24) throw new RangeError("Cannot parse pcap: shorter than its header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBE = view.getUint32(0, false);
  let little: boolean;
  let nanos: boolean;
  switch (magicBE) {
    case 0xa1b2c3d4:
      [little, nanos] = [false, false];
      break;
    case 0xd4c3b2a1:
      [little, nanos] = [true, false];
      break;
    case 0xa1b23c4d:
      [little, nanos] = [false, true];
      break;
    case 0x4d3cb2a1:
      [little, nanos] = [true, true];
      break;
    default:
      throw new RangeError(
        `Cannot parse pcap: unknown magic 0x${magicBE.toString(16)} (pcapng is not supported)`,
      );
  }
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const packets: PcapPacket[] = [];
  let at = 24;
  while (at < bytes.length) {
    if (at + 16 > bytes.length) throw new RangeError(`Cannot parse pcap: record at ${at} cut off`);
    const seconds = view.getUint32(at, little);
    const fraction = view.getUint32(at + 4, little);
    const captured = view.getUint32(at + 8, little);
    const original = view.getUint32(at + 12, little);
    at += 16;
    if (at + captured > bytes.length) {
      throw new RangeError(`Cannot parse pcap: record data at ${at} cut off`);
    }
    const time = seconds + fraction / (nanos ? 1e9 : 1e6);
    packets.push({
      time,
      originalLength: original,
      ...decodeLink(linkType, bytes.subarray(at, at + captured)),
    });
    at += captured;
  }
  return packets;
}

type Decoded = Omit<PcapPacket, "time" | "originalLength">;

function decodeLink(linkType: number, frame: Uint8Array): Decoded {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  switch (linkType) {
    case LinkType.Ethernet: {
      if (frame.length < 14) return {};
      let etherType = view.getUint16(12);
      let offset = 14;
      while (etherType === EtherType.Vlan && frame.length >= offset + 4) {
        etherType = view.getUint16(offset + 2);
        offset += 4;
      }
      return { etherType, ...decodeEtherPayload(etherType, frame.subarray(offset)) };
    }
    case LinkType.LinuxSll: {
      if (frame.length < 16) return {};
      const etherType = view.getUint16(14);
      return { etherType, ...decodeEtherPayload(etherType, frame.subarray(16)) };
    }
    case LinkType.LinuxSll2: {
      if (frame.length < 20) return {};
      const etherType = view.getUint16(0);
      return { etherType, ...decodeEtherPayload(etherType, frame.subarray(20)) };
    }
    case LinkType.Raw:
      return decodeIp(frame);
    default:
      throw new RangeError(`Cannot parse pcap: link type ${linkType} is not supported`);
  }
}

function decodeEtherPayload(etherType: number, payload: Uint8Array): Decoded {
  if (etherType === EtherType.IPv4 || etherType === EtherType.IPv6) return decodeIp(payload);
  return {};
}

/** Decodes an IPv4 or IPv6 packet (family from its version nibble). */
export function decodeIp(packet: Uint8Array): Decoded {
  if (packet.length < 1) return {};
  const version = packet[0] >> 4;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (version === 4) {
    if (packet.length < 20) return { family: 4 };
    const headerLength = (packet[0] & 0x0f) * 4;
    const protocol = packet[9];
    const fragmentOffset = view.getUint16(6) & 0x1fff;
    const base = {
      family: 4 as const,
      protocol,
      src: packet.subarray(12, 16).join("."),
      dst: packet.subarray(16, 20).join("."),
    };
    if (fragmentOffset !== 0) return base;
    return { ...base, ...decodeTransport(protocol, packet.subarray(headerLength)) };
  }
  if (version === 6) {
    if (packet.length < 40) return { family: 6 };
    let protocol = packet[6];
    let offset = 40;
    // Hop-by-hop, routing, destination options: skip to the upper layer.
    while ((protocol === 0 || protocol === 43 || protocol === 60) && packet.length >= offset + 8) {
      const next = packet[offset];
      offset += (packet[offset + 1] + 1) * 8;
      protocol = next;
    }
    const base = {
      family: 6 as const,
      protocol,
      src: formatIp(packet.subarray(8, 24)),
      dst: formatIp(packet.subarray(24, 40)),
    };
    if (protocol === 44) return base; // fragment header: ports only in the first; not needed
    return { ...base, ...decodeTransport(protocol, packet.subarray(offset)) };
  }
  return {};
}

function decodeTransport(protocol: number, segment: Uint8Array): Decoded {
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  if (protocol === IpProtocol.Udp && segment.length >= 8) {
    return {
      srcPort: view.getUint16(0),
      dstPort: view.getUint16(2),
      payloadLength: segment.length - 8,
    };
  }
  if (protocol === IpProtocol.Tcp && segment.length >= 20) {
    const dataOffset = (segment[12] >> 4) * 4;
    return {
      srcPort: view.getUint16(0),
      dstPort: view.getUint16(2),
      payloadLength: Math.max(0, segment.length - dataOffset),
    };
  }
  if ((protocol === IpProtocol.Icmp || protocol === IpProtocol.Icmpv6) && segment.length >= 1) {
    return { icmpType: segment[0] };
  }
  return {};
}

/** A one-line description of a packet, for assertion messages. */
export function describePacket(p: PcapPacket): string {
  if (p.family === undefined) {
    return `ethertype 0x${(p.etherType ?? 0).toString(16).padStart(4, "0")}`;
  }
  const names: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6" };
  const proto = names[p.protocol ?? -1] ?? `proto ${p.protocol}`;
  const port = (a?: string, port?: number) =>
    port === undefined ? a : p.family === 6 ? `[${a}]:${port}` : `${a}:${port}`;
  const type = p.icmpType !== undefined ? ` type ${p.icmpType}` : "";
  return `ipv${p.family} ${proto} ${port(p.src, p.srcPort)} > ${port(p.dst, p.dstPort)}${type}`;
}

/**
 * True for link-level chatter that any Ethernet link carries and that is not
 * traffic of a program: ARP, and ICMPv6 router/neighbour discovery and MLD.
 */
export function isLinkChatter(p: PcapPacket): boolean {
  if (p.etherType === EtherType.Arp) return true;
  if (p.family === 6 && p.protocol === IpProtocol.Icmpv6 && p.icmpType !== undefined) {
    return (p.icmpType >= 133 && p.icmpType <= 137) || p.icmpType === 143 ||
      (p.icmpType >= 130 && p.icmpType <= 132);
  }
  return false;
}

/**
 * Throws unless the capture holds something besides link chatter, and
 * nothing but UDP to or from WireGuard's `port`: all that may cross the wire
 * outside the tunnel. `nothing` is the message when the capture is empty.
 */
export function assertOnlyWireGuard(
  packets: readonly PcapPacket[],
  port: number,
  nothing = "the capture saw nothing",
): void {
  const traffic = packets.filter((p) => !isLinkChatter(p));
  const other = traffic.filter((p) =>
    !(p.protocol === 17 && (p.srcPort === port || p.dstPort === port))
  );
  if (traffic.length === 0) throw new Error(nothing);
  if (other.length !== 0) {
    throw new Error(
      `packets other than WireGuard UDP crossed the veth: ${
        other.slice(0, 5).map(describePacket).join("; ")
      }`,
    );
  }
}
