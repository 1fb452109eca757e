/**
 * The core's primitive exports through their TypeScript wrapper: the self
 * test, BLAKE2s with short outputs, HMAC-BLAKE2s, AEAD round trips and
 * tampering, X25519's zero result, and argument checks that reject instead
 * of trapping. Known answers were computed independently (Python's hashlib
 * and hmac, the RFCs).
 */

import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { CoreError } from "../src/wg/abi.ts";
import { instantiateCore } from "../src/wg/wasm.ts";
import { CorePrimitives, corePrimitives } from "../src/wg/primitives.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("the core's built-in self test passes", async () => {
  assert.equal(corePrimitives().selftest(), 0);
  const fresh = new CorePrimitives(await instantiateCore());
  assert.equal(fresh.selftest(), 0);
});

Deno.test("BLAKE2s with a 16-byte digest matches independent known answers", () => {
  const core = corePrimitives();
  assert.equal(core.blake2s(new Uint8Array(), 16).toHex(), "64550d6ffe2c0a01a14aba1eade0200c");
  assert.equal(
    core.blake2s(text("The quick brown fox jumps over the lazy dog"), 16).toHex(),
    "96fd07258925748a0d2fb1c8a1167a73",
  );
  assert.equal(
    core.blake2s(text("abc"), 16, text("k".repeat(16))).toHex(),
    "c147470a6a51f99ac086eab2ffe4852e",
  );
  assert.equal(
    core.blake2s(text("abc")).toHex(),
    "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
  );
});

Deno.test("HMAC-BLAKE2s matches independent known answers for short, long and empty keys", () => {
  const core = corePrimitives();
  assert.equal(
    core.hmacBlake2s(new Uint8Array(), new Uint8Array()).toHex(),
    "eaf4bb25938f4d20e72656bbbc7a9bf63c0c18537333c35bdb67db1402661acd",
  );
  assert.equal(
    core.hmacBlake2s(text("k".repeat(32)), text("wgcage".repeat(50))).toHex(),
    "f170afeec433d85f6ecc27bc2fa55487fcb0fbf0cc20e86de29193baa2bc1b0c",
  );
  const key65 = Uint8Array.from({ length: 65 }, (_, i) => i);
  assert.equal(
    core.hmacBlake2s(key65, text("x")).toHex(),
    "c20a573abd7a49781d032eb36aa7ff10dfd52796daebd11c1f5a3452273532b9",
  );
});

Deno.test("AEAD seal and open round-trip at every length around block edges", () => {
  const core = corePrimitives();
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 3);
  for (const nonceLen of [12, 24]) {
    const nonce = Uint8Array.from({ length: nonceLen }, (_, i) => 255 - i);
    for (const len of [0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1420, 4096]) {
      const msg = Uint8Array.from({ length: len }, (_, i) => (i * 7) & 255);
      const aad = msg.subarray(0, len % 33);
      const sealed = core.seal(key, nonce, aad, msg);
      assert.equal(sealed.length, len + 16);
      assert.deepEqual(core.open(key, nonce, aad, sealed), msg);
      const bad = sealed.slice();
      bad[len % sealed.length] ^= 0x20;
      assert.equal(core.open(key, nonce, aad, bad), undefined, `len ${len}`);
    }
  }
});

Deno.test("RFC 8439 §2.8.2 ChaCha20-Poly1305 through the export", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
  const nonce = Uint8Array.fromHex("070000004041424344454647");
  const aad = Uint8Array.fromHex("50515253c0c1c2c3c4c5c6c7");
  const msg = text(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const sealed = corePrimitives().seal(key, nonce, aad, msg);
  assert.equal(sealed.subarray(0, 8).toHex(), "d31a8d34648e60db");
  assert.equal(sealed.subarray(msg.length).toHex(), "1ae10b594f09e26a7e902ecbd0600691");
});

Deno.test("X25519 flags an all-zero result and agrees on a shared secret", () => {
  const core = corePrimitives();
  const zero = core.x25519(new Uint8Array(32).fill(7), new Uint8Array(32));
  assert.equal(zero.isZero, true);
  assert.deepEqual(zero.shared, new Uint8Array(32));
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const ab = core.x25519(a, core.x25519Base(b));
  const ba = core.x25519(b, core.x25519Base(a));
  assert.equal(ab.isZero, false);
  assert.deepEqual(ab.shared, ba.shared);
  // RFC 7748 §6.1
  assert.equal(
    core.x25519Base(
      Uint8Array.fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
    ).toHex(),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
});

type Exports = Record<string, (...args: number[]) => number>;

Deno.test("exports reject bad pointers and lengths with -InvalidArgument instead of trapping", async () => {
  const e = (await instantiateCore()).exports as unknown as Exports & {
    memory: WebAssembly.Memory;
  };
  const inv = -CoreError.InvalidArgument;
  const buf = e.wg_alloc(64);
  assert.notEqual(buf, 0);
  const end = e.memory.buffer.byteLength;
  assert.equal(e.wg_blake2s(buf, 0, 0, 0, 0, 0), inv);
  assert.equal(e.wg_blake2s(buf, 33, 0, 0, 0, 0), inv);
  assert.equal(e.wg_blake2s(buf, 32, buf, 33, 0, 0), inv);
  assert.equal(e.wg_blake2s(0, 32, 0, 0, 0, 0), inv);
  assert.equal(e.wg_blake2s(buf, 32, 0, 0, end - 4, 8), inv);
  assert.equal(e.wg_blake2s(buf, 32, 0, 0, 0xffff_fff0, 0x20), inv);
  assert.equal(e.wg_hmac_blake2s(end - 16, 0, 0, 0, 0), inv);
  assert.equal(e.wg_x25519(buf, 0, buf), inv);
  assert.equal(e.wg_x25519_base(end - 31, buf), inv);
  assert.equal(e.wg_aead_seal(buf, buf, 0, 0, buf, 0x7fff_fff8, buf), inv);
  assert.equal(e.wg_aead_open(buf, buf, 0, 0, buf, 15, buf), inv);
  assert.equal(e.wg_xaead_open(buf, buf, 0, 0, end - 20, 32, buf), inv);
  assert.equal(
    e.wg_aead_seal(buf, buf, buf + 4, 8, buf, 4, buf),
    inv,
    "aad overlapping the output",
  );
  e.wg_free(buf, 64);
  assert.equal(e.wg_alloc(0xffff_fff0), 0, "an impossible allocation returns 0");
  assert.equal(e.wg_selftest(), 0);
});

Deno.test("the wrapper rejects wrong key and nonce sizes with a RangeError", () => {
  const core = corePrimitives();
  assert.throws(
    () => core.seal(new Uint8Array(31), new Uint8Array(12), new Uint8Array(), new Uint8Array()),
    RangeError,
  );
  assert.throws(
    () => core.seal(new Uint8Array(32), new Uint8Array(16), new Uint8Array(), new Uint8Array()),
    RangeError,
  );
  assert.throws(
    () => core.open(new Uint8Array(32), new Uint8Array(12), new Uint8Array(), new Uint8Array(15)),
    RangeError,
  );
  assert.throws(() => core.x25519(new Uint8Array(32), new Uint8Array(33)), RangeError);
  assert.throws(() => core.blake2s(new Uint8Array(), 0), RangeError);
  assert.throws(() => core.blake2s(new Uint8Array(), 32, new Uint8Array(33)), RangeError);
});

/** ChaCha20-Poly1305 by Node's crypto (OpenSSL): an independent reference. */
function referenceSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, msg: Uint8Array) {
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: msg.length });
  const body = c.update(msg);
  c.final();
  const out = new Uint8Array(msg.length + 16);
  out.set(body);
  out.set(c.getAuthTag(), msg.length);
  return out;
}

Deno.test("ChaCha20-Poly1305 agrees with an independent implementation at every length to 1100 and beyond", () => {
  const core = corePrimitives();
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const lengths = [...Array(1101).keys(), 1419, 1420, 1421, 2047, 2048, 2049, 9000, 65536];
  const big = crypto.getRandomValues(new Uint8Array(65536));
  for (const len of lengths) {
    const msg = big.subarray(0, len);
    const aad = big.subarray(len % 7, len % 7 + (len % 41));
    const expected = referenceSeal(key, nonce, aad, msg);
    const sealed = core.seal(key, nonce, aad, msg);
    assert.equal(sealed.toHex(), expected.toHex(), `length ${len}`);
    assert.deepEqual(core.open(key, nonce, aad, sealed), msg, `length ${len}`);
  }
});
