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
import { readSocksAuth } from "./socks_auth.ts";
import {
  formatHostAddress,
  formatLocalForward,
  type HostServiceSpec,
  isLoopback,
  type ListenSpec,
  type LocalForwardSpec,
  type PublishSpec,
} from "./spec.ts";

/** The options that ask for relaying (the CLI's RunOptions has them). */
export interface ForwardOptions {
  readonly publish?: readonly PublishSpec[];
  readonly hostServices?: readonly HostServiceSpec[];
  readonly localForwards?: readonly LocalForwardSpec[];
  readonly socks?: ListenSpec;
  /** `--socks-auth FILE`: the proxy's login. */
  readonly socksAuthFile?: string;
  readonly httpProxy?: ListenSpec;
  /** `serve`: relays are added and removed while it runs (its API's forwards). */
  readonly liveForwards?: boolean;
}

/**
 * The cage's DNS servers as its resolv.conf has them: the config's `DNS =`,
 * else the host's (which the cage reaches only if the tunnel routes them).
 */
export function cageDnsServers(config: TunnelConfig): IpAddress[] {
  if (config.iface.dnsServers.length > 0) return config.iface.dnsServers.map((s) => parseIp(s));
  return resolvConfServers(readHostResolvConf() ?? "");
}

/**
 * A warning for each -L or proxy listening beyond loopback: whoever reaches
 * that address can use the tunnel as the user who runs wgcage.
 */
export function openListenerWarnings(o: ForwardOptions): string[] {
  const out: string[] = [];
  for (const l of o.localForwards ?? []) {
    if (!isLoopback(l.hostAddress)) {
      out.push(
        `wgcage: warning: -L ${formatLocalForward(l)} listens beyond loopback: anyone who can ` +
          `reach ${formatHostAddress(l.hostAddress)}:${l.hostPort} reaches ${
            l.target.kind === "name" ? l.target.name : formatHostAddress(l.target.address)
          }:${l.targetPort} through your tunnel; use 127.0.0.1 unless that is meant`,
      );
    }
  }
  for (const [option, spec] of [["--socks", o.socks], ["--http-proxy", o.httpProxy]] as const) {
    if (spec && !isLoopback(spec.hostAddress)) {
      const where = `${formatHostAddress(spec.hostAddress)}:${spec.hostPort}`;
      out.push(
        `wgcage: warning: ${option} listens on ${where}, beyond loopback: anyone who can reach ` +
          `${where} can use your tunnel, to every address it routes${
            option === "--socks" && o.socksAuthFile ? " (with the --socks-auth login)" : ""
          }; use 127.0.0.1 unless that is meant`,
      );
    }
  }
  return out;
}

/** The plan, or undefined when nothing crosses; warns about open listeners. */
export function forwardPlanOf(
  o: ForwardOptions,
  config: TunnelConfig,
  warn: (line: string) => void = () => {},
): ForwardPlan | undefined {
  if (
    !o.publish && !o.hostServices && !o.localForwards && !o.socks && !o.httpProxy &&
    !o.liveForwards
  ) {
    return undefined;
  }
  for (const w of openListenerWarnings(o)) warn(w);
  const steersNames = o.socks !== undefined || o.httpProxy !== undefined ||
    (o.localForwards ?? []).some((l) => l.target.kind === "name");
  return {
    publish: o.publish ?? [],
    hostServices: o.hostServices ?? [],
    local: o.localForwards ?? [],
    socks: o.socks,
    socksCredentials: o.socksAuthFile === undefined
      ? undefined
      : readSocksAuth(o.socksAuthFile, warn),
    httpProxy: o.httpProxy,
    dnsServers: steersNames ? cageDnsServers(config) : [],
    cageAddresses: config.iface.addresses.map((c) => ({ family: c.family, bytes: c.address })),
    ...(o.liveForwards ? { live: true } : {}),
  };
}

/**
 * Whether a plan relays anything (so the cage needs its socket service, and
 * the run the relay: forwarder.ts, a module of its own that a run without
 * one does not load).
 */
export function planRelays(plan: ForwardPlan): boolean {
  return plan.live === true || plan.publish.length > 0 || plan.hostServices.length > 0 ||
    (plan.local?.length ?? 0) > 0 || plan.socks !== undefined || plan.httpProxy !== undefined;
}
