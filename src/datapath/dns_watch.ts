/**
 * `-v` names a DNS server that does not answer: the cage's resolv.conf makes
 * glibc give up on a silent server after `timeout:2 attempts:2`, so a lookup
 * fails in seconds, but nothing would say which server stayed silent (a
 * wrong `DNS =`, a peer that does not forward it). This watches the UDP
 * packets to and from port 53 that cross the tunnel, in both directions, and
 * says once per silence: a query to a server that got no answer from it
 * within {@linkcode SILENCE_MS}, and again when it answers later.
 *
 * Every server the cage's programs ask is watched (a `dig @ADDR` too), not
 * only the config's: the tunnel is where their packets are seen, whatever
 * resolv.conf says. Only `-v` pays for it, one look at each packet's header.
 *
 * @example
 * ```ts
 * import { DnsWatch } from "./dns_watch.ts";
 * const lines: string[] = [];
 * const watch = new DnsWatch((line) => lines.push(line));
 * // An IPv4 UDP packet from 10.0.0.2:40000 to 10.0.0.53:53.
 * const query = new Uint8Array(28);
 * query.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 53]);
 * query.set([0x9c, 0x40, 0, 53], 20);
 * watch.outbound(query, 0);
 * watch.check(3000);
 * console.assert(lines[0].startsWith("DNS server 10.0.0.53 has not answered"));
 * ```
 *
 * @module
 */

import { formatIp } from "../config/ip.ts";
import { DESC_LEN, DESC_OFFSET, DESC_OP, DESC_WORDS, Op } from "../wg/abi.ts";
import type { MemoryBatch } from "./launcher_io.ts";

/** How long a query waits for its server's answer before -v names the server. */
export const SILENCE_MS = 2000;
/** Servers watched at once: a command that asks thousands of addresses costs no more. */
const MAX_SERVERS = 32;
const UDP = 17;
const DNS_PORT = 53;

interface Server {
  /** Monotonic ms of the oldest query since the server's last answer; undefined when none waits. */
  waitingSince: number | undefined;
  /** Whether -v said that it is silent (and has not answered since). */
  reported: boolean;
}

/**
 * Where a UDP packet's header starts, or -1 for anything else. A number, not
 * an object: every UDP packet of a `-v` run comes through here, and only
 * those to or from port 53 need their addresses as text ({@linkcode addressOf}).
 */
function udpOffset(p: Uint8Array): number {
  const version = p[0] >> 4;
  if (version === 4 && p.length >= 28) {
    const ihl = (p[0] & 0x0f) * 4;
    // Only a first fragment carries the UDP header.
    const fragmentOffset = ((p[6] & 0x1f) << 8) | p[7];
    if (p[9] !== UDP || ihl < 20 || fragmentOffset !== 0 || p.length < ihl + 8) return -1;
    return ihl;
  }
  // IPv6 with UDP right after the fixed header (a DNS query carries no extension header).
  if (version === 6 && p.length >= 48 && p[6] === UDP) return 40;
  return -1;
}

/** A packet's source or destination address as text (of a packet udpOffset took). */
function addressOf(p: Uint8Array, which: "src" | "dst"): string {
  const length = p[0] >> 4 === 4 ? 4 : 16;
  const at = (length === 4 ? 12 : 8) + (which === "dst" ? length : 0);
  return formatIp(p.subarray(at, at + length));
}

export class DnsWatch {
  readonly #log: (line: string) => void;
  readonly #servers = new Map<string, Server>();

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /** An IP packet the cage sent into the tunnel, at monotonic time `now`. */
  outbound(packet: Uint8Array, now: number): void {
    const udp = udpOffset(packet);
    if (udp < 0 || ((packet[udp + 2] << 8) | packet[udp + 3]) !== DNS_PORT) return;
    const dst = addressOf(packet, "dst");
    let server = this.#servers.get(dst);
    if (server === undefined) {
      if (this.#servers.size >= MAX_SERVERS) return;
      server = { waitingSince: undefined, reported: false };
      this.#servers.set(dst, server);
    }
    server.waitingSince ??= now;
  }

  /** An IP packet the tunnel brought for the cage. */
  inbound(packet: Uint8Array): void {
    const udp = udpOffset(packet);
    if (udp < 0 || ((packet[udp] << 8) | packet[udp + 1]) !== DNS_PORT) return;
    const src = addressOf(packet, "src");
    const server = this.#servers.get(src);
    if (server === undefined) return;
    server.waitingSince = undefined;
    if (server.reported) {
      server.reported = false;
      this.#log(`DNS server ${src} answers again`);
    }
  }

  /** The first `n` packets of a batch read from the TUN, before the core seals them. */
  outboundBatch(batch: MemoryBatch, n: number, now: number): void {
    this.#each(batch, n, false, (p) => this.outbound(p, now));
  }

  /** The first `n` slots of a batch the core opened: the packets it hands to the TUN. */
  inboundBatch(batch: MemoryBatch, n: number): void {
    this.#each(batch, n, true, (p) => this.inbound(p));
  }

  #each(batch: MemoryBatch, n: number, tunOnly: boolean, f: (p: Uint8Array) => void): void {
    const slots = batch.slotsPointerView();
    const desc = batch.descView();
    for (let i = 0, d = 0; i < n; i++, d += DESC_WORDS) {
      if (tunOnly && desc[d + DESC_OP] !== Op.Tun) continue;
      const start = i * batch.slotSize + desc[d + DESC_OFFSET];
      const end = Math.min(start + desc[d + DESC_LEN], (i + 1) * batch.slotSize);
      f(slots.subarray(start, end));
    }
  }

  /** Names each server whose oldest waiting query is {@linkcode SILENCE_MS} old, once. */
  check(now: number): void {
    for (const [address, server] of this.#servers) {
      if (server.reported || server.waitingSince === undefined) continue;
      if (now - server.waitingSince < SILENCE_MS) continue;
      server.reported = true;
      this.#log(
        `DNS server ${address} has not answered for ${SILENCE_MS / 1000} s; the cage's ` +
          "lookups to it fail (check DNS = and that the peer reaches that server)",
      );
    }
  }
}
