/**
 * The little DER (X.690) a self-signed X.509 certificate needs: lengths,
 * SEQUENCE, SET, INTEGER, OID, strings, times, BIT and OCTET STRING, and
 * context tags.
 *
 * @module
 */

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 255);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** A TLV with tag `tag` around `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concat(parts);
  return concat([Uint8Array.of(tag), length(body.length), body]);
}

export const sequence = (...parts: Uint8Array[]) => tlv(0x30, ...parts);
export const set = (...parts: Uint8Array[]) => tlv(0x31, ...parts);
/** `[n] EXPLICIT` (constructed). */
export const explicit = (n: number, ...parts: Uint8Array[]) => tlv(0xa0 | n, ...parts);
/** `[n] IMPLICIT` of a primitive type. */
export const implicit = (n: number, body: Uint8Array) => tlv(0x80 | n, body);

/** An unsigned big-endian integer (a leading zero keeps it positive). */
export function integer(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const b = bytes.subarray(start);
  return tlv(0x02, b[0] & 0x80 ? concat([Uint8Array.of(0), b]) : b);
}

export function oid(text: string): Uint8Array {
  const arcs = text.split(".").map(Number);
  const out = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) {
      groups.unshift(0x80 | (v & 0x7f));
    }
    out.push(...groups);
  }
  return tlv(0x06, Uint8Array.from(out));
}

export const utf8String = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
export const octetString = (b: Uint8Array) => tlv(0x04, b);
export const bitString = (b: Uint8Array) => tlv(0x03, Uint8Array.of(0), b);
export const boolean = (v: boolean) => tlv(0x01, Uint8Array.of(v ? 0xff : 0));

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
export function time(d: Date): Uint8Array {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}` +
    `${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  if (y < 2050) return tlv(0x17, new TextEncoder().encode(`${p(y % 100)}${rest}`));
  return tlv(0x18, new TextEncoder().encode(`${p(y, 4)}${rest}`));
}
