/**
 * Peer endpoints as written (`host:port`, `[v6]:port`, `[fe80::1%eth0]:port`)
 * and as resolved (family, address bytes, port, scope id), with formatters.
 *
 * @module
 */

import type { EndpointSpec } from "./types.ts";
import { formatIp, parseIpv4, parseIpv6 } from "./ip.ts";

/** An endpoint after name resolution: what the data path sends to. */
export interface ResolvedEndpoint {
  readonly family: 4 | 6;
  readonly port: number;
  /** The IPv6 scope (interface index) of a link-local address; 0 otherwise. */
  readonly scopeId: number;
  /** 4 or 16 bytes, network order. */
  readonly address: Uint8Array;
}

const PORT_DIGITS = /^[0-9]{1,5}$/;
const HOST_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
const ZONE = /^[A-Za-z0-9_.-]{1,15}$/;

/**
 * Parses a UDP port, 1..65535 (0 too when `allowZero`). Throws a `TypeError`
 * with a short reason.
 */
export function parsePort(text: string, allowZero = false): number {
  if (!PORT_DIGITS.test(text)) {
    throw new TypeError(text === "" ? "the port is empty" : `'${text}' is not a port number`);
  }
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) {
    throw new TypeError(`port ${port} is outside ${allowZero ? 0 : 1}..65535`);
  }
  return port;
}

/**
 * Splits an IPv6 host with an optional zone (`fe80::1%eth0`) and checks both
 * parts. Throws a `TypeError` with a short reason.
 */
export function parseIpv6WithZone(text: string): { bytes: Uint8Array; zone?: string } {
  const percent = text.indexOf("%");
  if (percent < 0) return { bytes: parseIpv6(text) };
  const zone = text.slice(percent + 1);
  if (!ZONE.test(zone)) throw new TypeError(`'${zone}' is not an interface name or index`);
  return { bytes: parseIpv6(text.slice(0, percent)), zone };
}

/**
 * Parses `host:port`, `[ipv6]:port` or `[ipv6%zone]:port`. Host names are
 * checked for shape only; they are resolved later by
 * {@linkcode resolveEndpoint}. Throws a `TypeError` with a short reason.
 *
 * @example
 * ```ts
 * import { parseEndpointSpec } from "./endpoint.ts";
 * parseEndpointSpec("[fd00::1]:51820"); // { host: "fd00::1", port: 51820 }
 * ```
 */
export function parseEndpointSpec(text: string): EndpointSpec {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw new TypeError("the ']' after the IPv6 address is missing");
    const host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (!rest.startsWith(":")) throw new TypeError("the ':PORT' after ']' is missing");
    parseIpv6WithZone(host);
    return { host, port: parsePort(rest.slice(1)) };
  }
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw new TypeError("the ':PORT' is missing");
  const host = text.slice(0, colon);
  if (host.includes(":")) {
    throw new TypeError("an IPv6 address needs brackets, as in [fd00::1]:51820");
  }
  checkHost(host);
  return { host, port: parsePort(text.slice(colon + 1)) };
}

function checkHost(host: string): void {
  if (host === "") throw new TypeError("the host is missing");
  if (/^[0-9.]+$/.test(host)) {
    parseIpv4(host);
    return;
  }
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (
    name.length > 253 ||
    !name.split(".").every((label) => label.length <= 63 && HOST_LABEL.test(label))
  ) {
    throw new TypeError(`'${host}' is not a host name or IP address`);
  }
}

/**
 * Formats an endpoint for messages: `host:port` for a spec, `addr:port` or
 * `[addr%scope]:port` for a resolved endpoint.
 */
export function formatEndpoint(endpoint: EndpointSpec | ResolvedEndpoint): string {
  if ("host" in endpoint) {
    return endpoint.host.includes(":")
      ? `[${endpoint.host}]:${endpoint.port}`
      : `${endpoint.host}:${endpoint.port}`;
  }
  const address = formatIp(endpoint.address);
  if (endpoint.family === 4) return `${address}:${endpoint.port}`;
  const scope = endpoint.scopeId !== 0 ? `%${endpoint.scopeId}` : "";
  return `[${address}${scope}]:${endpoint.port}`;
}
