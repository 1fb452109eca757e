/**
 * rtnetlink for the cage: configure its links over a netlink socket, and list
 * links, addresses and routes for tests and `-v` diagnostics.
 *
 * @module
 */

export { configureLinks, type LinkPlan } from "./configure.ts";
export { NetlinkError } from "./error.ts";
export type { NetlinkTransport } from "./transport.ts";
export { type LinkInfo, listLinks } from "./link.ts";
export { type AddressInfo, listAddresses } from "./address.ts";
export { listRoutes, type RouteInfo } from "./route.ts";
