/**
 * WireGuard keys as written in configs: 32 bytes in standard base64, which is
 * always 44 characters ending in one `=` (what `wg genkey`, `wg pubkey` and
 * `wg genpsk` print).
 *
 * @module
 */

import { Key } from "./types.ts";

const KEY_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * Decodes a base64 key. Throws a `TypeError` that never contains the text, so
 * a secret key cannot leak through an error message.
 *
 * @example
 * ```ts
 * import { parseKey } from "./key.ts";
 * parseKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false).bytes.length; // 32
 * ```
 */
export function parseKey(text: string, secret: boolean): Key {
  // The regular expression also pins the last character so that the two
  // unused bits are zero: every key has exactly one spelling.
  if (!KEY_BASE64.test(text)) {
    throw new TypeError("expected 44 characters of base64 ending in '='");
  }
  // Uint8Array.fromBase64 is V8's own; atob would load Deno's base64 module (~2 ms at start-up).
  return new Key(Uint8Array.fromBase64(text), secret);
}

/** True when both keys hold the same bytes (not constant-time: for config checks only). */
export function sameKey(a: Key, b: Key): boolean {
  return a.bytes.every((byte, i) => byte === b.bytes[i]);
}
