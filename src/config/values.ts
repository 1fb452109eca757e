/**
 * Value parsers shared by the wg-quick file and the command-line flags. Each
 * takes a {@linkcode Site} saying where the value was written, and throws a
 * {@linkcode ConfigError} whose one line names that place, the problem and the
 * fix. Values of secret keys never appear in a message.
 *
 * @module
 */

import type { Cidr, EndpointSpec, Key } from "./types.ts";
import { ConfigError } from "./config_error.ts";
import { maskCidr, parseCidr } from "./cidr.ts";
import { parseEndpointSpec, parsePort } from "./endpoint.ts";
import { formatIp, parseIp } from "./ip.ts";
import { parseKey } from "./key.ts";

/** Where a value was written: a file line or a flag. */
export interface Site {
  /** `"wg.conf:7: "` for a file line, `""` for a flag. */
  readonly at: string;
  /** What the user wrote the value under: `"MTU"` or `"--mtu"`. */
  readonly name: string;
}

/** The site of a file line. */
export function lineSite(source: string, line: number, name: string): Site {
  return { at: `${source}:${line}: `, name };
}

/** The site of a command-line flag. */
export function flagSite(flag: string): Site {
  return { at: "", name: flag };
}

/** Throws a {@linkcode ConfigError} for `site`. */
export function fail(site: Site, problem: string): never {
  throw new ConfigError(`wgcage: ${site.at}${problem}`);
}

/** Where keys come from, for the hint in an error message. */
export type KeyKind = "private" | "public" | "preshared";

const KEY_TOOL: Record<KeyKind, string> = {
  private: "wg genkey",
  public: "wg pubkey",
  preshared: "wg genpsk",
};

/** Parses a base64 key; the message never contains the value. */
export function parseKeyValue(site: Site, text: string, kind: KeyKind): Key {
  try {
    return parseKey(text, kind !== "public");
  } catch {
    return fail(
      site,
      `${site.name} is not a valid key (expected 44 characters of base64, as printed by '${
        KEY_TOOL[kind]
      }')`,
    );
  }
}

/** Splits a comma-separated list, trimming entries and skipping empty ones. */
export function splitList(text: string): string[] {
  return text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
}

/** Parses interface addresses (host bits kept; no prefix means /32 or /128). */
export function parseAddresses(site: Site, text: string): Cidr[] {
  return splitList(text).map((entry) => parseCidrValue(site, entry, false));
}

/** Parses AllowedIPs: prefixes with host bits cleared, as routes need them. */
export function parseAllowedIps(site: Site, text: string): Cidr[] {
  return splitList(text).map((entry) => parseCidrValue(site, entry, true));
}

function parseCidrValue(site: Site, entry: string, mask: boolean): Cidr {
  try {
    const cidr = parseCidr(entry);
    return mask ? maskCidr(cidr) : cidr;
  } catch (error) {
    return fail(
      site,
      `${site.name} '${entry}' is not a valid CIDR (${reason(error)}); write it like ${
        mask ? "10.0.0.0/24 or fd00::/64" : "10.0.0.2/32 or fd00::2/128"
      }`,
    );
  }
}

/** DNS entries: IP addresses are servers, other entries are search domains. */
export interface DnsEntries {
  readonly servers: string[];
  readonly search: string[];
  /** Search domains that look like a mistyped server address, worded as warnings. */
  readonly warnings: string[];
}

/**
 * True for text holding a run of 20 or more base64 characters with both
 * upper and lower case letters: a key or part of one (a random run of 20
 * lacks either case once in 15,000). Host names and search domains are
 * case-insensitive, so a real one can always be written in lower case.
 */
export function looksLikeKey(text: string): boolean {
  for (const [run] of text.matchAll(/[A-Za-z0-9+/]{20,}/g)) {
    if (/[A-Z]/.test(run) && /[a-z]/.test(run)) return true;
  }
  return false;
}

/** An IPv4 address inside a longer text, e.g. in `a10.77.0.1`. */
const EMBEDDED_IPV4 = /(?:^|[^0-9])((?:[0-9]{1,3}\.){3}[0-9]{1,3})(?![0-9])/;

const DOMAIN =
  /^([A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?\.?$/;

/**
 * Parses `DNS =` entries into servers and search domains. A search domain
 * that looks like a mistyped address (its last label is a number, or an
 * IPv4 address is inside it) is kept, with a warning.
 */
export function parseDns(site: Site, text: string): DnsEntries {
  const entries: DnsEntries = { servers: [], search: [], warnings: [] };
  for (const entry of splitList(text)) {
    if (entry.includes(":") || /^[0-9.]+$/.test(entry)) {
      try {
        entries.servers.push(formatIp(parseIp(entry).bytes));
      } catch (error) {
        fail(
          site,
          `${site.name} entry '${entry}' is not a valid IP address (${
            reason(error)
          }); write a server like 10.0.0.1 or fd00::1`,
        );
      }
    } else if (looksLikeKey(entry)) {
      fail(
        site,
        `${site.name} entry looks like a key (a long run of mixed-case letters), not a server or a search domain; write servers like 10.0.0.1 and domains in lower case, like corp.example`,
      );
    } else if (DOMAIN.test(entry) && entry.length <= 253) {
      entries.search.push(entry);
      const address = EMBEDDED_IPV4.exec(entry)?.[1];
      if (address !== undefined || /(^|\.)[0-9]+\.?$/.test(entry)) {
        const fix = address !== undefined
          ? `if it is meant as a server, write the address alone (${address})`
          : "if it is meant as a server, write its IP address";
        entries.warnings.push(
          `wgcage: ${site.at}${site.name} entry '${entry}' is not an IP address, taken as a search domain; ${fix}`,
        );
      }
    } else {
      fail(
        site,
        `${site.name} entry '${entry}' is neither an IP address nor a search domain; write servers like 10.0.0.1 and domains like corp.example`,
      );
    }
  }
  return entries;
}

const DECIMAL = /^[0-9]+$/;

/** Parses an MTU number; the range is checked once the addresses are known. */
export function parseMtu(site: Site, text: string): number {
  if (!DECIMAL.test(text) || text.length > 6) {
    fail(site, `${site.name} '${text}' is not a number; use e.g. 1420`);
  }
  return Number(text);
}

/**
 * The MTU range: 576..9000, or 1280..9000 when every address is IPv6. Below
 * 1280 the cage leaves its IPv6 addresses and routes out with a warning
 * (netlink/configure.ts fitToMtu), so a config with IPv4 too still works
 * (VPN providers' configs carry both, and mobile or PPPoE links want a small
 * MTU); with IPv6 alone nothing would be left.
 */
export function checkMtu(site: Site, mtu: number, onlyIpv6: boolean): void {
  if (onlyIpv6 && mtu < 1280) {
    fail(
      site,
      `${site.name} ${mtu} is below 1280, the minimum for IPv6, and every address is IPv6; raise it to 1280..9000 or add an IPv4 address`,
    );
  }
  if (mtu < 576 || mtu > 9000) {
    fail(site, `${site.name} ${mtu} is outside 576..9000; use a value in range, e.g. 1420`);
  }
}

/** Parses a listen port, 0..65535; 0 means any free port (undefined). */
export function parseListenPort(site: Site, text: string): number | undefined {
  try {
    const port = parsePort(text, true);
    return port === 0 ? undefined : port;
  } catch (error) {
    return fail(
      site,
      `${site.name} '${text}' is not valid (${reason(error)}); use a port number, e.g. 51820`,
    );
  }
}

/** Parses a persistent keepalive: `off`, or seconds 0..65535 (0 is off). */
export function parseKeepalive(site: Site, text: string): number {
  if (text.toLowerCase() === "off") return 0;
  if (DECIMAL.test(text) && text.length <= 5 && Number(text) <= 65535) return Number(text);
  return fail(
    site,
    `${site.name} '${text}' is not valid; use 'off' or seconds 1..65535 (25 is common)`,
  );
}

/** Parses a peer endpoint: `host:port`, `[ipv6]:port`. */
export function parseEndpointValue(site: Site, text: string): EndpointSpec {
  let spec: EndpointSpec;
  try {
    spec = parseEndpointSpec(text);
  } catch (error) {
    return fail(
      site,
      `${site.name} '${text}' is not valid (${
        reason(error)
      }); write it as HOST:PORT or [IPV6]:PORT, e.g. vpn.example.com:51820`,
    );
  }
  // A key there would be looked up with the host's resolver, and so sent out.
  if (looksLikeKey(spec.host)) {
    fail(
      site,
      `${site.name} host looks like a key (a long run of mixed-case letters), not a host name; write the peer's HOST:PORT, a host name in lower case`,
    );
  }
  return spec;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
