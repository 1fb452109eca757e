/**
 * Two WireGuard devices (two instances of the real core) talking over an
 * in-memory network: handshakes, data both ways, PSKs, malformed and hostile
 * input, cookies under load, roaming, and cryptokey routing.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { EventKind, Op, Reason } from "../src/wg/abi.ts";
import { A_IP, B_IP, Net, Node, pair, seededEntropy } from "./core_net.ts";
import { loopback, sameEndpoint } from "../testdata/memory_net.ts";
import { ipv4, ipv6, text } from "../testdata/packets.ts";

Deno.test("the first packet is staged, a handshake runs, and data flows both ways", async () => {
  const { net, a, b } = await pair();
  const hello = ipv4(A_IP, B_IP, text("hello"));
  const [staged] = a.encrypt([hello], 0);
  assertEquals([staged.op, staged.reason], [Op.None, Reason.Staged]);
  net.pump(a, [], 0);
  assertEquals(b.tun, [hello]);
  const back = ipv4(B_IP, A_IP, text("hi there"));
  net.pump(b, b.encrypt([back], 1), 1);
  assertEquals(a.tun, [back]);
  const kinds = a.dev.events().map((e) => e.kind);
  assert(kinds.includes(EventKind.HandshakeSent));
  assert(kinds.includes(EventKind.SessionStarted));
  const stats = a.dev.stats(0);
  assertEquals(stats.handshakes, 1);
  assert(stats.rxBytes > 0 && stats.txBytes > 0);
  assert(stats.lastHandshakeWall > 0);
  assert(stats.sessionAgeMs !== undefined);
});

Deno.test("IPv6 packets are routed and delivered", async () => {
  const { net, a, b } = await pair();
  const v6 = (last: number) => {
    const x = new Uint8Array(16);
    x[0] = 0xfd;
    x[15] = last;
    return x;
  };
  a.dev.addAllowedIp(0, { family: 6, address: v6(2), prefix: 128 });
  b.dev.addAllowedIp(0, { family: 6, address: v6(1), prefix: 128 });
  const p = ipv6(v6(1), v6(2), text("six"));
  net.pump(a, a.encrypt([p], 0), 0);
  assertEquals(b.tun, [p]);
});

Deno.test("a matching preshared key completes the handshake", async () => {
  const psk = new Uint8Array(32).fill(9);
  const { net, a, b } = await pair({ pskA: psk, pskB: psk });
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("x"))], 0), 0);
  assertEquals(b.tun.length, 1);
});

Deno.test("a different preshared key or a wrong peer key makes the handshake fail", async () => {
  const { net, a, b } = await pair({ pskA: new Uint8Array(32).fill(1), pskB: undefined });
  a.encrypt([ipv4(A_IP, B_IP, text("x"))], 0);
  const [init] = a.poll(0);
  const [resp] = b.decrypt([init.bytes], a.ep, 0);
  assertEquals(resp.op, Op.Network, "the responder cannot tell: PSK enters after its checks");
  const [done] = a.decrypt([resp.bytes], b.ep, 0);
  assertEquals(done.reason, Reason.HandshakeFailed);
  assertEquals(b.tun.length, 0);
  void net;

  // A third device, unknown to B, is refused (it knows B's public key, so MAC1 passes).
  const c = await Node.create(3, loopback(3, 3000));
  c.dev.addPeer({ publicKey: b.dev.publicKey(), keepalive: 0, allowedIps: [] });
  c.dev.setEndpoint(0, b.ep);
  c.dev.initiate(0, 0, Date.now());
  const [cInit] = c.poll(0);
  assertEquals(b.decrypt([cInit.bytes], c.ep, 0)[0].reason, Reason.UnknownPeer);

  // A device that has the wrong public key for B fails MAC1 at B.
  const d = await Node.create(4, loopback(4, 4000));
  d.dev.addPeer({ publicKey: a.dev.publicKey(), keepalive: 0, allowedIps: [] });
  d.dev.setEndpoint(0, b.ep);
  d.dev.initiate(0, 0, Date.now());
  const [dInit] = d.poll(0);
  assertEquals(b.decrypt([dInit.bytes], d.ep, 0)[0].reason, Reason.BadMac1);
});

Deno.test("replayed packets are dropped; reordered ones within the window are delivered", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  const packets = Array.from({ length: 10 }, (_, i) => ipv4(A_IP, B_IP, text(`p${i}`)));
  const sealed = a.encrypt(packets, 1).map((o) => o.bytes);
  const order = [9, 0, 5, 1, 8, 2, 7, 3, 6, 4];
  const got = b.decrypt(order.map((i) => sealed[i]), a.ep, 2);
  assert(got.every((o) => o.op === Op.Tun), "every reordered packet is delivered");
  assertEquals(got.map((o) => o.bytes), order.map((i) => packets[i]));
  const replay = b.decrypt([sealed[3], sealed[9]], a.ep, 3);
  assertEquals(replay.map((o) => o.reason), [Reason.Replay, Reason.Replay]);
});

Deno.test("packets older than the replay window are dropped", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  const first = a.encrypt([ipv4(A_IP, B_IP, text("old"))], 1)[0].bytes;
  // 8,200 later packets move the window past the first one.
  let last: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < 8200 / 16; i++) {
    const out = a.encrypt(Array.from({ length: 16 }, () => ipv4(A_IP, B_IP, text("n"))), 1);
    last = out[15].bytes;
  }
  assertEquals(b.decrypt([last], a.ep, 2)[0].op, Op.Tun);
  assertEquals(b.decrypt([first], a.ep, 2)[0].reason, Reason.Replay);
});

Deno.test("truncated, bit-flipped, extended and oversized datagrams are dropped", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  const good = a.encrypt([ipv4(A_IP, B_IP, text("payload!"))], 1)[0].bytes;
  const flipped = good.slice();
  flipped[30] ^= 0x80;
  const extended = new Uint8Array(good.length + 1);
  extended.set(good);
  const results = b.decrypt(
    [good.subarray(0, 31), good.subarray(0, good.length - 1), flipped, extended],
    a.ep,
    2,
  );
  assertEquals(results.map((r) => r.reason), [
    Reason.Malformed,
    Reason.DecryptFailed,
    Reason.DecryptFailed,
    Reason.DecryptFailed,
  ]);
  assert(results.every((r) => r.op === Op.None));
  // Handshake messages of the wrong size and unknown types are malformed.
  const init = new Uint8Array(149);
  init[0] = 1;
  const junk = new Uint8Array(64);
  junk[0] = 5;
  const reserved = good.slice();
  reserved[2] = 1;
  const bad = b.decrypt([init, junk, reserved, new Uint8Array(0)], a.ep, 2);
  assertEquals(bad.map((r) => r.reason), [
    Reason.Malformed,
    Reason.Malformed,
    Reason.Malformed,
    Reason.Malformed,
  ]);
  // The good packet still decrypts: nothing above disturbed the session.
  assertEquals(b.decrypt([good], a.ep, 3)[0].op, Op.Tun);
  // An IP packet too big for its slot is refused on the way out.
  // 2,017 bytes pad to 2,032; with header and tag that is 2,064 > 2,048.
  const big = ipv4(A_IP, B_IP, new Uint8Array(1997));
  assertEquals(a.encrypt([big], 4)[0].reason, Reason.TooBig);
});

Deno.test("the inner packet must be IP with a consistent length from an allowed source", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  const spoofed = ipv4([10, 0, 0, 77], B_IP, text("x"));
  const badLength = ipv4(A_IP, B_IP, text("abcdef"));
  new DataView(badLength.buffer).setUint16(2, 200);
  const sealed = a.encrypt([spoofed, badLength], 1).map((o) => o.bytes);
  const got = b.decrypt(sealed, a.ep, 1);
  assertEquals(got.map((o) => o.reason), [Reason.SourceNotAllowed, Reason.BadIpLength]);
  // Padding is trimmed: 23 bytes go out padded to 32 and arrive as 23.
  const small = ipv4(A_IP, B_IP, text("abc"));
  const [s] = a.encrypt([small], 2);
  assertEquals(s.bytes.length, 16 + 32 + 16);
  assertEquals(b.decrypt([s.bytes], a.ep, 2)[0].bytes, small);
});

Deno.test("under load, the initiator gets a cookie, retries with MAC2 and completes", async () => {
  const { net, a, b } = await pair();
  b.dev.setLoad("always");
  a.encrypt([ipv4(A_IP, B_IP, text("x"))], 0);
  const [init] = a.poll(0);
  const [cookie] = b.decrypt([init.bytes], a.ep, 0);
  assertEquals([cookie.op, cookie.reason, cookie.bytes.length], [
    Op.Network,
    Reason.CookieSent,
    64,
  ]);
  assert(sameEndpoint(cookie.endpoint, a.ep));
  assertEquals(a.decrypt([cookie.bytes], b.ep, 1)[0].reason, Reason.CookieConsumed);
  assert(a.dev.events().some((e) => e.kind === EventKind.CookieReceived));
  // The retransmission carries MAC2 and is answered.
  net.pump(undefined, [], 5400);
  assertEquals(b.tun.length, 1);
  // A valid MAC2 from another address is not valid: B sends a cookie again.
  const { a: a2, b: b2 } = await pair();
  b2.dev.setLoad("always");
  a2.dev.initiate(0, 0, Date.now());
  const [i2] = a2.poll(0);
  a2.decrypt([b2.decrypt([i2.bytes], a2.ep, 0)[0].bytes], b2.ep, 0);
  const [retry] = a2.poll(5400);
  assertEquals(b2.decrypt([retry.bytes], loopback(99, 9), 5400)[0].reason, Reason.CookieSent);
});

Deno.test("a flood of handshakes puts the device under load on its own", async () => {
  const { a, b } = await pair();
  a.dev.initiate(0, 0, Date.now());
  const [init] = a.poll(0);
  const reasons = new Set<number>();
  for (let i = 0; i < 300; i++) {
    for (const r of b.decrypt([init.bytes], a.ep, i)) reasons.add(r.reason);
  }
  assert(reasons.has(Reason.CookieSent), `reasons: ${[...reasons]}`);
});

Deno.test("a burst of junk that fails MAC1 does not cost the next handshake a cookie round trip", async () => {
  const { net, a, b } = await pair();
  // Datagrams shaped like initiations (148 bytes) and responses (92), the
  // rest random: none has a valid MAC1. Both sides get 300 of them, in
  // batches, from many sources.
  const random = seededEntropy(0x6a756e6b);
  const junk = Array.from({ length: 300 }, (_, i) => {
    const d = new Uint8Array(i % 2 === 0 ? 148 : 92);
    random(d);
    new DataView(d.buffer).setUint32(0, i % 2 === 0 ? 1 : 2, true);
    return d;
  });
  for (const node of [a, b]) {
    for (let i = 0; i < junk.length; i += 16) {
      const from = loopback(10 + i / 16, 40000 + i);
      const got = node.decrypt(junk.slice(i, i + 16), from, i);
      assert(got.every((o) => o.op === Op.None && o.reason === Reason.BadMac1));
    }
  }
  // The handshake completes within this one instant of the devices' clock: a
  // cookie reply would hold A's retry back until REKEY_TIMEOUT (5 s) passed.
  const now = 300;
  const hello = ipv4(A_IP, B_IP, text("after the junk"));
  net.pump(a, a.encrypt([hello], now), now);
  const kinds = a.dev.events().map((e) => e.kind);
  assert(!kinds.includes(EventKind.CookieReceived), "A got a cookie reply");
  const sent = net.wire.filter((w) => w.from === b).map((w) => w.bytes.length);
  assert(!sent.includes(64), `B sent a cookie reply: datagrams of ${sent} bytes`);
  assert(kinds.includes(EventKind.SessionStarted));
  assertEquals(b.tun, [hello]);
});

Deno.test("a replayed initiation is refused and does not disturb the session", async () => {
  const { net, a, b } = await pair();
  a.encrypt([ipv4(A_IP, B_IP, text("x"))], 0);
  net.pump(undefined, [], 0);
  const init = net.wire.find((w) => w.bytes.length === 148)!.bytes;
  assertEquals(b.decrypt([init], a.ep, 1000)[0].reason, Reason.StaleTimestamp);
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("still"))], 1001), 1001);
  assertEquals(b.tun.length, 2);
});

Deno.test("an authenticated packet from a new address moves the endpoint; a forged one does not", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  b.dev.events();
  const moved = loopback(50, 5050);
  const [p] = a.encrypt([ipv4(A_IP, B_IP, text("roam"))], 1);
  const forged = p.bytes.slice();
  forged[20] ^= 1;
  b.decrypt([forged], moved, 1);
  assert(sameEndpoint(b.dev.endpoint(0), a.ep));
  assertEquals(b.decrypt([p.bytes], moved, 1)[0].op, Op.Tun);
  assert(sameEndpoint(b.dev.endpoint(0), moved));
  assert(b.dev.events().some((e) => e.kind === EventKind.EndpointChanged));
  const [reply] = b.encrypt([ipv4(B_IP, A_IP, text("r"))], 2);
  assert(sameEndpoint(reply.endpoint, moved));
});

Deno.test("many peers are routed by longest prefix, v4 and v6, and sources are checked", async () => {
  const net = new Net();
  const hub = net.add(await Node.create(100, loopback(100, 100)));
  const spokes: Node[] = [];
  const v6 = (i: number) => {
    const x = new Uint8Array(16);
    x[0] = 0xfd;
    x[1] = i;
    return x;
  };
  for (let i = 0; i < 12; i++) {
    const s = net.add(await Node.create(200 + i, loopback(120 + i, 1200 + i)));
    const id = hub.dev.addPeer({
      publicKey: s.dev.publicKey(),
      keepalive: 0,
      allowedIps: [
        { family: 4, address: new Uint8Array([10, 1, i, 0]), prefix: 24 },
        { family: 6, address: v6(i), prefix: 16 },
      ],
    });
    assertEquals(id, i);
    hub.dev.setEndpoint(id, s.ep);
    s.dev.addPeer({
      publicKey: hub.dev.publicKey(),
      keepalive: 0,
      allowedIps: [
        { family: 4, address: new Uint8Array([10, 0, 0, 0]), prefix: 8 },
        { family: 6, address: new Uint8Array(16), prefix: 0 },
      ],
    });
    s.dev.setEndpoint(0, hub.ep);
    spokes.push(s);
  }
  // A wider prefix for peer 3 loses to the exact /24s.
  hub.dev.addAllowedIp(3, { family: 4, address: new Uint8Array([10, 1, 0, 0]), prefix: 16 });
  const HUB = [10, 255, 0, 1];
  const dst = [[10, 1, 7, 9], [10, 1, 11, 1], [10, 1, 200, 1]];
  for (const d of dst) net.pump(hub, hub.encrypt([ipv4(HUB, d, text("to"))], 0), 0);
  assertEquals(spokes[7].tun.length, 1);
  assertEquals(spokes[11].tun.length, 1);
  assertEquals(spokes[3].tun.length, 1, "10.1.200.1 falls to the /16");
  const hub6 = new Uint8Array(16);
  hub6[0] = 0xfe;
  net.pump(hub, hub.encrypt([ipv6(hub6, v6(5), text("six"))], 1), 1);
  assertEquals(spokes[5].tun.length, 1);
  // Spoke 4 may only send from 10.1.4.0/24: its packet claiming 10.1.6.1 is dropped.
  const [p] = spokes[4].encrypt([ipv4([10, 1, 6, 1], HUB, text("spoof"))], 2);
  const before = hub.tun.length;
  net.pump(spokes[4], [p], 2);
  assertEquals(hub.tun.length, before);
  const [ok] = spokes[4].encrypt([ipv4([10, 1, 4, 1], HUB, text("real"))], 2);
  net.pump(spokes[4], [ok], 2);
  assertEquals(hub.tun.length, before + 1);
  // Removing a peer removes its routes.
  hub.dev.removePeer(3);
  assertEquals(hub.encrypt([ipv4(HUB, [10, 1, 200, 1], text("x"))], 3)[0].reason, Reason.NoRoute);
  assertEquals(hub.encrypt([ipv4(HUB, [10, 1, 7, 1], text("x"))], 3)[0].peer, 7);
});
