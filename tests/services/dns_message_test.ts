import {
  buildQuery,
  buildResponse,
  buildTable,
  DnsFormatError,
  lookup,
  parseIpv6,
  parseQuery,
  Rcode,
  RecordType,
} from "./dns_message.ts";

function assertEquals<T>(actual: T, expected: T, what = ""): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what} expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const table = buildTable([
  "peer.wgcage.test=10.99.0.1",
  "Peer.Wgcage.Test.=fd99::1",
  "v4only.test=10.99.0.9",
]);

Deno.test("a query's id, flags and question parse, names lower-cased", () => {
  const query = parseQuery(buildQuery(0x1234, "PEER.wgcage.test", RecordType.AAAA));
  assertEquals(query.id, 0x1234);
  assertEquals(query.opcode, 0);
  assertEquals(query.questions.map((q) => [q.name, q.type, q.qclass]), [[
    "peer.wgcage.test",
    28,
    1,
  ]]);
});

Deno.test("A and AAAA come from the table, other types get no data, unknown names NXDOMAIN", () => {
  const ask = (name: string, type: number) =>
    lookup(table, parseQuery(buildQuery(1, name, type)).questions[0]);
  assertEquals(ask("peer.wgcage.test", RecordType.A), {
    rcode: Rcode.NoError,
    addresses: [Uint8Array.of(10, 99, 0, 1)],
  });
  assertEquals(ask("peer.wgcage.test", RecordType.AAAA).addresses[0], parseIpv6("fd99::1"));
  assertEquals(ask("v4only.test", RecordType.AAAA), { rcode: Rcode.NoError, addresses: [] });
  assertEquals(ask("peer.wgcage.test", RecordType.TXT), { rcode: Rcode.NoError, addresses: [] });
  assertEquals(ask("other.test", RecordType.A).rcode, Rcode.NxDomain);
});

Deno.test("a response echoes id, RD and the question, and carries one record per address", () => {
  const query = parseQuery(buildQuery(0xbeef, "peer.wgcage.test", RecordType.A));
  const bytes = buildResponse(query, Rcode.NoError, [Uint8Array.of(10, 99, 0, 1)], 30);
  const view = new DataView(bytes.buffer);
  assertEquals(view.getUint16(0), 0xbeef);
  assertEquals(view.getUint16(2), 0x8500); // QR, AA, RD, NOERROR
  assertEquals([view.getUint16(4), view.getUint16(6), view.getUint16(8)], [1, 1, 0]);
  const question = query.questions[0].wire;
  assertEquals([...bytes.subarray(12, 12 + question.length)], [...question]);
  const answer = bytes.subarray(12 + question.length);
  assertEquals([...answer], [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 99, 0, 1]);
  const nx = buildResponse(query, Rcode.NxDomain, []);
  assertEquals([new DataView(nx.buffer).getUint16(2) & 0xf, nx.length], [3, 12 + question.length]);
});

Deno.test("compressed names are followed and loops, responses and short messages rejected", () => {
  // The question's name is a pointer to "a.test" written after the question.
  const fixed = Uint8Array.from([
    ...[0, 7, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0], // header: RD, one question
    ...[0xc0, 18, 0, 1, 0, 1], // name at offset 18, type A, class IN
    ...[1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0], // offset 18: "a.test"
  ]);
  assertEquals(parseQuery(fixed).questions[0].name, "a.test");
  const loop = Uint8Array.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  const response = buildQuery(1, "a.test", 1);
  response[2] |= 0x80;
  for (const bad of [loop, response, Uint8Array.of(1, 2, 3)]) {
    let threw = false;
    try {
      parseQuery(bad);
    } catch (e) {
      threw = e instanceof DnsFormatError;
    }
    if (!threw) throw new Error(`accepted ${[...bad]}`);
  }
});

Deno.test("IPv6 text parses with and without '::' and bad text is refused", () => {
  assertEquals([...parseIpv6("fd99::1")!], [0xfd, 0x99, ...Array(13).fill(0), 1]);
  assertEquals([...parseIpv6("::")!], Array(16).fill(0));
  assertEquals(parseIpv6("1:2:3:4:5:6:7:8")![15], 8);
  for (const bad of ["1::2::3", "1:2:3", "fd99::g", "1:2:3:4:5:6:7:8::"]) {
    if (parseIpv6(bad) !== undefined) throw new Error(`accepted ${bad}`);
  }
  let message = "";
  try {
    buildTable(["noequals"]);
  } catch (e) {
    message = String(e);
  }
  if (!message.includes("name=IPv4")) throw new Error(`bad entry accepted: ${message}`);
});
