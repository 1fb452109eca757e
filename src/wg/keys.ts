/**
 * WireGuard keys in `wg`'s format: 32 bytes as 44 characters of standard
 * base64 with one `=`. `genkey`, `pubkey` and `genpsk` give the same output
 * as `wg genkey`, `wg pubkey` and `wg genpsk`; the public key is computed by
 * the core's X25519.
 *
 * @example
 * ```ts
 * import { genkey, pubkey } from "./keys.ts";
 * const privateKey = genkey();
 * console.log(pubkey(privateKey).length); // 44
 * ```
 *
 * @module
 */

import { corePrimitives } from "./primitives.ts";

const KEY_LEN = 32;
/** 42 free characters, then one whose two low bits are zero, then the padding. */
const CANONICAL = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * Decodes a key: exactly 32 bytes as canonical standard base64 with padding
 * (44 characters). Returns `undefined` for anything else.
 */
export function decodeKey(b64: string): Uint8Array | undefined {
  if (!CANONICAL.test(b64)) return undefined;
  const bytes = Uint8Array.fromBase64(b64);
  return bytes.length === KEY_LEN ? bytes : undefined;
}

/** Encodes 32 key bytes as `wg` prints them. */
export function encodeKey(bytes: Uint8Array): string {
  if (bytes.length !== KEY_LEN) {
    throw new RangeError(`Cannot encode a ${bytes.length}-byte key: keys are 32 bytes`);
  }
  return bytes.toBase64();
}

/** Clears the bits X25519 ignores or fixes (RFC 7748 §5), as `wg genkey` does. */
function clamp(k: Uint8Array): void {
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;
}

/** A new private key from the system's random source, clamped. */
export function genkey(): string {
  const k = crypto.getRandomValues(new Uint8Array(KEY_LEN));
  clamp(k);
  const text = encodeKey(k);
  k.fill(0);
  return text;
}

/**
 * The public key of a private key. Throws a `TypeError` that never contains
 * the key when the text is not a key.
 */
export function pubkey(privateB64: string): string {
  const k = decodeKey(privateB64.trim());
  if (k === undefined) {
    throw new TypeError(
      "Cannot read the private key: expected 44 characters of base64 ending in '=', as printed by 'wg genkey'",
    );
  }
  try {
    return encodeKey(corePrimitives().x25519Base(k));
  } finally {
    k.fill(0);
  }
}

/** A new preshared key: 32 random bytes. */
export function genpsk(): string {
  const k = crypto.getRandomValues(new Uint8Array(KEY_LEN));
  const text = encodeKey(k);
  k.fill(0);
  return text;
}
