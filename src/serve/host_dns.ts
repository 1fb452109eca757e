/**
 * The DNS servers the server's clients are given: the
 * host's, reached through the way out, unless they are local to the host
 * (a 127.0.0.53 stub is the host's alone); none for a hub.
 *
 * @module
 */

import { readHostResolvConf } from "../dns/read_host_resolv_conf.ts";
import { isLocalResolver } from "../dns/resolv_conf.ts";

export function hostDns(noEgress: boolean): string[] {
  if (noEgress) return [];
  const text = readHostResolvConf() ?? "";
  return text.split("\n")
    .map((l) => /^\s*nameserver\s+([0-9.]+)\s*$/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined && !isLocalResolver(s))
    .slice(0, 3);
}
