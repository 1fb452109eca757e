/**
 * What a run or a live cage relays between the host and the cage, from its
 * options and config: the one place both build it.
 *
 * @module
 */

import { type IpAddress, parseIp } from "../config/ip.ts";
import type { TunnelConfig } from "../config/types.ts";
import { readHostResolvConf } from "../dns/read_host_resolv_conf.ts";
import { resolvConfServers } from "./cage_resolver.ts";
import type { ForwardPlan } from "./forwarder.ts";
import type { SocksCredentials } from "./socks.ts";
import type { HostServiceSpec, ListenSpec, LocalForwardSpec, PublishSpec } from "./spec.ts";

/** The options that ask for relaying (the CLI's RunOptions has them). */
export interface ForwardOptions {
  readonly publish?: readonly PublishSpec[];
  readonly hostServices?: readonly HostServiceSpec[];
  readonly localForwards?: readonly LocalForwardSpec[];
  readonly socks?: ListenSpec;
  readonly socksCredentials?: SocksCredentials;
  readonly httpProxy?: ListenSpec;
}

/**
 * The cage's DNS servers as its resolv.conf has them: the config's `DNS =`,
 * else the host's (which the cage reaches only if the tunnel routes them).
 */
export function cageDnsServers(config: TunnelConfig): IpAddress[] {
  if (config.iface.dnsServers.length > 0) return config.iface.dnsServers.map((s) => parseIp(s));
  return resolvConfServers(readHostResolvConf() ?? "");
}

/** The plan, or undefined when nothing crosses. */
export function forwardPlanOf(o: ForwardOptions, config: TunnelConfig): ForwardPlan | undefined {
  if (!o.publish && !o.hostServices && !o.localForwards && !o.socks && !o.httpProxy) {
    return undefined;
  }
  const steersNames = o.socks !== undefined || o.httpProxy !== undefined ||
    (o.localForwards ?? []).some((l) => l.target.kind === "name");
  return {
    publish: o.publish ?? [],
    hostServices: o.hostServices ?? [],
    local: o.localForwards ?? [],
    socks: o.socks,
    socksCredentials: o.socksCredentials,
    httpProxy: o.httpProxy,
    dnsServers: steersNames ? cageDnsServers(config) : [],
  };
}
