/**
 * The DNS servers the server's clients are given: the
 * host's, reached through the way out, unless they are local to the host
 * (a 127.0.0.53 stub is the host's alone); none for a hub.
 *
 * @module
 */

import { readHostResolvConf } from "../dns/read_host_resolv_conf.ts";
import { isLocalResolver, nameserverOf } from "../dns/resolv_conf.ts";

const IPV4 = /^[0-9.]+$/;

/** The servers for the clients, from the host's resolv.conf (`text`, read when not given). */
export function hostDns(noEgress: boolean, text?: string): string[] {
  if (noEgress) return [];
  // IPv4 servers only: the clients' DNS = entries.
  return (text ?? readHostResolvConf() ?? "").split("\n")
    .map(nameserverOf)
    .filter((s): s is string => s !== undefined && IPV4.test(s) && !isLocalResolver(s))
    .slice(0, 3);
}
