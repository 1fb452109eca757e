/**
 * The one in-memory network for tests: UDP endpoints that pass datagrams to
 * each other, first sent first delivered, and for each device the TUN side
 * its command would see. The core tests deliver each datagram to a device
 * themselves (tests/core_net.ts); the data path tests run the real loop on
 * {@linkcode MemoryIo}, the loop's TUN and UDP socket in memory.
 *
 * @module
 */

import type { PacketIo } from "../src/datapath/loop.ts";
import type { Batch, Endpoint } from "../src/wg/device.ts";
import { Op } from "../src/wg/abi.ts";

/** One datagram between two endpoints. */
export interface Datagram {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly bytes: Uint8Array;
}

function key(ep: Endpoint): string {
  return `${ep.family}/${ep.address.join(".")}/${ep.port}`;
}

/** Whether two endpoints are the same address and port. */
export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  if (!a || !b) return a === b;
  return key(a) === key(b);
}

/** The IPv4 loopback endpoint 127.0.0.`last`:`port`. */
export function loopback(last: number, port: number): Endpoint {
  return { family: 4, port, scopeId: 0, address: new Uint8Array([127, 0, 0, last]) };
}

export class MemoryNetwork {
  /** Every datagram sent to an endpoint on the network, dropped ones too, in order. */
  readonly wire: Datagram[] = [];
  /** When it returns true for a datagram, the datagram is lost (it is still on the wire). */
  drop: (datagram: Datagram) => boolean = () => false;
  readonly #endpoints = new Set<string>();
  readonly #inFlight: Datagram[] = [];

  /** Puts an endpoint on the network; datagrams to endpoints not on it go nowhere. */
  attach(ep: Endpoint): void {
    this.#endpoints.add(key(ep));
  }

  send(from: Endpoint, to: Endpoint, bytes: Uint8Array): void {
    if (!this.#endpoints.has(key(to))) return;
    const datagram = { from, to, bytes };
    this.wire.push(datagram);
    if (!this.drop(datagram)) this.#inFlight.push(datagram);
  }

  /** Takes the oldest datagram in flight to `at`, or to anyone when `at` is not given. */
  receive(at?: Endpoint): Datagram | undefined {
    const i = at === undefined ? 0 : this.#inFlight.findIndex((d) => sameEndpoint(d.to, at));
    return i < 0 || i >= this.#inFlight.length ? undefined : this.#inFlight.splice(i, 1)[0];
  }
}

/**
 * A device's TUN and UDP socket in memory, for the data path loop: the
 * command's packets go in `fromCommand`, and what the loop writes to the TUN
 * comes out in `toCommand`.
 */
export class MemoryIo implements PacketIo<Batch> {
  readonly fromCommand: Uint8Array[] = [];
  readonly toCommand: Uint8Array[] = [];
  readonly net: MemoryNetwork;
  readonly ep: Endpoint;

  constructor(net: MemoryNetwork, ep: Endpoint) {
    this.net = net;
    this.ep = ep;
    net.attach(ep);
  }

  readTun(b: Batch): number {
    const n = Math.min(this.fromCommand.length, b.count);
    for (let i = 0; i < n; i++) b.setPacket(i, this.fromCommand.shift()!);
    return n;
  }

  writeTun(b: Batch, n: number): void {
    for (let i = 0; i < n; i++) if (b.op(i) === Op.Tun) this.toCommand.push(b.packet(i).slice());
  }

  recvUdp(b: Batch): number {
    let n = 0;
    for (let d; n < b.count && (d = this.net.receive(this.ep)) !== undefined; n++) {
      b.setPacket(n, d.bytes, 0);
      b.setEndpoint(n, d.from);
    }
    return n;
  }

  sendUdp(b: Batch, n: number): void {
    for (let i = 0; i < n; i++) {
      if (b.op(i) !== Op.Network) continue;
      const to = b.endpoint(i);
      if (!to) throw new Error(`slot ${i} is to be sent but has no endpoint`);
      this.net.send(this.ep, to, b.packet(i).slice());
    }
  }

  wait(timeoutMs: number): Promise<void> {
    return new Promise((r) => setTimeout(r, Math.min(timeoutMs, 2)));
  }

  wake(): void {}
}
