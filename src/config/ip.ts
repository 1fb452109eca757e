/**
 * IP address parsing and formatting, written out by hand: IPv4 dotted quads and
 * IPv6 with `::` compression and an embedded IPv4 tail.
 *
 * Parsers throw a `TypeError` whose message is a short reason (no prefix, no
 * value), so callers can say where the text came from and what to do.
 *
 * @module
 */

/** An IP address: 4 or 16 bytes in network order. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parses a dotted quad such as `10.0.0.2`. Leading zeros are refused, as
 * `inet_pton` does, because `010` could mean 8 (octal) or 10.
 *
 * @example
 * ```ts
 * import { parseIpv4 } from "./ip.ts";
 * parseIpv4("192.168.1.20"); // Uint8Array [192, 168, 1, 20]
 * ```
 */
export function parseIpv4(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4) {
    throw new TypeError(`expected 4 dot-separated numbers, found ${parts.length}`);
  }
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!DECIMAL_OCTET.test(part)) {
      throw new TypeError(
        part === "" ? "empty number between dots" : `'${part}' is not a decimal number 0..255`,
      );
    }
    const value = Number(part);
    if (value > 255) throw new TypeError(`${value} is over 255`);
    bytes[i] = value;
  }
  return bytes;
}

/**
 * Parses an IPv6 address such as `fd00::2` or `::ffff:10.0.0.1`. Zone ids
 * (`%eth0`) are not part of an address here; callers that allow them split
 * them off first.
 */
export function parseIpv6(text: string): Uint8Array {
  if (text.includes("%")) throw new TypeError("zone ids ('%…') are not allowed here");
  const halves = text.split("::");
  if (halves.length > 2) throw new TypeError("'::' may appear only once");
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1].split(":")) : [];
  const groups: number[] = [];
  const all = [...head, ...tail];
  const tailStart = head.length;
  for (let i = 0; i < all.length; i++) {
    const group = all[i];
    const isLast = i === all.length - 1 && !(halves.length === 2 && tail.length === 0);
    if (isLast && group.includes(".")) {
      const v4 = parseIpv4(group);
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      continue;
    }
    if (!HEX_GROUP.test(group)) {
      throw new TypeError(
        group === "" ? "empty group between colons" : `'${group}' is not a group of 1-4 hex digits`,
      );
    }
    groups.push(parseInt(group, 16));
  }
  const compressed = halves.length === 2;
  if (!compressed && groups.length !== 8) {
    throw new TypeError(`expected 8 groups, found ${groups.length}`);
  }
  if (compressed && groups.length > 7) {
    throw new TypeError("'::' stands for no groups in an address that already has 8");
  }
  const headGroups = countGroups(all.slice(0, tailStart));
  const full = new Array<number>(8).fill(0);
  for (let i = 0; i < headGroups; i++) full[i] = groups[i];
  const tailGroups = groups.length - headGroups;
  for (let i = 0; i < tailGroups; i++) full[8 - tailGroups + i] = groups[headGroups + i];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = full[i] >> 8;
    bytes[2 * i + 1] = full[i] & 0xff;
  }
  return bytes;
}

function countGroups(parts: string[]): number {
  return parts.reduce((n, part) => n + (part.includes(".") ? 2 : 1), 0);
}

/** Parses an IPv4 or IPv6 address, choosing by the presence of `:`. */
export function parseIp(text: string): IpAddress {
  if (text.includes(":")) return { family: 6, bytes: parseIpv6(text) };
  return { family: 4, bytes: parseIpv4(text) };
}

/** True when `text` is an IPv4 or IPv6 address (without zone id). */
export function isIp(text: string): boolean {
  try {
    parseIp(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Formats 4 or 16 bytes as an address: IPv6 in the RFC 5952 form (lower case,
 * the longest run of two or more zero groups compressed, v4-mapped addresses
 * with a dotted tail).
 *
 * @example
 * ```ts
 * import { formatIp } from "./ip.ts";
 * formatIp(new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])); // "fd00::2"
 * ```
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.length !== 16) {
    throw new RangeError(
      `Cannot format an IP address: expected 4 or 16 bytes, got ${bytes.length}`,
    );
  }
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.subarray(12).join(".")}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLength).join(":");
  return `${left}::${right}`;
}
