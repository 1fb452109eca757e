/**
 * The cage's routes follow the peers' AllowedIPs: one route per prefix
 * through the tunnel, added and deleted over the cage's netlink socket as
 * the control service changes them.
 *
 * @module
 */

import type { Cidr } from "../config/types.ts";
import { formatCidr, maskCidr } from "../config/cidr.ts";
import type { NetlinkTransport } from "../netlink/transport.ts";
import { getLink } from "../netlink/link.ts";
import { addRoute, addRouteRequest } from "../netlink/route.ts";
import { requestWithAck } from "../netlink/conversation.ts";

const RTM_DELROUTE = 25;
const EEXIST = 17;
const ESRCH = 3;

function deleteRoute(nl: NetlinkTransport, index: number, cidr: Cidr): void {
  const add = addRouteRequest(index, cidr);
  requestWithAck(nl, { ...add, type: RTM_DELROUTE, flags: 1 }, () => ({
    what: `delete route ${formatCidr(maskCidr(cidr))}`,
  }));
}

/** The distinct (masked) prefixes of every peer. */
export function routeSet(lists: Iterable<readonly Cidr[]>): Map<string, Cidr> {
  const out = new Map<string, Cidr>();
  for (const list of lists) {
    for (const c of list) {
      const m = maskCidr(c);
      out.set(formatCidr(m), m);
    }
  }
  return out;
}

/** Adds the routes `after` has and `before` had not, deletes the others. */
export function followRoutes(
  nl: NetlinkTransport,
  tunName: string,
  before: Map<string, Cidr>,
  after: Map<string, Cidr>,
): void {
  const index = getLink(nl, tunName).index;
  for (const [key, cidr] of after) {
    if (before.has(key)) continue;
    try {
      addRoute(nl, index, tunName, cidr);
    } catch (e) {
      if ((e as { errno?: number }).errno !== EEXIST) throw e;
    }
  }
  for (const [key, cidr] of before) {
    if (after.has(key)) continue;
    try {
      deleteRoute(nl, index, cidr);
    } catch (e) {
      if ((e as { errno?: number }).errno !== ESRCH) throw e;
    }
  }
}
