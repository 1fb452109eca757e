/**
 * CIDR prefixes (`10.0.0.2/32`, `fd00::/64`): parsing, masking, formatting.
 *
 * @module
 */

import type { Cidr } from "./types.ts";
import { formatIp, parseIp } from "./ip.ts";

const PREFIX_DIGITS = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parses `ADDRESS/PREFIX`; without `/PREFIX` the address is a single host
 * (/32 or /128). Host bits are kept as written (an interface address like
 * `10.0.0.2/24` needs them); use {@linkcode maskCidr} for routes. Throws a
 * `TypeError` with a short reason.
 *
 * @example
 * ```ts
 * import { parseCidr, formatCidr } from "./cidr.ts";
 * formatCidr(parseCidr("fd00::2")); // "fd00::2/128"
 * ```
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  if (addressText === "") throw new TypeError("the address is missing");
  if (addressText.includes("%")) throw new TypeError("zone ids ('%…') are not allowed in a CIDR");
  const address = parseIp(addressText);
  const maxPrefix = address.family === 4 ? 32 : 128;
  if (slash < 0) return { family: address.family, address: address.bytes, prefix: maxPrefix };
  const prefixText = text.slice(slash + 1);
  if (!PREFIX_DIGITS.test(prefixText)) {
    throw new TypeError(
      prefixText === ""
        ? "the prefix length after '/' is missing"
        : `'/${prefixText}' is not a prefix length`,
    );
  }
  const prefix = Number(prefixText);
  if (prefix > maxPrefix) {
    throw new TypeError(`prefix length ${prefix} is over ${maxPrefix}`);
  }
  return { family: address.family, address: address.bytes, prefix };
}

/** Returns the prefix with its host bits cleared (`10.0.0.2/24` → `10.0.0.0/24`). */
export function maskCidr(cidr: Cidr): Cidr {
  const address = new Uint8Array(cidr.address);
  for (let bit = cidr.prefix; bit < address.length * 8; bit++) {
    address[bit >> 3] &= ~(0x80 >> (bit & 7));
  }
  return { family: cidr.family, address, prefix: cidr.prefix };
}

/** Formats a prefix as `ADDRESS/PREFIX`, IPv6 in its RFC 5952 form. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.address)}/${cidr.prefix}`;
}

/** True when both prefixes have the same family, address bytes and length. */
export function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.prefix === b.prefix &&
    a.address.every((byte, i) => byte === b.address[i]);
}
