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
import { requestBatch, toleratedRefusal } from "./conversation.ts";
import { disableLinkLocalStep, getLinkIndex, LOOPBACK_INDEX, setLinkStep } from "./link.ts";
import { addRouteStep, directPrefixVia, listRoutesStep } from "./route.ts";
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
 * always 1; none when the caller gives `tunIndex`, as the cage's child
 * reports it), then everything else in one batch (requestBatch). In the fresh
 * namespace of a cage the only routes through the TUN before ours are the
 * kernel's connected routes of its addresses, so only a route for an
 * address's own prefix can meet one: when the plan has such a route, the
 * batch ends with a dump of that family's routes, and the ones it does not
 * show are added in a third round trip. Any other route that comes back
 * EEXIST counts as a failure only when a dump shows it goes elsewhere (the
 * same prefix through the TUN is there from an earlier configuration).
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
export function configureLinks(nl: NetlinkTransport, plan: LinkPlan, tunIndex?: number): void {
  const name = plan.tunName;
  // The cage's child reports the TUN's index with its fd: one round trip less.
  const index = tunIndex ?? getLinkIndex(nl, name);
  const own = new Set(plan.addresses.map(prefixKey));
  const routes = uniquePrefixes(plan.routes);
  const connected = routes.filter((route) => own.has(prefixKey(route)));
  const others = routes.filter((route) => !own.has(prefixKey(route)));
  // EEXIST is looked into below, not taken as a failure at once.
  const otherSteps = others.map((route) => ({
    ...addRouteStep(index, name, route),
    tolerate: [EEXIST],
  }));
  const families = new Set(connected.map((route) => route.family));
  const dump = families.size === 0
    ? []
    : [listRoutesStep(families.size === 1 ? connected[0].family : undefined)];
  const answers = requestBatch(nl, [
    setLinkStep(LOOPBACK_INDEX, "lo", { up: true }),
    // Before the link goes up: the kernel gives it an fe80:: address as it comes up.
    disableLinkLocalStep(index, name),
    setLinkStep(index, name, { mtu: plan.mtu, up: true }),
    ...plan.addresses.map((address) => addAddressStep(index, name, address)),
    ...otherSteps,
    ...dump,
  ]);
  const otherAnswers = answers.slice(answers.length - dump.length - otherSteps.length);
  const refused = otherSteps.flatMap((step, i) => {
    const error = toleratedRefusal(step, otherAnswers[i]);
    return error === undefined ? [] : [{ route: others[i], error }];
  });
  if (dump.length === 0 && refused.length === 0) return;
  const listed = dump.length > 0 && refused.every((r) => families.has(r.route.family))
    ? answers[answers.length - 1]
    : requestBatch(nl, [listRoutesStep()])[0];
  const present = new Set<string>();
  for (const message of listed) {
    const prefix = directPrefixVia(message, index);
    if (prefix !== undefined) present.add(prefixKey(prefix));
  }
  const elsewhere = refused.find(({ route }) => !present.has(prefixKey(route)));
  if (elsewhere !== undefined) throw elsewhere.error;
  const missing = connected.filter((route) => !present.has(prefixKey(route)));
  if (missing.length > 0) requestBatch(nl, missing.map((r) => addRouteStep(index, name, r)));
}

/**
 * A prefix as a key, host bits cleared: family, length and the address's
 * bytes (cheaper than formatting the address, with thousands of routes).
 */
function prefixKey(cidr: Cidr): string {
  return `${cidr.family}/${cidr.prefix}/${maskCidr(cidr).address.join(".")}`;
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
