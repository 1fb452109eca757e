/**
 * The core's cryptographic primitives (X25519, ChaCha20-Poly1305,
 * XChaCha20-Poly1305, BLAKE2s, HMAC-BLAKE2s) as plain TypeScript calls over
 * its linear memory. Used by key generation, the vectors runner and tests;
 * the data path talks to the core's batch exports instead.
 *
 * @example
 * ```ts
 * import { corePrimitives } from "./primitives.ts";
 * const digest = corePrimitives().blake2s(new TextEncoder().encode("abc"));
 * console.log(digest.length); // 32
 * ```
 *
 * @module
 */

import { wasmBytes } from "./_wasm_asset.ts";
import { CoreError } from "./abi.ts";

/** Seal or open: key, nonce, AAD, the input, and where the output goes (pointers and lengths). */
type AeadExport = (
  key: number,
  nonce: number,
  aad: number,
  aadLen: number,
  input: number,
  inputLen: number,
  out: number,
) => number;

/** The primitive exports of the core (wasm/README.md, "Primitives"). */
interface PrimitiveExports {
  memory: WebAssembly.Memory;
  wg_alloc(len: number): number;
  wg_free(ptr: number, len: number): void;
  wg_selftest(): number;
  wg_x25519(out: number, scalar: number, point: number): number;
  wg_x25519_base(out: number, scalar: number): number;
  wg_aead_seal: AeadExport;
  wg_aead_open: AeadExport;
  wg_xaead_seal: AeadExport;
  wg_xaead_open: AeadExport;
  wg_blake2s(
    out: number,
    outLen: number,
    key: number,
    keyLen: number,
    msg: number,
    msgLen: number,
  ): number;
  wg_hmac_blake2s(out: number, key: number, keyLen: number, msg: number, msgLen: number): number;
}

/** The result of an X25519 computation. */
export interface SharedSecret {
  /** The 32-byte u-coordinate (all zeros for low-order points). */
  shared: Uint8Array;
  /** True when the result is all zero, which WireGuard rejects (`-DhZero`). */
  isZero: boolean;
}

/** A region of the core's memory, freed (and zeroed by the core) after use. */
interface Region {
  ptr: number;
  len: number;
}

function expectLength(what: string, bytes: Uint8Array, lengths: number[]): void {
  if (!lengths.includes(bytes.length)) {
    throw new RangeError(
      `Cannot use ${what}: it is ${bytes.length} bytes, expected ${lengths.join(" or ")}`,
    );
  }
}

/** Calls into one instance of the core; buffers are copied in and out per call. */
export class CorePrimitives {
  readonly #core: PrimitiveExports;

  /** Wraps an instance of the core (from `instantiateCore()` or `corePrimitives()`). */
  constructor(instance: WebAssembly.Instance) {
    this.#core = instance.exports as unknown as PrimitiveExports;
  }

  /** The core's built-in self test: 0, or the number of the first failing check. */
  selftest(): number {
    return this.#core.wg_selftest();
  }

  #with<T>(inputs: Uint8Array[], outLens: number[], body: (ptrs: number[]) => T): T {
    const regions: Region[] = [];
    try {
      for (const bytes of inputs) {
        const r = this.#alloc(bytes.length);
        regions.push(r);
        new Uint8Array(this.#core.memory.buffer, r.ptr, bytes.length).set(bytes);
      }
      for (const len of outLens) regions.push(this.#alloc(len));
      return body(regions.map((r) => r.ptr));
    } finally {
      for (const r of regions) this.#core.wg_free(r.ptr, r.len);
    }
  }

  #alloc(len: number): Region {
    const ptr = this.#core.wg_alloc(len);
    if (ptr === 0) throw new RangeError(`Cannot allocate ${len} bytes in the core: out of memory`);
    return { ptr, len };
  }

  #read(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.#core.memory.buffer, ptr, len).slice();
  }

  #check(code: number, what: string): number {
    if (code < 0) throw new Error(`Cannot compute ${what}: the core returned error ${-code}`);
    return code;
  }

  /** X25519(scalar, point); the scalar is clamped by the core. */
  x25519(scalar: Uint8Array, point: Uint8Array): SharedSecret {
    expectLength("the X25519 scalar", scalar, [32]);
    expectLength("the X25519 point", point, [32]);
    return this.#with([scalar, point], [32], ([s, p, out]) => {
      const code = this.#core.wg_x25519(out, s, p);
      const isZero = code === -CoreError.DhZero;
      if (!isZero) this.#check(code, "X25519");
      return { shared: this.#read(out, 32), isZero };
    });
  }

  /** The public key of a private key. */
  x25519Base(scalar: Uint8Array): Uint8Array {
    expectLength("the X25519 private key", scalar, [32]);
    return this.#with([scalar], [32], ([s, out]) => {
      this.#check(this.#core.wg_x25519_base(out, s), "the public key");
      return this.#read(out, 32);
    });
  }

  /**
   * ChaCha20-Poly1305 (12-byte nonce) or XChaCha20-Poly1305 (24-byte nonce):
   * returns ciphertext followed by the 16-byte tag.
   */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, msg: Uint8Array): Uint8Array {
    expectLength("the AEAD key", key, [32]);
    expectLength("the AEAD nonce", nonce, [12, 24]);
    const seal = nonce.length === 12 ? this.#core.wg_aead_seal : this.#core.wg_xaead_seal;
    return this.#with([key, nonce, aad, msg], [msg.length + 16], ([k, n, a, m, out]) => {
      const len = this.#check(seal(k, n, a, aad.length, m, msg.length, out), "the AEAD seal");
      return this.#read(out, len);
    });
  }

  /** Opens ciphertext followed by tag; `undefined` when the tag is wrong. */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
  ): Uint8Array | undefined {
    expectLength("the AEAD key", key, [32]);
    expectLength("the AEAD nonce", nonce, [12, 24]);
    if (sealed.length < 16) {
      throw new RangeError(`Cannot open ${sealed.length} bytes: shorter than the 16-byte tag`);
    }
    const open = nonce.length === 12 ? this.#core.wg_aead_open : this.#core.wg_xaead_open;
    return this.#with([key, nonce, aad, sealed], [sealed.length - 16], ([k, n, a, c, out]) => {
      const code = open(k, n, a, aad.length, c, sealed.length, out);
      if (code === -CoreError.AuthFailed) return undefined;
      return this.#read(out, this.#check(code, "the AEAD open"));
    });
  }

  /** BLAKE2s with an `outLen`-byte digest (1..=32), keyed when `key` is not empty (<= 32 bytes). */
  blake2s(msg: Uint8Array, outLen = 32, key: Uint8Array = new Uint8Array()): Uint8Array {
    if (!Number.isInteger(outLen) || outLen < 1 || outLen > 32) {
      throw new RangeError(`Cannot use BLAKE2s output length ${outLen}: expected 1 to 32`);
    }
    if (key.length > 32) {
      throw new RangeError(`Cannot use a ${key.length}-byte BLAKE2s key: at most 32 bytes`);
    }
    return this.#with([key, msg], [outLen], ([k, m, out]) => {
      this.#check(this.#core.wg_blake2s(out, outLen, k, key.length, m, msg.length), "BLAKE2s");
      return this.#read(out, outLen);
    });
  }

  /** HMAC-BLAKE2s (32 bytes) of `msg` under `key` of any length. */
  hmacBlake2s(key: Uint8Array, msg: Uint8Array): Uint8Array {
    return this.#with([key, msg], [32], ([k, m, out]) => {
      this.#check(this.#core.wg_hmac_blake2s(out, k, key.length, m, msg.length), "HMAC-BLAKE2s");
      return this.#read(out, 32);
    });
  }
}

let shared: CorePrimitives | undefined;

/**
 * A process-wide instance of the core for primitives, instantiated
 * synchronously on first use from the embedded module.
 */
export function corePrimitives(): CorePrimitives {
  shared ??= new CorePrimitives(
    new WebAssembly.Instance(new WebAssembly.Module(wasmBytes as Uint8Array<ArrayBuffer>), {}),
  );
  return shared;
}
