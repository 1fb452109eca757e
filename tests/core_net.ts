/**
 * Two (or more) WireGuard devices wired together in memory for the core
 * tests: each device has an outbound, an inbound and a control batch; the
 * in-memory network (testdata/memory_net.ts) carries every packet the core
 * addresses to an endpoint to the device that owns that endpoint, with the
 * sender's endpoint as source. Time is a number the test moves.
 *
 * @module
 */

import { Batch, type Endpoint, WgDevice } from "../src/wg/device.ts";
import { HEADROOM, Op } from "../src/wg/abi.ts";
import { loopback, MemoryNetwork, sameEndpoint } from "../testdata/memory_net.ts";

export const WALL0 = 1_700_000_000_000;
export const SLOT = 2048;

/** A deterministic entropy source, so that failures reproduce. */
export function seededEntropy(seed: number): (buf: Uint8Array) => void {
  let x = seed >>> 0 || 1;
  return (buf) => {
    for (let i = 0; i < buf.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf[i] = x & 0xFF;
    }
  };
}

/** What a device produced for one slot. */
export interface Out {
  op: number;
  reason: number;
  peer: number | undefined;
  bytes: Uint8Array;
  endpoint: Endpoint | undefined;
}

/** One device on the in-memory network. */
export class Node {
  readonly dev: WgDevice;
  readonly ep: Endpoint;
  readonly out: Batch;
  readonly inb: Batch;
  readonly control: Batch;
  /** IP packets this node's TUN received. */
  readonly tun: Uint8Array[] = [];

  constructor(dev: WgDevice, ep: Endpoint) {
    this.dev = dev;
    this.ep = ep;
    this.out = dev.batch(16, SLOT);
    this.inb = dev.batch(16, SLOT);
    this.control = dev.batch(16, SLOT);
  }

  static async create(seed: number, ep: Endpoint): Promise<Node> {
    const dev = await WgDevice.create({ entropy: seededEntropy(seed) });
    const key = new Uint8Array(32);
    seededEntropy(seed * 7919)(key);
    dev.setPrivateKey(key);
    return new Node(dev, ep);
  }

  /** Seals IP packets; returns what came out of each slot. */
  encrypt(packets: Uint8Array[], now: number): Out[] {
    packets.forEach((p, i) => this.out.setPacket(i, p, HEADROOM));
    this.out.encrypt(now, WALL0 + now, packets.length);
    return read(this.out, packets.length);
  }

  /** Opens datagrams that came from `from`. */
  decrypt(datagrams: Uint8Array[], from: Endpoint, now: number): Out[] {
    datagrams.forEach((d, i) => {
      this.inb.setPacket(i, d, 0);
      this.inb.setEndpoint(i, from);
    });
    this.inb.decrypt(now, WALL0 + now, datagrams.length);
    return read(this.inb, datagrams.length);
  }

  poll(now: number): Out[] {
    const all: Out[] = [];
    for (;;) {
      const n = this.control.poll(now, WALL0 + now);
      all.push(...read(this.control, n));
      if (n < this.control.count) return all;
    }
  }
}

function read(batch: Batch, n: number): Out[] {
  const out: Out[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      op: batch.op(i),
      reason: batch.reason(i),
      peer: batch.peer(i),
      bytes: batch.packet(i).slice(),
      endpoint: batch.endpoint(i),
    });
  }
  return out;
}

/** Nodes that reach each other by endpoint, over a {@linkcode MemoryNetwork}. */
export class Net {
  readonly nodes: Node[] = [];
  readonly network = new MemoryNetwork();
  /** When set, datagrams are dropped instead of delivered. */
  drop: (from: Node, to: Node, bytes: Uint8Array) => boolean = () => false;

  constructor() {
    this.network.drop = (d) => this.drop(this.find(d.from)!, this.find(d.to)!, d.bytes);
  }

  add(node: Node): Node {
    this.nodes.push(node);
    this.network.attach(node.ep);
    return node;
  }

  find(ep: Endpoint | undefined): Node | undefined {
    return this.nodes.find((n) => sameEndpoint(n.ep, ep));
  }

  /** Every datagram sent, for tests that replay or mutate them. */
  get wire(): { from: Node; to: Node; bytes: Uint8Array }[] {
    return this.network.wire.map((d) => ({
      from: this.find(d.from)!,
      to: this.find(d.to)!,
      bytes: d.bytes,
    }));
  }

  /** Puts what `from` produced for the network on it. */
  #send(from: Node, outs: readonly Out[]): void {
    for (const out of outs) {
      if (out.op === Op.Network && out.endpoint) {
        this.network.send(from.ep, out.endpoint, out.bytes);
      }
    }
  }

  /**
   * Delivers `first` (sent by `from`), then everything it causes, polling
   * every node until the network is quiet.
   */
  pump(from: Node | undefined, first: Out[], now: number): void {
    if (from) this.#send(from, first);
    for (let rounds = 0; rounds < 100; rounds++) {
      for (let d; (d = this.network.receive()) !== undefined;) {
        const to = this.find(d.to)!;
        const [r] = to.decrypt([d.bytes], d.from, now);
        if (r.op === Op.Tun) to.tun.push(r.bytes);
        this.#send(to, [r]);
      }
      let polled = 0;
      for (const node of this.nodes) {
        const outs = node.poll(now);
        polled += outs.length;
        this.#send(node, outs);
      }
      if (polled === 0) return;
    }
    throw new Error("Cannot settle the network: packets still moving after 100 rounds");
  }
}

/** Two nodes, A (10.0.0.1) and B (10.0.0.2), each the other's only peer (id 0). */
export async function pair(
  opts: { pskA?: Uint8Array; pskB?: Uint8Array; keepaliveA?: number } = {},
): Promise<{ net: Net; a: Node; b: Node }> {
  const net = new Net();
  const a = net.add(await Node.create(1, loopback(1, 1000)));
  const b = net.add(await Node.create(2, loopback(2, 2000)));
  const v4 = (last: number) => ({
    family: 4 as const,
    address: new Uint8Array([10, 0, 0, last]),
    prefix: 32,
  });
  a.dev.addPeer({
    publicKey: b.dev.publicKey(),
    presharedKey: opts.pskA,
    keepalive: opts.keepaliveA ?? 0,
    allowedIps: [v4(2)],
  });
  b.dev.addPeer({
    publicKey: a.dev.publicKey(),
    presharedKey: opts.pskB,
    keepalive: 0,
    allowedIps: [v4(1)],
  });
  a.dev.setEndpoint(0, b.ep);
  b.dev.setEndpoint(0, a.ep);
  return { net, a, b };
}

export const A_IP = [10, 0, 0, 1];
export const B_IP = [10, 0, 0, 2];
