/**
 * The /etc files a tunnel's cage gets: resolv.conf from `DNS =` (or the
 * host's, with a warning unless the tunnel routes its servers and they are
 * public), hosts with localhost and the cage's name, and an nsswitch.conf
 * that keeps name lookups on files and DNS.
 *
 * @module
 */

import type { TunnelConfig } from "../config/types.ts";
import type { EtcFiles } from "../cage/etc_files.ts";
import { hostsFile } from "./hosts.ts";
import { nsswitchConf } from "./nsswitch.ts";
import { readHostResolvConf } from "./read_host_resolv_conf.ts";
import { resolvConf } from "./resolv_conf.ts";

export function cageEtcFiles(
  config: TunnelConfig,
  hostname: string,
  warn: (line: string) => void,
): EtcFiles {
  const resolv = resolvConf({
    servers: config.iface.dnsServers,
    search: config.iface.dnsSearch,
    hostResolvConf: config.iface.dnsServers.length > 0 ? undefined : readHostResolvConf(),
    routes: config.peers.flatMap((peer) => peer.allowedIps),
  });
  if (resolv.warning) warn(resolv.warning);
  return { resolvConf: resolv.text, hosts: hostsFile(hostname), nsswitchConf: nsswitchConf() };
}
