/**
 * The little of DNS (RFC 1035; AAAA, RFC 3596) that resolving a name inside
 * the cage needs: one question for A or AAAA, and the addresses of the
 * answer. Answers are checked against the question (id, flags, name, type)
 * and read with bounds on every field: the server is reached through the
 * tunnel, but what comes back is input.
 *
 * @module
 */

import type { IpAddress } from "../config/ip.ts";

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
const TYPE_CNAME = 5;
const CLASS_IN = 1;

/** Encodes a recursive query for `name`. Throws a `TypeError` for a name DNS cannot carry. */
export function encodeQuery(id: number, name: string, type: number): Uint8Array {
  const labels = name.replace(/\.$/, "").split(".");
  const out: number[] = [id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of labels) {
    const bytes = new TextEncoder().encode(label);
    if (bytes.length < 1 || bytes.length > 63) throw new TypeError(`label '${label}' of ${name}`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  if (out.length - 12 > 255) throw new TypeError(`${name} is longer than DNS allows`);
  out.push(type >> 8, type & 0xff, 0, CLASS_IN);
  return new Uint8Array(out);
}

/** What an answer said. */
export type Answer =
  | { readonly kind: "addresses"; readonly addresses: IpAddress[] }
  | { readonly kind: "rcode"; readonly rcode: number };

class Reader {
  at = 0;
  readonly b: Uint8Array;
  constructor(b: Uint8Array) {
    this.b = b;
  }
  u8(): number {
    if (this.at + 1 > this.b.length) throw new RangeError("truncated");
    return this.b[this.at++];
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  skip(n: number): void {
    if (this.at + n > this.b.length) throw new RangeError("truncated");
    this.at += n;
  }
  /** A name, lower-cased, following at most 32 compression pointers. */
  name(): string {
    const labels: string[] = [];
    let at = this.at;
    let jumped = false;
    for (let hops = 0; hops < 32; hops++) {
      if (at >= this.b.length) throw new RangeError("truncated");
      const len = this.b[at];
      if (len === 0) {
        if (!jumped) this.at = at + 1;
        return labels.join(".").toLowerCase();
      }
      if ((len & 0xc0) === 0xc0) {
        if (at + 1 >= this.b.length) throw new RangeError("truncated");
        if (!jumped) this.at = at + 2;
        jumped = true;
        at = ((len & 0x3f) << 8) | this.b[at + 1];
        continue;
      }
      if ((len & 0xc0) !== 0 || at + 1 + len > this.b.length) throw new RangeError("bad label");
      labels.push(new TextDecoder().decode(this.b.subarray(at + 1, at + 1 + len)));
      at += 1 + len;
    }
    throw new RangeError("a compression loop");
  }
}

/**
 * Reads the answer to {@linkcode encodeQuery}'s question: the addresses of
 * `type` (following the CNAME chain the server sent), or the error code.
 * Throws a `RangeError` for a message that is not the answer to it.
 */
export function parseAnswer(msg: Uint8Array, id: number, name: string, type: number): Answer {
  const r = new Reader(msg);
  if (r.u16() !== id) throw new RangeError("another query's answer");
  const flags = r.u16();
  if ((flags & 0x8000) === 0) throw new RangeError("not an answer");
  if ((flags & 0x0200) !== 0) throw new RangeError("truncated (TC)");
  const rcode = flags & 0x000f;
  const qd = r.u16();
  const an = r.u16();
  r.skip(4);
  if (qd !== 1) throw new RangeError("not one question");
  const asked = name.replace(/\.$/, "").toLowerCase();
  if (r.name() !== asked || r.u16() !== type || r.u16() !== CLASS_IN) {
    throw new RangeError("an answer to another question");
  }
  if (rcode !== 0) return { kind: "rcode", rcode };
  const names = new Set([asked]);
  const addresses: IpAddress[] = [];
  for (let i = 0; i < an; i++) {
    const owner = r.name();
    const rtype = r.u16();
    const rclass = r.u16();
    r.skip(4);
    const len = r.u16();
    const start = r.at;
    r.skip(len);
    if (rclass !== CLASS_IN || !names.has(owner)) continue;
    if (rtype === TYPE_CNAME) {
      const inner = new Reader(msg);
      inner.at = start;
      names.add(inner.name());
    } else if (rtype === type && type === TYPE_A && len === 4) {
      addresses.push({ family: 4, bytes: msg.slice(start, start + 4) });
    } else if (rtype === type && type === TYPE_AAAA && len === 16) {
      addresses.push({ family: 6, bytes: msg.slice(start, start + 16) });
    }
  }
  return { kind: "addresses", addresses };
}
