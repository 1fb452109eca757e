import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { ipv4, ipv6, parseUdp, text, udp4Packet } from "./packets.ts";

Deno.test("an IPv4/UDP packet has the right lengths and a header checksum that sums to zero", () => {
  const p = udp4Packet("10.8.0.9", [10, 7, 0, 2], 4444, 5555, text("cage-in"));
  strictEqual(p.length, 20 + 8 + 7);
  const v = new DataView(p.buffer);
  strictEqual(v.getUint16(2), p.length);
  strictEqual(v.getUint16(24), 8 + 7);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  strictEqual(sum, 0xffff);
  deepStrictEqual(parseUdp(p), {
    family: 4,
    dst: "10.7.0.2",
    dstPort: 5555,
    payload: text("cage-in"),
  });
});

Deno.test("ipv4 and ipv6 carry the payload as it is, after a 20- or 40-byte header", () => {
  strictEqual(ipv4([10, 0, 0, 1], [10, 0, 0, 2], text("abc")).length, 23);
  const v6 = ipv6(new Uint8Array(16), new Uint8Array(16).fill(1), text("six"));
  strictEqual(v6.length, 43);
  strictEqual(new DataView(v6.buffer).getUint16(4), 3);
  strictEqual(parseUdp(ipv4("10.0.0.1", "10.0.0.2", text("x"), 6)), undefined);
});
