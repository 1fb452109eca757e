/**
 * The core's one-pass ChaCha20-Poly1305 through its exports, against
 * OpenSSL (Node's crypto) as an independent reference: every length from 0
 * to 2048 with random keys, nonces and AAD, at unaligned addresses, sealed
 * and opened both in place and into another buffer, with guard bytes around
 * every buffer, and a flipped bit anywhere refused. The compiled module is
 * what runs here, so this also covers what the native Rust tests cannot: the
 * SIMD128 code and what the wasm32 compiler made of it.
 */

import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { CoreError } from "../src/wg/abi.ts";
import { instantiateCore } from "../src/wg/wasm.ts";

interface AeadExports {
  memory: WebAssembly.Memory;
  wg_alloc(len: number): number;
  wg_aead_seal(...args: number[]): number;
  wg_aead_open(...args: number[]): number;
}

/** ChaCha20-Poly1305 by OpenSSL: ciphertext, then the tag. */
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

/** A deterministic generator (xorshift32), so a failure can be replayed. */
function generator(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 255);
  return { next, bytes };
}

const MAX = 2048;
const GUARD = 48;

/** The core's memory with room for the inputs and two buffers, each with guards around it. */
async function setUp() {
  const core = (await instantiateCore()).exports as unknown as AeadExports;
  const key = core.wg_alloc(32);
  const nonce = core.wg_alloc(12);
  const aad = core.wg_alloc(64);
  const area = core.wg_alloc(2 * (MAX + 16 + 2 * GUARD + 16));
  const mem = () => new Uint8Array(core.memory.buffer);
  return { core, key, nonce, aad, area, mem };
}

Deno.test("seal and open agree with OpenSSL at every length to 2048, unaligned, in place and not", async () => {
  const { core, key, nonce, aad, area, mem } = await setUp();
  const rand = generator(0x5eed_a3ad);
  for (let len = 0; len <= MAX; len++) {
    const k = rand.bytes(32);
    const n = rand.bytes(12);
    const a = rand.bytes(rand.next() % 65);
    const msg = rand.bytes(len);
    const expected = referenceSeal(k, n, a, msg);
    mem().set(k, key);
    mem().set(n, nonce);
    mem().set(a, aad);

    // Two buffers at offsets 0..15 past a 16-byte boundary, guards around both.
    const span = MAX + 16 + 2 * GUARD;
    const inPlace = area + GUARD + (len % 16);
    const other = area + span + GUARD + ((len * 7 + 3) % 16);
    const guard = rand.bytes(2 * span);
    const fresh = () => mem().set(guard, area);
    const unchangedOutside = (what: string, ...used: [number, number][]) => {
      const now = mem().subarray(area, area + 2 * span);
      for (let i = 0; i < now.length; i++) {
        const at = area + i;
        if (used.some(([p, l]) => at >= p && at < p + l)) continue;
        assert.equal(now[i], guard[i], `length ${len}, ${what}: byte ${i} of the area changed`);
      }
    };

    // Sealed in place.
    fresh();
    mem().set(msg, inPlace);
    assert.equal(core.wg_aead_seal(key, nonce, aad, a.length, inPlace, len, inPlace), len + 16);
    assert.deepEqual(mem().slice(inPlace, inPlace + len + 16), expected, `length ${len} in place`);
    unchangedOutside("seal in place", [inPlace, len + 16]);

    // Sealed into another buffer: the input stays as it was.
    fresh();
    mem().set(msg, inPlace);
    assert.equal(core.wg_aead_seal(key, nonce, aad, a.length, inPlace, len, other), len + 16);
    assert.deepEqual(mem().slice(other, other + len + 16), expected, `length ${len} into another`);
    assert.deepEqual(mem().slice(inPlace, inPlace + len), msg);
    unchangedOutside("seal into another", [inPlace, len], [other, len + 16]);

    // Opened into another buffer, then in place.
    fresh();
    mem().set(expected, inPlace);
    assert.equal(core.wg_aead_open(key, nonce, aad, a.length, inPlace, len + 16, other), len);
    assert.deepEqual(mem().slice(other, other + len), msg, `length ${len}: open into another`);
    assert.equal(core.wg_aead_open(key, nonce, aad, a.length, inPlace, len + 16, inPlace), len);
    assert.deepEqual(mem().slice(inPlace, inPlace + len), msg, `length ${len}: open in place`);
    unchangedOutside("open", [inPlace, len + 16], [other, len]);

    // A flipped bit anywhere in ciphertext or tag: refused, the buffer as it came.
    const bad = expected.slice();
    const bit = rand.next() % (8 * (len + 16));
    bad[bit >> 3] ^= 1 << (bit & 7);
    mem().set(bad, inPlace);
    assert.equal(
      core.wg_aead_open(key, nonce, aad, a.length, inPlace, len + 16, inPlace),
      -CoreError.AuthFailed,
      `length ${len}: bit ${bit} flipped was accepted`,
    );
    assert.deepEqual(mem().slice(inPlace, inPlace + len + 16), bad, `length ${len}: changed`);
  }
});

Deno.test("a tag of all zeros or all ones is refused at every length around the steps", async () => {
  const { core, key, nonce, area, mem } = await setUp();
  const rand = generator(0x7a9_0000);
  const p = area + 5;
  for (const len of [0, 1, 15, 16, 191, 192, 193, 447, 448, 449, 1420, 2048]) {
    mem().set(rand.bytes(32), key);
    mem().set(rand.bytes(12), nonce);
    mem().set(rand.bytes(len), p);
    core.wg_aead_seal(key, nonce, 0, 0, p, len, p);
    for (const fill of [0x00, 0xff]) {
      const sealed = mem().slice(p, p + len + 16);
      mem().fill(fill, p + len, p + len + 16);
      assert.equal(
        core.wg_aead_open(key, nonce, 0, 0, p, len + 16, p),
        -CoreError.AuthFailed,
        `length ${len}, tag of 0x${fill.toString(16)}`,
      );
      mem().set(sealed, p);
    }
    assert.equal(core.wg_aead_open(key, nonce, 0, 0, p, len + 16, p), len);
  }
});
