/**
 * The shape of a parsed tunnel configuration, shared by the config parser, the
 * cage (addresses, routes, DNS), and the data path (keys, peers, endpoints).
 *
 * @module
 */

/** An IP prefix such as `10.0.0.2/32` or `fd00::/64`. */
export interface Cidr {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order; host bits may be set (an interface address). */
  readonly address: Uint8Array;
  readonly prefix: number;
}

/**
 * 32 bytes of key material. Secret keys print as `<redacted>` so that they
 * never reach a log line, an error message, or `console.log`.
 */
export class Key {
  readonly bytes: Uint8Array;
  readonly secret: boolean;
  constructor(bytes: Uint8Array, secret: boolean) {
    if (bytes.length !== 32) {
      throw new RangeError(`Cannot make a key: expected 32 bytes, got ${bytes.length}`);
    }
    this.bytes = bytes;
    this.secret = secret;
  }
  /** Overwrites the key material with zeros. */
  wipe(): void {
    this.bytes.fill(0);
  }
  toString(): string {
    return this.secret ? "<redacted>" : this.bytes.toBase64();
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.for("Deno.customInspect")](): string {
    return this.secret ? "Key(<redacted>)" : `Key(${this.toString()})`;
  }
}

/** A peer's endpoint as written in the config, before name resolution. */
export interface EndpointSpec {
  readonly host: string;
  readonly port: number;
}

export interface InterfaceConfig {
  readonly privateKey: Key;
  /** Interface addresses with their prefix, v4 and v6. */
  readonly addresses: readonly Cidr[];
  /** `DNS =` entries that are IP addresses. */
  readonly dnsServers: readonly string[];
  /** `DNS =` entries that are not IP addresses: search domains. */
  readonly dnsSearch: readonly string[];
  /** Tunnel MTU; 1420 unless configured. */
  readonly mtu: number;
  /** UDP port to listen on; undefined picks any free port. */
  readonly listenPort?: number;
}

export interface PeerConfig {
  readonly publicKey: Key;
  readonly presharedKey?: Key;
  readonly allowedIps: readonly Cidr[];
  readonly endpoint?: EndpointSpec;
  /** Seconds; 0 is off. */
  readonly persistentKeepalive: number;
}

export interface TunnelConfig {
  /** Where it came from, for messages: a file path, `<stdin>`, `$VAR`, or `<flags>`. */
  readonly source: string;
  readonly iface: InterfaceConfig;
  readonly peers: readonly PeerConfig[];
  /** Lines the parser read but does not act on (Table, PostUp, …), already worded as warnings. */
  readonly warnings: readonly string[];
}
