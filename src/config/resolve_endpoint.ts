/**
 * Endpoint name resolution with the host's own resolver.
 *
 * `node:dns/promises` `lookup` goes through getaddrinfo, so /etc/hosts and
 * nsswitch.conf are honoured as for any other program on the host
 * (`Deno.resolveDns` would ask DNS servers directly and skip both).
 *
 * @module
 */

import type { EndpointSpec } from "./types.ts";
import { ConfigError } from "./config_error.ts";
import { formatEndpoint, parseIpv6WithZone, type ResolvedEndpoint } from "./endpoint.ts";
import { parseIp, parseIpv4 } from "./ip.ts";

/** One getaddrinfo answer, as `node:dns` gives it. */
export interface LookupAnswer {
  readonly address: string;
  readonly family: number;
}

/** What {@linkcode resolveEndpoint} needs from the host; tests pass fakes. */
export interface ResolverIo {
  /** All addresses for a name, in the resolver's preferred order. */
  lookup(host: string): Promise<readonly LookupAnswer[]>;
  /** The index of a network interface, for `%eth0` zones. */
  interfaceIndex(name: string): Promise<number>;
}

/** The host's resolver and /sys/class/net. */
export const hostResolver: ResolverIo = {
  // Loaded only for a host name: Node compatibility costs ~26 ms of start-up.
  lookup: async (host) => {
    const { lookup } = await import("node:dns/promises");
    return await lookup(host, { all: true, verbatim: true });
  },
  async interfaceIndex(name) {
    const text = await Deno.readTextFile(`/sys/class/net/${name}/ifindex`);
    return Number(text.trim());
  },
};

/**
 * Turns a configured endpoint into an address to send to. IP literals need no
 * lookup; names take the first address the host's resolver returns. Fails with
 * a {@linkcode ConfigError}: `Cannot resolve endpoint 'vpn.example.com:51820':
 * <cause>; check the name or use an IP address`.
 */
export async function resolveEndpoint(
  spec: EndpointSpec,
  io: ResolverIo = hostResolver,
): Promise<ResolvedEndpoint> {
  return (await resolveEndpointAll(spec, io))[0];
}

/** True when the endpoint's host is a name (to look up), not an IP literal. */
export function isHostName(spec: EndpointSpec): boolean {
  return !spec.host.includes(":") && !/^[0-9.]+$/.test(spec.host);
}

/**
 * Every address an endpoint has, in the resolver's order (IPv6 and IPv4 as
 * the host prefers them), each once; an IP literal gives itself. Fails as
 * {@linkcode resolveEndpoint} does.
 */
export async function resolveEndpointAll(
  spec: EndpointSpec,
  io: ResolverIo = hostResolver,
): Promise<ResolvedEndpoint[]> {
  const shown = formatEndpoint(spec);
  if (spec.host.includes(":")) {
    const { bytes, zone } = parseIpv6WithZone(spec.host);
    const scopeId = zone === undefined ? 0 : await zoneIndex(zone, shown, io);
    return [{ family: 6, port: spec.port, scopeId, address: bytes }];
  }
  if (!isHostName(spec)) {
    return [{ family: 4, port: spec.port, scopeId: 0, address: parseIpv4(spec.host) }];
  }
  let answers: readonly LookupAnswer[];
  try {
    answers = await io.lookup(spec.host);
  } catch (error) {
    throw new ConfigError(
      `wgcage: Cannot resolve endpoint '${shown}': ${
        lookupCause(error)
      }; check the name or use an IP address`,
      { cause: error },
    );
  }
  if (answers.length === 0) {
    throw new ConfigError(
      `wgcage: Cannot resolve endpoint '${shown}': the resolver returned no address; check the name or use an IP address`,
    );
  }
  const seen = new Set<string>();
  const out: ResolvedEndpoint[] = [];
  for (const answer of answers) {
    const text = answer.address.split("%")[0];
    if (seen.has(text)) continue;
    seen.add(text);
    const address = parseIp(text);
    out.push({ family: address.family, port: spec.port, scopeId: 0, address: address.bytes });
  }
  return out;
}

async function zoneIndex(zone: string, shown: string, io: ResolverIo): Promise<number> {
  if (/^[0-9]+$/.test(zone)) return Number(zone);
  try {
    return await io.interfaceIndex(zone);
  } catch {
    throw new ConfigError(
      `wgcage: Cannot resolve endpoint '${shown}': no network interface '${zone}'; use the name or index of a host interface (see 'ip link')`,
    );
  }
}

function lookupCause(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === "ENOTFOUND") return "no such host";
  if (code === "EAI_AGAIN") return "the name server did not answer (temporary failure)";
  if (typeof code === "string") return code;
  return error instanceof Error ? error.message : String(error);
}
