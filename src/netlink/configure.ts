/**
 * Brings the cage's network up over its netlink socket: `lo` up, the TUN's
 * MTU set and the TUN up, its addresses added, and one route per prefix that
 * should go through the tunnel.
 *
 * @module
 */

import { formatCidr, maskCidr } from "../config/cidr.ts";
import type { Cidr } from "../config/types.ts";
import { EEXIST } from "../launcher/errno.ts";
import { addAddressStep } from "./address.ts";
import { type BatchRequest, requestBatch, toleratedRefusal } from "./conversation.ts";
import { disableLinkLocalStep, getLink, LOOPBACK_INDEX, setLinkStep } from "./link.ts";
import {
  addRouteStep,
  decodeRoutes,
  listRoutesStep,
  type RouteInfo,
  RT_TABLE_MAIN,
} from "./route.ts";
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
 * order: bring `lo` up, keep IPv6 link-local addresses off the TUN, set the
 * TUN's MTU and bring it up (routes need an up link), add the addresses, add
 * the routes.
 *
 * A route whose prefix the main table already sends through the TUN (the
 * connected route of an address such as `10.0.0.2/24`, or a prefix listed
 * twice) is left as it is; any other route for the same prefix (through
 * another link) fails with EEXIST. Throws {@linkcode NetlinkError} on the first
 * request the kernel refuses.
 *
 * Each round trip is a send and its reads on the main thread while the
 * command waits to start, so there are two: the TUN's index (`lo`'s is
 * always 1), then everything else in one batch (requestBatch). In the fresh
 * namespace of a cage, the only routes through the TUN before ours are the
 * kernel's connected routes of its addresses, so only a route for an
 * address's own prefix can meet one; when the plan has such a route, a route
 * dump ends the batch instead and the routes it does not show follow in a
 * third. Any other route that comes back EEXIST is looked up in a dump before
 * it counts as a failure (a namespace configured twice).
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
  const name = plan.tunName;
  const index = getLink(nl, name).index;
  const setup: BatchRequest[] = [
    setLinkStep(LOOPBACK_INDEX, "lo", { up: true }),
    // Before the link goes up: the kernel makes the fe80:: address as it comes up.
    disableLinkLocalStep(index, name),
    setLinkStep(index, name, { mtu: plan.mtu, up: true }),
    ...plan.addresses.map((address) => addAddressStep(index, name, address)),
  ];
  const routes = uniquePrefixes(plan.routes);
  const own = new Set(plan.addresses.map(prefixKey));
  if (routes.some((route) => own.has(prefixKey(route)))) {
    const answers = requestBatch(nl, [...setup, listRoutesStep()]);
    const present = mainTablePrefixesVia(decodeRoutes(answers[answers.length - 1]), index);
    const missing = routes.filter((route) => !present.has(prefixKey(route)));
    if (missing.length > 0) requestBatch(nl, missing.map((r) => addRouteStep(index, name, r)));
    return;
  }
  // No connected route can be in the way, so the routes go in the same
  // batch. One already there (EEXIST) may run through the TUN (a namespace
  // configured before), which is no failure: a dump tells.
  const steps = routes.map((route) => ({
    ...addRouteStep(index, name, route),
    tolerate: [EEXIST],
  }));
  const answers = requestBatch(nl, [...setup, ...steps]).slice(setup.length);
  const refused = steps.flatMap((step, i) => {
    const error = toleratedRefusal(step, answers[i]);
    return error === undefined ? [] : [{ route: routes[i], error }];
  });
  if (refused.length === 0) return;
  const present = mainTablePrefixesVia(
    decodeRoutes(requestBatch(nl, [listRoutesStep()])[0]),
    index,
  );
  const other = refused.find(({ route }) => !present.has(prefixKey(route)));
  if (other !== undefined) throw other.error;
}

/** A prefix as text, host bits cleared: `10.0.0.0/24`. */
function prefixKey(cidr: Cidr): string {
  return formatCidr(maskCidr(cidr));
}

/** The routes, each prefix once (the first of those with the same prefix). */
function uniquePrefixes(routes: readonly Cidr[]): Cidr[] {
  const seen = new Set<string>();
  return routes.filter((route) => {
    const key = prefixKey(route);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The prefixes the main table already sends straight out of link `index`
 * (no gateway): the connected routes of its addresses. Adding one again fails
 * with EEXIST for IPv4 and makes a second, higher-metric copy for IPv6.
 */
function mainTablePrefixesVia(routes: readonly RouteInfo[], index: number): Set<string> {
  const prefixes = new Set<string>();
  for (const route of routes) {
    if (
      route.table === RT_TABLE_MAIN && route.outputIndex === index && route.gateway === undefined
    ) {
      prefixes.add(`${route.destination}/${route.prefix}`);
    }
  }
  return prefixes;
}
