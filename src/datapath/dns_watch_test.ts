import { deepStrictEqual } from "node:assert";
import { DnsWatch, SILENCE_MS } from "./dns_watch.ts";

/** An IPv4 UDP packet; `payload` bytes of zeros after the header. */
function udp4(src: number[], dst: number[], sport: number, dport: number): Uint8Array {
  const p = new Uint8Array(28 + 12);
  p.set([0x45, 0, 0, p.length, 0, 0, 0, 0, 64, 17, 0, 0, ...src, ...dst]);
  p.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], 20);
  return p;
}

/** An IPv6 UDP packet between fd00::2 and `last` (fd00::LAST). */
function udp6(toServer: boolean, last: number, sport: number, dport: number): Uint8Array {
  const p = new Uint8Array(48 + 12);
  p.set([0x60, 0, 0, 0, 0, 20, 17, 64]);
  const cage = [0xfd, 0, ...new Array(13).fill(0), 2];
  const server = [0xfd, 0, ...new Array(13).fill(0), last];
  p.set(toServer ? cage : server, 8);
  p.set(toServer ? server : cage, 24);
  p.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], 40);
  return p;
}

const CAGE = [10, 0, 0, 2];
const DEAD = [10, 0, 0, 53];
const LIVE = [10, 0, 0, 1];

Deno.test("DnsWatch names a server whose query waits 2 s, once, and says when it answers again", () => {
  const lines: string[] = [];
  const w = new DnsWatch((l) => lines.push(l));
  w.outbound(udp4(CAGE, DEAD, 40000, 53), 1000);
  w.outbound(udp4(CAGE, DEAD, 40001, 53), 1500);
  w.check(1000 + SILENCE_MS - 1);
  deepStrictEqual(lines.length, 0);
  w.check(1000 + SILENCE_MS);
  w.check(9000);
  deepStrictEqual(lines.length, 1);
  deepStrictEqual(lines[0].startsWith("DNS server 10.0.0.53 has not answered for 2 s"), true);
  w.inbound(udp4(DEAD, CAGE, 53, 40001));
  deepStrictEqual(lines[1], "DNS server 10.0.0.53 answers again");
  // A new silence is named again.
  w.outbound(udp4(CAGE, DEAD, 40002, 53), 10000);
  w.check(10000 + SILENCE_MS);
  deepStrictEqual(lines.length, 3);
});

Deno.test("DnsWatch: an answered server, other ports and other protocols say nothing", () => {
  const lines: string[] = [];
  const w = new DnsWatch((l) => lines.push(l));
  w.outbound(udp4(CAGE, LIVE, 40000, 53), 0);
  w.inbound(udp4(LIVE, CAGE, 53, 40000));
  w.outbound(udp4(CAGE, DEAD, 40000, 5353), 0);
  const tcp = udp4(CAGE, DEAD, 40000, 53);
  tcp[9] = 6;
  w.outbound(tcp, 0);
  // A later fragment has no UDP header where the ports would be.
  const fragment = udp4(CAGE, DEAD, 40000, 53);
  fragment[7] = 10;
  w.outbound(fragment, 0);
  w.check(60_000);
  deepStrictEqual(lines.length, 0);
});

Deno.test("DnsWatch watches IPv6 servers and names them as text", () => {
  const lines: string[] = [];
  const w = new DnsWatch((l) => lines.push(l));
  w.outbound(udp6(true, 0x53, 40000, 53), 0);
  w.outbound(udp6(true, 1, 40000, 53), 0);
  w.inbound(udp6(false, 1, 53, 40000));
  w.check(SILENCE_MS);
  deepStrictEqual(lines.length, 1);
  deepStrictEqual(lines[0].startsWith("DNS server fd00::53 has not answered"), true);
});
