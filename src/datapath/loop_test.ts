import { DataPath, type PacketIo } from "./loop.ts";
import { CoreAdapter } from "./core_adapter.ts";
import { systemClock } from "./clock.ts";
import { DropCounts } from "./drops.ts";
import { type Batch, WgDevice } from "../wg/device.ts";
import { parseCidr } from "../config/cidr.ts";
import { loopback, MemoryIo, MemoryNetwork } from "../../testdata/memory_net.ts";
import { udp4Packet } from "../../testdata/packets.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A minimal IPv4/UDP packet from `src` to `dst` carrying `payload`. */
function ipv4Udp(src: number[], dst: number[], payload: Uint8Array): Uint8Array {
  return udp4Packet(src, dst, 4000, 5000, payload);
}

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function makePath(device: WgDevice, io: MemoryIo): DataPath<Batch> {
  return new DataPath<Batch>({
    core: new CoreAdapter(device),
    io,
    clock: systemClock,
    batches: {
      outbound: device.batch(16, 1536),
      inbound: device.batch(16, 2048),
      control: device.batch(4, 1536),
    },
    onTurn: () => device.events(),
  });
}

Deno.test("the data path carries packets both ways between two devices through in-memory TUN and UDP", async () => {
  const a = await WgDevice.create();
  const b = await WgDevice.create();
  const keyA = crypto.getRandomValues(new Uint8Array(32));
  const keyB = crypto.getRandomValues(new Uint8Array(32));
  a.setPrivateKey(keyA);
  b.setPrivateKey(keyB);
  const peerB = a.addPeer({
    publicKey: b.publicKey(),
    keepalive: 0,
    allowedIps: [parseCidr("10.0.0.2/32")],
  });
  b.addPeer({ publicKey: a.publicKey(), keepalive: 0, allowedIps: [parseCidr("10.0.0.1/32")] });
  a.setEndpoint(peerB, loopback(1, 2));

  const net = new MemoryNetwork();
  const ioA = new MemoryIo(net, loopback(1, 1));
  const ioB = new MemoryIo(net, loopback(1, 2));
  const pathA = makePath(a, ioA);
  const pathB = makePath(b, ioB);
  const running = [pathA.start(), pathB.start()];
  try {
    const payloads = Array.from({ length: 400 }, (_, i) => new TextEncoder().encode(`packet ${i}`));
    const send = (from: number, to: number) => {
      for (const p of payloads.slice(from, to)) {
        ioA.fromCommand.push(ipv4Udp([10, 0, 0, 1], [10, 0, 0, 2], p));
      }
    };
    // The first 100 wait in the core for the handshake, within its limit of
    // 128 staged packets, however slowly the handshake goes; once they have
    // arrived the session exists and the rest go straight through.
    send(0, 100);
    await until(
      () => ioB.toCommand.length === 100,
      10_000,
      () => `100 staged packets to arrive (${ioB.toCommand.length} did)`,
    );
    send(100, payloads.length);
    await until(
      () => ioB.toCommand.length === payloads.length,
      10_000,
      () => `400 packets to arrive (${ioB.toCommand.length} did)`,
    );
    ioB.toCommand.forEach((pkt, i) => {
      const want = ipv4Udp([10, 0, 0, 1], [10, 0, 0, 2], payloads[i]);
      assert(
        pkt.length === want.length && pkt.every((x, j) => x === want[j]),
        `packet ${i} differs`,
      );
    });
    // The reply goes back to the endpoint B learned from A's packets.
    ioB.fromCommand.push(ipv4Udp([10, 0, 0, 2], [10, 0, 0, 1], new Uint8Array([1, 2, 3])));
    await until(() => ioA.toCommand.length === 1, 10_000, () => "the reply");
    // A packet to an address no peer routes is dropped, not sent.
    ioA.fromCommand.push(ipv4Udp([10, 0, 0, 1], [10, 9, 9, 9], new Uint8Array([9])));
    await new Promise((r) => setTimeout(r, 50));
    assert(ioB.toCommand.length === payloads.length, "an unrouted packet arrived");
  } finally {
    await pathA.stop();
    await pathB.stop();
    await Promise.all(running);
  }
});

Deno.test("wakeAt makes an idle loop turn by the owner's deadline, then wait as long as the core allows", async () => {
  let now = 0;
  const waits: number[] = [];
  let wakeUp = () => {};
  const turnsAt: number[] = [];
  const idleCore = {
    encrypt() {},
    decrypt() {},
    poll: () => 0,
    nextDeadline: () => 1e9,
  };
  const idleIo: PacketIo<{ count: number }> = {
    readTun: () => 0,
    writeTun() {},
    recvUdp: () => 0,
    sendUdp() {},
    // Time passes only in waits: by the requested timeout, or not at all when woken.
    wait(ms) {
      waits.push(ms);
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          now += ms;
          resolve();
        }, 0);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
    wake: () => wakeUp(),
  };
  const batch = { count: 1 };
  const path = new DataPath({
    core: idleCore,
    io: idleIo,
    clock: { now: () => now, wall: () => 0 },
    batches: { outbound: batch, inbound: batch, control: batch },
    onTurn: () => turnsAt.push(now),
  });
  const running = path.start();
  try {
    await until(() => waits.length >= 1, 2000, () => "the first wait");
    assert(waits[0] === 1000, `an idle loop waits at most 1 s, not ${waits[0]}`);
    path.wakeAt(now + 250);
    await until(() => turnsAt.some((t) => t >= 250), 2000, () => `a turn at 250 (${turnsAt})`);
    assert(waits.includes(250), `the loop waited for the wake time: ${waits}`);
    const after = waits.length;
    await until(() => waits.length > after + 1, 2000, () => "more waits");
    assert(waits.slice(after).every((w) => w === 1000), `back to 1 s waits: ${waits}`);
  } finally {
    await path.stop();
    await running;
  }
});

Deno.test("onProcessed sees each batch the core processed: drops are counted by reason", async () => {
  const a = await WgDevice.create();
  a.setPrivateKey(crypto.getRandomValues(new Uint8Array(32)));
  const b = await WgDevice.create();
  b.setPrivateKey(crypto.getRandomValues(new Uint8Array(32)));
  a.addPeer({ publicKey: b.publicKey(), keepalive: 0, allowedIps: [parseCidr("10.0.0.2/32")] });
  const io = new MemoryIo(new MemoryNetwork(), loopback(1, 1));
  const drops = new DropCounts();
  let batches = 0;
  const path = new DataPath<Batch>({
    core: new CoreAdapter(a),
    io,
    clock: systemClock,
    batches: {
      outbound: a.batch(16, 1536),
      inbound: a.batch(16, 2048),
      control: a.batch(4, 1536),
    },
    onProcessed: (batch, n) => {
      batches++;
      drops.count(batch.descView(), n);
    },
  });
  const running = path.start();
  try {
    // Two to an address no peer routes, one for the peer, which has no endpoint.
    io.fromCommand.push(ipv4Udp([10, 0, 0, 1], [10, 9, 9, 9], new Uint8Array([1])));
    io.fromCommand.push(ipv4Udp([10, 0, 0, 1], [10, 9, 9, 8], new Uint8Array([2])));
    io.fromCommand.push(ipv4Udp([10, 0, 0, 1], [10, 0, 0, 2], new Uint8Array([3])));
    await until(
      () => Object.values(drops.byReason()).reduce((x, y) => x + y, 0) === 3,
      5_000,
      () => `three drops (${JSON.stringify(drops.byReason())})`,
    );
    await new Promise((r) => setTimeout(r, 20));
    assert(batches >= 1, "onProcessed was not called");
    assert(
      JSON.stringify(drops.byReason()) === '{"no_route":2,"no_endpoint":1}',
      JSON.stringify(drops.byReason()),
    );
  } finally {
    await path.stop();
    await running;
  }
});
