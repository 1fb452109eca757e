/**
 * Brings the cage's network up over its netlink socket: `lo` up, the TUN's
 * MTU set and the TUN up, its addresses added, and one route per prefix that
 * should go through the tunnel.
 *
 * @module
 */

import { formatCidr, maskCidr } from "../config/cidr.ts";
import type { Cidr } from "../config/types.ts";
import { addAddress } from "./address.ts";
import { disableLinkLocal, getLink, setLink } from "./link.ts";
import { addRoute, listRoutes, RT_TABLE_MAIN } from "./route.ts";
import type { NetlinkTransport } from "./transport.ts";

/** What the cage's links should look like. */
export interface LinkPlan {
  /** The TUN device's name in the cage, e.g. `wg0`. */
  readonly tunName: string;
  readonly mtu: number;
  /** Addresses of the TUN, v4 and v6, with their prefix. */
  readonly addresses: readonly Cidr[];
  /** Prefixes routed through the TUN (the peers' AllowedIPs); /0 is a default route. */
  readonly routes: readonly Cidr[];
}

/** The smallest MTU IPv6 allows (RFC 8200, 5); the kernel takes IPv6 off a smaller link. */
export const IPV6_MIN_MTU = 1280;

/**
 * The plan as the link can carry it: below 1280 bytes the kernel removes
 * IPv6 from the link (its routes then fail with ENODEV), so the IPv6
 * addresses and routes are left out, with one warning line naming what was
 * dropped. wg-quick would fail there; the default AllowedIPs include ::/0, so
 * a small MTU chosen for IPv4 alone would otherwise stop every run. (The
 * config refuses such an MTU when every address is IPv6: nothing would be
 * left.)
 */
export function fitToMtu(plan: LinkPlan): { plan: LinkPlan; warning?: string } {
  if (plan.mtu >= IPV6_MIN_MTU) return { plan };
  const v6 = (c: Cidr) => c.family === 6;
  const dropped = [...plan.addresses.filter(v6), ...plan.routes.filter(v6)];
  if (dropped.length === 0) return { plan };
  const shown = dropped.slice(0, 3).map(formatCidr).join(", ") +
    (dropped.length > 3 ? ` and ${dropped.length - 3} more` : "");
  return {
    plan: {
      ...plan,
      addresses: plan.addresses.filter((c) => !v6(c)),
      routes: plan.routes.filter((c) => !v6(c)),
    },
    warning: `wgcage: MTU ${plan.mtu} is below ${IPV6_MIN_MTU}, the minimum for IPv6, so the ` +
      `cage has no IPv6 (${shown} left out); raise MTU to ${IPV6_MIN_MTU} or more for IPv6, or ` +
      "take IPv6 out of Address and AllowedIPs",
  };
}

/**
 * Configures the links of the namespace that `nl`'s socket lives in, in this
 * order: look up `lo` and the TUN, bring `lo` up, set the TUN's MTU and bring
 * it up (routes need an up link), add the addresses, add the routes.
 *
 * A route whose prefix the main table already sends through the TUN (the
 * connected route of an address such as `10.0.0.2/24`, or a prefix listed
 * twice) is left as it is; any other route for the same prefix (through
 * another link) fails with EEXIST. Throws {@linkcode NetlinkError} on the first
 * request the kernel refuses.
 *
 * @example
 * ```ts ignore
 * import { configureLinks } from "./configure.ts";
 * import { parseCidr } from "../config/cidr.ts";
 * configureLinks(cage.netlink(), {
 *   tunName: "wg0",
 *   mtu: 1420,
 *   addresses: [parseCidr("10.0.0.2/32"), parseCidr("fd00::2/128")],
 *   routes: [parseCidr("0.0.0.0/0"), parseCidr("::/0")],
 * });
 * ```
 */
export function configureLinks(nl: NetlinkTransport, plan: LinkPlan): void {
  const loopback = getLink(nl, "lo");
  const tun = getLink(nl, plan.tunName);
  setLink(nl, loopback.index, "lo", { up: true });
  disableLinkLocal(nl, tun.index, plan.tunName);
  setLink(nl, tun.index, plan.tunName, { mtu: plan.mtu, up: true });
  for (const address of plan.addresses) addAddress(nl, tun.index, plan.tunName, address);
  if (plan.routes.length === 0) return;
  const present = mainTablePrefixesVia(nl, tun.index);
  for (const route of plan.routes) {
    const prefix = formatCidr(maskCidr(route));
    if (present.has(prefix)) continue;
    addRoute(nl, tun.index, plan.tunName, route);
    present.add(prefix);
  }
}

/**
 * The prefixes the main table already sends straight out of link `index`
 * (no gateway): the connected routes of its addresses. Adding one again fails
 * with EEXIST for IPv4 and makes a second, higher-metric copy for IPv6.
 */
function mainTablePrefixesVia(nl: NetlinkTransport, index: number): Set<string> {
  const prefixes = new Set<string>();
  for (const route of listRoutes(nl)) {
    if (
      route.table === RT_TABLE_MAIN && route.outputIndex === index && route.gateway === undefined
    ) {
      prefixes.add(`${route.destination}/${route.prefix}`);
    }
  }
  return prefixes;
}
