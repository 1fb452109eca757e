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
  const binary = atob(text);
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = binary.charCodeAt(i);
  return new Key(bytes, secret);
}

/** True when both keys hold the same bytes (not constant-time: for config checks only). */
export function sameKey(a: Key, b: Key): boolean {
  return a.bytes.every((byte, i) => byte === b.bytes[i]);
}
