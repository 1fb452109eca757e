/**
 * The timer rules of whitepaper §6 on two real core instances, with the
 * clock injected: rekey, reject, keepalives, retransmission and giving up,
 * key zeroing, and rotation without losing packets in flight.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { EventKind, Op, Reason } from "../src/wg/abi.ts";
import { A_IP, B_IP, pair } from "./core_net.ts";
import { ipv4, text } from "../testdata/packets.ts";

const INITIATION = 148;

Deno.test("the initiator starts a new handshake when it sends after 120 s", async () => {
  const { net, a } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  a.dev.events();
  const [p] = a.encrypt([ipv4(A_IP, B_IP, text("late"))], 120_001);
  assertEquals(p.op, Op.Network, "the old session still carries the packet");
  const out = a.poll(120_001);
  assertEquals(out.map((o) => o.bytes.length), [INITIATION]);
  const kinds = a.dev.events().map((e) => e.kind);
  assert(kinds.includes(EventKind.RekeyStarted));
  net.pump(a, out, 120_001);
  assertEquals(a.dev.stats(0).handshakes, 2);
});

Deno.test("no data is sent or accepted under a session older than 180 s", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  const [old] = a.encrypt([ipv4(A_IP, B_IP, text("old"))], 1);
  assertEquals(b.decrypt([old.bytes], a.ep, 180_000)[0].reason, Reason.KeyExpired);
  assertEquals(a.encrypt([ipv4(A_IP, B_IP, text("x"))], 180_000)[0].reason, Reason.Staged);
  // The staged packet goes out after a fresh handshake.
  net.pump(undefined, [], 180_000);
  assertEquals(b.tun.length, 2);
});

Deno.test("receive-only traffic is answered by a keepalive after 10 s", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  assertEquals(b.poll(9_999), []);
  const [ka] = b.poll(10_000);
  assertEquals([ka.reason, ka.bytes.length], [Reason.Keepalive, 32]);
  assertEquals(a.decrypt([ka.bytes], b.ep, 10_000)[0].reason, Reason.Keepalive);
  assertEquals(b.poll(20_000), [], "one keepalive per burst of received data");
});

Deno.test("sent data with no reply starts a new handshake after 15 s", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  net.pump(undefined, [], 10_000);
  net.drop = () => true;
  a.encrypt([ipv4(A_IP, B_IP, text("lost"))], 11_000);
  assertEquals(a.poll(25_999), []);
  assertEquals(a.poll(26_334).map((o) => o.bytes.length), [INITIATION]);
  void b;
});

Deno.test("persistent keepalive goes out every interval while idle", async () => {
  const { net, a } = await pair({ keepaliveA: 25 });
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  net.pump(undefined, [], 10_000);
  assertEquals(a.poll(34_999), []);
  assertEquals(a.poll(35_000).map((o) => o.reason), [Reason.Keepalive]);
  assertEquals(a.poll(59_999), []);
  assertEquals(a.poll(60_000).map((o) => o.reason), [Reason.Keepalive]);
});

Deno.test("initiations are retransmitted every 5 s plus jitter and given up after 90 s", async () => {
  const { net, a } = await pair();
  net.drop = () => true;
  a.encrypt([ipv4(A_IP, B_IP, text("x"))], 0);
  const sent: number[] = [];
  for (let t = 0; t <= 120_000; t += 1) {
    if (a.dev.nextDeadline(t) > t) continue;
    for (const o of a.poll(t)) if (o.bytes.length === INITIATION) sent.push(t);
  }
  const gaps = sent.slice(1).map((t, i) => t - sent[i]);
  assert(gaps.every((g) => g >= 5000 && g <= 5334), `gaps ${gaps}`);
  assert(new Set(gaps).size > 1, "the jitter varies");
  assert(sent.at(-1)! < 90_000, `last at ${sent.at(-1)}`);
  assert(sent.length >= 17, `${sent.length} initiations`);
  const events = a.dev.events();
  assert(events.some((e) => e.kind === EventKind.HandshakeGaveUp));
  assertEquals(
    events.filter((e) => e.kind === EventKind.HandshakeSent && e.a === 1).length,
    sent.length - 1,
  );
  // The staged packet was dropped: a later handshake delivers nothing old.
  net.drop = () => false;
  a.dev.initiate(0, 200_000, Date.now());
  net.pump(undefined, [], 200_000);
  assertEquals(net.nodes[1].tun.length, 0);
});

Deno.test("keys are zeroed 540 s after the last handshake", async () => {
  const { net, a } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  a.dev.events();
  a.poll(539_999);
  assert(a.dev.stats(0).sessionAgeMs !== undefined);
  a.poll(540_000);
  assertEquals(a.dev.stats(0).sessionAgeMs, undefined);
  assert(a.dev.events().some((e) => e.kind === EventKind.KeysZeroed));
});

Deno.test("rotation keeps packets in flight under the previous keypair", async () => {
  const { net, a, b } = await pair();
  net.pump(a, a.encrypt([ipv4(A_IP, B_IP, text("start"))], 0), 0);
  net.pump(b, b.encrypt([ipv4(B_IP, A_IP, text("ack"))], 0), 0);
  const inFlightA = a.encrypt([ipv4(A_IP, B_IP, text("a-old"))], 1)[0].bytes;
  const inFlightB = b.encrypt([ipv4(B_IP, A_IP, text("b-old"))], 1)[0].bytes;
  a.dev.initiate(0, 100, Date.now());
  net.pump(undefined, [], 100);
  assertEquals(a.dev.stats(0).handshakes, 2);
  assertEquals(b.dev.stats(0).handshakes, 2, "the responder promoted the new keypair");
  const fresh = a.encrypt([ipv4(A_IP, B_IP, text("a-new"))], 101)[0].bytes;
  const got = b.decrypt([fresh, inFlightA], a.ep, 102);
  assertEquals(got.map((o) => o.op), [Op.Tun, Op.Tun]);
  assertEquals(a.decrypt([inFlightB], b.ep, 102)[0].op, Op.Tun);
});

Deno.test("the deadline tells the host when to poll", async () => {
  const { net, a, b } = await pair();
  assertEquals(a.dev.nextDeadline(0), Infinity);
  a.encrypt([ipv4(A_IP, B_IP, text("x"))], 0);
  assertEquals(a.dev.nextDeadline(0), 0);
  net.pump(undefined, [], 0);
  const d = b.dev.nextDeadline(0);
  assertEquals(d, 10_000, "B owes a keepalive");
});
