import { describePacket, EtherType, IpProtocol, isLinkChatter, parsePcap } from "./pcap.ts";

function assertEquals<T>(actual: T, expected: T, what = ""): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what} expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** A pcap file with the given frames, little- or big-endian, micro- or nanoseconds. */
function pcapFile(frames: Uint8Array[], little: boolean, nanos: boolean, linkType = 1) {
  const parts: Uint8Array[] = [];
  const header = new DataView(new ArrayBuffer(24));
  header.setUint32(0, nanos ? 0xa1b23c4d : 0xa1b2c3d4, little);
  header.setUint16(4, 2, little);
  header.setUint16(6, 4, little);
  header.setUint32(16, 262144, little);
  header.setUint32(20, linkType, little);
  parts.push(new Uint8Array(header.buffer));
  frames.forEach((frame, i) => {
    const record = new DataView(new ArrayBuffer(16));
    record.setUint32(0, 1_700_000_000 + i, little);
    record.setUint32(4, nanos ? 500_000_000 : 500_000, little);
    record.setUint32(8, frame.length, little);
    record.setUint32(12, frame.length + 100, little);
    parts.push(new Uint8Array(record.buffer), frame);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function ethernet(etherType: number, payload: number[]): Uint8Array {
  return Uint8Array.from([...Array(12).fill(0x02), etherType >> 8, etherType & 0xff, ...payload]);
}

const ipv4Udp = [
  0x45,
  0,
  0,
  36,
  0,
  0,
  0x40,
  0,
  64,
  17,
  0,
  0, // version/IHL … protocol 17
  198,
  18,
  1,
  2,
  198,
  18,
  1,
  1, // src, dst
  0xc3,
  0x50,
  0xca,
  0x6c,
  0,
  16,
  0,
  0, // UDP 50000 -> 51820, length 16
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8, // payload
];

const v6 = (last: number) => [0xfd, 0x18, ...Array(13).fill(0), last];

const ipv6Tcp = [
  0x60,
  0,
  0,
  0,
  0,
  20,
  6,
  64, // next header TCP
  ...v6(2),
  ...v6(1),
  0x1f,
  0x90,
  0xd4,
  0x31,
  0,
  0,
  0,
  1,
  0,
  0,
  0,
  0,
  0x50,
  0x02,
  0xff,
  0xff,
  0,
  0,
  0,
  0,
];

// MLDv2 report: hop-by-hop options header, then ICMPv6 type 143.
const ipv6Mld = [
  0x60,
  0,
  0,
  0,
  0,
  12,
  0,
  1, // next header hop-by-hop
  0xfe,
  0x80,
  ...Array(13).fill(0),
  1,
  0xff,
  0x02,
  ...Array(13).fill(0),
  0x16,
  58,
  0,
  5,
  2,
  0,
  0,
  1,
  0, // hop-by-hop: next ICMPv6, length 0 (8 bytes)
  143,
  0,
  0,
  0,
];

Deno.test("pcap records decode to family, protocol, addresses and ports in every byte order", () => {
  for (const little of [true, false]) {
    for (const nanos of [true, false]) {
      const file = pcapFile(
        [
          ethernet(EtherType.IPv4, ipv4Udp),
          ethernet(EtherType.IPv6, ipv6Tcp),
          ethernet(EtherType.Arp, Array(28).fill(0)),
          ethernet(EtherType.IPv6, ipv6Mld),
        ],
        little,
        nanos,
      );
      const [udp, tcp, arp, mld] = parsePcap(file);
      const what = `little=${little} nanos=${nanos}`;
      assertEquals(udp.time, 1_700_000_000.5, what);
      assertEquals(udp.originalLength, ipv4Udp.length + 14 + 100, what);
      assertEquals(
        [udp.family, udp.protocol, udp.src, udp.dst, udp.srcPort, udp.dstPort, udp.payloadLength],
        [4, IpProtocol.Udp, "198.18.1.2", "198.18.1.1", 50000, 51820, 8],
        what,
      );
      assertEquals(
        [tcp.family, tcp.protocol, tcp.src, tcp.dst, tcp.srcPort, tcp.dstPort],
        [6, IpProtocol.Tcp, "fd18::2", "fd18::1", 8080, 54321],
        what,
      );
      assertEquals([arp.etherType, arp.family], [EtherType.Arp, undefined], what);
      assertEquals([mld.protocol, mld.icmpType], [IpProtocol.Icmpv6, 143], what);
      assertEquals([isLinkChatter(udp), isLinkChatter(arp), isLinkChatter(mld)], [
        false,
        true,
        true,
      ]);
    }
  }
});

Deno.test("raw-IP pcap files decode without a link header", () => {
  const [packet] = parsePcap(pcapFile([Uint8Array.from(ipv4Udp)], true, false, 101));
  assertEquals(describePacket(packet), "ipv4 udp 198.18.1.2:50000 > 198.18.1.1:51820");
});

Deno.test("truncated files, unknown magic and unknown link types are rejected", () => {
  const good = pcapFile([ethernet(EtherType.IPv4, ipv4Udp)], true, false);
  const cases: [Uint8Array, string][] = [
    [good.subarray(0, 10), "shorter than its header"],
    [good.subarray(0, good.length - 1), "cut off"],
    [Uint8Array.from([0x0a, 0x0d, 0x0d, 0x0a, ...good.subarray(4)]), "pcapng"],
    [pcapFile([Uint8Array.of(1)], true, false, 147), "link type 147"],
  ];
  for (const [bytes, message] of cases) {
    let error = "";
    try {
      parsePcap(bytes);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    if (!error.includes(message)) throw new Error(`expected "${message}", got "${error}"`);
  }
});
