/**
 * The server's subnets: the server takes the first host address, clients the
 * lowest free one after it in the IPv4 subnet, and, with an IPv6 subnet
 * beside it, the address of the same host number there (so the IPv6 address
 * follows from the IPv4 one, and nothing more is kept per client).
 *
 * @module
 */

import type { Cidr } from "../config/types.ts";
import { maskCidr } from "../config/cidr.ts";
import { formatIp } from "../config/ip.ts";

export class Subnet {
  /** The network address as a number, and the prefix length. */
  readonly #base: number;
  readonly #prefix: number;
  readonly #size: number;

  constructor(cidr: Cidr) {
    if (cidr.family !== 4) throw new RangeError("only IPv4 subnets are supported");
    if (cidr.prefix > 30) throw new RangeError("the subnet needs a prefix of /30 or shorter");
    const net = maskCidr(cidr).address;
    this.#base = ((net[0] << 24) | (net[1] << 16) | (net[2] << 8) | net[3]) >>> 0;
    this.#prefix = cidr.prefix;
    this.#size = 2 ** (32 - cidr.prefix);
  }

  /** How many clients fit: every host address but the server's (no network, no broadcast). */
  get capacity(): number {
    return this.#size - 3;
  }

  /** Host number `n` (1 = the server) as text. */
  address(n: number): string {
    const v = this.#base + n;
    return formatIp(Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255));
  }

  /** The server's interface address with the subnet's prefix, e.g. `10.200.0.1/24`. */
  get serverAddress(): string {
    return `${this.address(1)}/${this.#prefix}`;
  }

  /** The subnet itself, e.g. `10.200.0.0/24` (a client's AllowedIPs for the hub). */
  get network(): string {
    return `${this.address(0)}/${this.#prefix}`;
  }

  /** The host number of an address in the subnet, or undefined. */
  hostOf(address: string): number | undefined {
    const parts = address.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
      return undefined;
    }
    const v = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
    const n = v - this.#base;
    return n > 1 && n < this.#size - 1 ? n : undefined;
  }

  /** The lowest client address not in `used`, or undefined when the subnet is full. */
  allocate(used: ReadonlySet<string>): string | undefined {
    for (let n = 2; n < this.#size - 1; n++) {
      const a = this.address(n);
      if (!used.has(a)) return a;
    }
    return undefined;
  }
}

/** The IPv6 subnet beside the IPv4 one: host numbers as {@linkcode Subnet}'s. */
export class Subnet6 {
  readonly #base: bigint;
  readonly #prefix: number;

  constructor(cidr: Cidr) {
    if (cidr.family !== 6) throw new RangeError("an IPv6 prefix is needed");
    const net = maskCidr(cidr).address;
    this.#base = net.reduce((v, b) => (v << 8n) | BigInt(b), 0n);
    this.#prefix = cidr.prefix;
  }

  /** Host number `n` (1 = the server) as text. */
  address(n: number): string {
    let v = this.#base + BigInt(n);
    const bytes = new Uint8Array(16);
    for (let i = 15; i >= 0; i--) {
      bytes[i] = Number(v & 255n);
      v >>= 8n;
    }
    return formatIp(bytes);
  }

  /** The server's interface address with the prefix, e.g. `fd00:200::1/64`. */
  get serverAddress(): string {
    return `${this.address(1)}/${this.#prefix}`;
  }

  /** The subnet itself, e.g. `fd00:200::/64`. */
  get network(): string {
    return `${this.address(0)}/${this.#prefix}`;
  }
}
