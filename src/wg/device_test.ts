import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Batch, WgCoreError, WgDevice } from "./device.ts";
import { CoreError, EventKind, HEADROOM, Op, Reason } from "./abi.ts";
import { ipv4 } from "../../testdata/packets.ts";

/** Runs `fn`, expects an error of class `cls` whose message holds `part`; returns it. */
function assertThrows(fn: () => unknown, cls: new (...a: never[]) => Error, part = ""): Error {
  try {
    fn();
  } catch (e) {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert(e.message.includes(part), `expected "${part}" in "${e.message}"`);
    return e;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}

function key(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

Deno.test("a device derives the public key of its private key", async () => {
  const dev = await WgDevice.create();
  assertThrows(() => dev.publicKey(), WgCoreError, "no private key is set");
  // RFC 7748 §6.1: Alice's private and public keys.
  dev.setPrivateKey(
    Uint8Array.fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
  );
  assertEquals(
    dev.publicKey(),
    Uint8Array.fromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
  );
});

Deno.test("entropy comes from the given source at creation", async () => {
  let asked = 0;
  await WgDevice.create({
    entropy: (buf) => {
      asked += buf.length;
      buf.fill(7);
    },
  });
  assertEquals(asked, 64);
});

Deno.test("peers are added with allowed IPs and core errors become clear exceptions", async () => {
  const dev = await WgDevice.create();
  dev.setPrivateKey(key(1));
  const id = dev.addPeer({
    publicKey: key(2),
    keepalive: 25,
    allowedIps: [{ family: 4, address: new Uint8Array([10, 0, 0, 0]), prefix: 8 }],
  });
  assertEquals(id, 0);
  const dup = assertThrows(
    () => dev.addPeer({ publicKey: key(2), keepalive: 0, allowedIps: [] }),
    WgCoreError,
    "already exists",
  );
  assertEquals((dup as WgCoreError).code, CoreError.DuplicatePeer);
  assertThrows(
    () => dev.addPeer({ publicKey: new Uint8Array(32), keepalive: 0, allowedIps: [] }),
    WgCoreError,
    "low-order",
  );
  assertThrows(
    () =>
      dev.addPeer({
        publicKey: key(3),
        keepalive: 0,
        allowedIps: [{ family: 4, address: new Uint8Array(4), prefix: 33 }],
      }),
    WgCoreError,
    "prefix length",
  );
  // The failed peer above was rolled back: its key can be added again, and
  // the id it had is free for it (the core reuses removed peers' ids).
  assertEquals(dev.addPeer({ publicKey: key(3), keepalive: 0, allowedIps: [] }), 1);
  assertThrows(() => dev.removePeer(99), WgCoreError, "no such peer");
  assertThrows(
    () => dev.addPeer({ publicKey: new Uint8Array(31), keepalive: 0, allowedIps: [] }),
    RangeError,
    "expected 32 bytes",
  );
});

Deno.test("endpoints round-trip through the core, v4 and v6", async () => {
  const dev = await WgDevice.create();
  dev.setPrivateKey(key(1));
  const id = dev.addPeer({ publicKey: key(2), keepalive: 0, allowedIps: [] });
  assertEquals(dev.endpoint(id), undefined);
  const v6 = new Uint8Array(16);
  v6[15] = 1;
  dev.setEndpoint(id, { family: 6, port: 51820, scopeId: 3, address: v6 });
  assertEquals(dev.endpoint(id), { family: 6, port: 51820, scopeId: 3, address: v6 });
  const v4 = new Uint8Array([127, 0, 0, 1]);
  dev.setEndpoint(id, { family: 4, port: 1, scopeId: 0, address: v4 });
  assertEquals(dev.endpoint(id), { family: 4, port: 1, scopeId: 0, address: v4 });
  assertThrows(
    () => dev.setEndpoint(id, { family: 4, port: 70000, scopeId: 0, address: v4 }),
    RangeError,
  );
});

Deno.test("stats of a fresh peer show no session", async () => {
  const dev = await WgDevice.create();
  dev.setPrivateKey(key(1));
  const id = dev.addPeer({ publicKey: key(2), keepalive: 0, allowedIps: [] });
  assertEquals(dev.stats(id), {
    lastHandshakeWall: 0,
    rxBytes: 0,
    txBytes: 0,
    handshakes: 0,
    sessionAgeMs: undefined,
  });
});

Deno.test("initiate makes poll emit an initiation and an event to the endpoint", async () => {
  const dev = await WgDevice.create();
  dev.setPrivateKey(key(1));
  const id = dev.addPeer({ publicKey: key(2), keepalive: 0, allowedIps: [] });
  const ep = { family: 4 as const, port: 9, scopeId: 0, address: new Uint8Array([127, 0, 0, 9]) };
  dev.setEndpoint(id, ep);
  assertEquals(dev.nextDeadline(0), Infinity);
  dev.initiate(id, 0, Date.now());
  assertEquals(dev.nextDeadline(0), 0);
  const batch = dev.batch(4, 2048);
  assertEquals(batch.poll(0, Date.now()), 1);
  assertEquals(batch.op(0), Op.Network);
  assertEquals(batch.len(0), 148);
  assertEquals(batch.packet(0)[0], 1);
  assertEquals(batch.peer(0), id);
  assertEquals(batch.endpoint(0), ep);
  assertEquals(dev.events(), [{ kind: EventKind.HandshakeSent, peer: id, a: 0, b: 0 }]);
  assertEquals(dev.events(), []);
  assert(dev.nextDeadline(0) >= 5000 && dev.nextDeadline(0) <= 5333);
});

Deno.test("a batch reports each packet's fate in its descriptor", async () => {
  const dev = await WgDevice.create();
  dev.setPrivateKey(key(1));
  const batch = dev.batch(3, 256);
  const ip = ipv4([10, 0, 0, 1], [10, 0, 0, 2], new Uint8Array(8));
  batch.setPacket(0, ip, HEADROOM);
  batch.setPacket(1, new Uint8Array([1, 2, 3]), HEADROOM);
  batch.setPacket(2, ip, HEADROOM);
  batch.encrypt(0, Date.now(), 2);
  assertEquals(batch.reason(0), Reason.NoRoute);
  assertEquals(batch.reason(1), Reason.NotIp);
  assertEquals(batch.op(0), Op.None);
  assertEquals(batch.peer(0), undefined);
  assertEquals(batch.reason(2), 0, "only the first n slots are processed");
  assertEquals(batch.offset(0), HEADROOM);
  assertEquals(batch.len(0), 28);
  assertThrows(() => batch.op(3), RangeError);
  assertThrows(() => batch.encrypt(0, 0, 4), RangeError);
  assertThrows(() => batch.setPacket(0, new Uint8Array(300)), RangeError);
});

Deno.test("batch views follow memory growth and see what the core wrote", async () => {
  const dev = await WgDevice.create();
  dev.setPrivateKey(key(1));
  const batch: Batch = dev.batch(2, 2048);
  const before = batch.slotsPointerView();
  assertEquals(before.length, 2 * 2048);
  assertEquals(batch.descView().length, 24);
  // Grow memory by allocating a large block: old views detach.
  dev.allocate(8 << 20);
  const after = batch.slotsPointerView();
  assert(after.buffer === dev.core.memory.buffer);
  after[0] = 0x45;
  assertEquals(batch.slotView(0)[0], 0x45);
  batch.free();
  assertThrows(() => batch.op(0), Error, "freed");
});

Deno.test("the device never prints its keys", async () => {
  const dev = await WgDevice.create();
  dev.setPrivateKey(key(0x41));
  const shown = Deno.inspect(dev);
  assert(!shown.includes("65"), shown);
  assertEquals(shown, "WgDevice(<keys redacted>)");
});

Deno.test("the core's built-in self test passes on the embedded build", async () => {
  const device = await WgDevice.create();
  if (device.selfTest() !== 0) throw new Error(`self test check ${device.selfTest()} failed`);
  device.close();
});
