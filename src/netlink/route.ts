/**
 * Routes (`RTM_*ROUTE`, uapi `linux/rtnetlink.h`): add a prefix through a
 * link, list them all.
 *
 * `struct rtmsg` (12 bytes): u8 family, u8 dst_len, u8 src_len, u8 tos,
 * u8 table, u8 protocol, u8 scope, u8 type, u32 flags.
 *
 * @module
 */

import { formatCidr, maskCidr } from "../config/cidr.ts";
import { formatIp } from "../config/ip.ts";
import type { Cidr } from "../config/types.ts";
import { type BatchRequest, requestBatch } from "./conversation.ts";
import { EAFNOSUPPORT, EEXIST, EINVAL, ENETDOWN, ENODEV } from "../launcher/errno.ts";
import { permissionHint } from "./error.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  bytesAttribute,
  decodeAttributes,
  type NetlinkMessage,
  type NetlinkRequest,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  payloadView,
  readU32,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  u32Attribute,
} from "./message.ts";
import type { NetlinkTransport } from "./transport.ts";

const RTMSG_SIZE = 12;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;

/** Routing tables (`RT_TABLE_*`). */
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
/** Route origins (`RTPROT_*`): 2 made by the kernel, 3 by an administrator. */
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
/** Scopes (`RT_SCOPE_*`). */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
/** Route types (`RTN_*`). */
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;

/** A route as the kernel lists it. */
export interface RouteInfo {
  readonly family: 4 | 6;
  /** Destination network as text; `0.0.0.0` or `::` for a default route. */
  readonly destination: string;
  readonly prefix: number;
  /** `RT_TABLE_*`, 254 main, 255 local. */
  readonly table: number;
  /** `RTPROT_*`: 2 kernel, 3 boot (`ip route add`). */
  readonly protocol: number;
  /** `RT_SCOPE_*`. */
  readonly scope: number;
  /** `RTN_*`: 1 unicast, 2 local. */
  readonly type: number;
  /** Outgoing link's index (`RTA_OIF`). */
  readonly outputIndex?: number;
  readonly gateway?: string;
  readonly preferredSource?: string;
  /** Metric (`RTA_PRIORITY`). */
  readonly priority?: number;
}

function encodeRtmsg(
  family: number,
  prefix: number,
  table: number,
  protocol: number,
  scope: number,
  type: number,
): Uint8Array {
  const header = new Uint8Array(RTMSG_SIZE);
  header.set([family, prefix, 0, 0, table, protocol, scope, type]);
  return header;
}

/**
 * RTM_NEWROUTE sending `cidr` (host bits cleared) out of link `index`, with no
 * gateway, in the main table (CREATE|EXCL), as `ip route add PREFIX dev LINK`
 * does: IPv4 routes with scope link (the destination is on the link), IPv6
 * routes with scope universe (IPv6 has no route scopes and the kernel lists
 * them as universe). A /0 is the default route and has no `RTA_DST`.
 */
export function addRouteRequest(index: number, cidr: Cidr): NetlinkRequest {
  const network = maskCidr(cidr);
  const family = cidr.family === 4 ? AF_INET : AF_INET6;
  const scope = cidr.family === 4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  return {
    type: RTM_NEWROUTE,
    flags: NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
    header: encodeRtmsg(family, cidr.prefix, RT_TABLE_MAIN, RTPROT_BOOT, scope, RTN_UNICAST),
    attributes: [
      ...(cidr.prefix === 0 ? [] : [bytesAttribute(RTA_DST, network.address)]),
      u32Attribute(RTA_OIF, index),
    ],
  };
}

/**
 * RTM_GETROUTE dump of every route in every table, of both families or of
 * one (`rtm_family` picks the family's dump handler in the kernel).
 */
export function dumpRoutesRequest(family?: 4 | 6): NetlinkRequest {
  const code = family === undefined ? AF_UNSPEC : family === 4 ? AF_INET : AF_INET6;
  return {
    type: RTM_GETROUTE,
    flags: NLM_F_REQUEST,
    header: encodeRtmsg(code, 0, 0, 0, 0, 0),
    attributes: [],
  };
}

/** Decodes an RTM_NEWROUTE message; undefined for families other than IPv4/IPv6. */
export function decodeRoute(message: NetlinkMessage): RouteInfo | undefined {
  if (message.type !== RTM_NEWROUTE || message.payload.length < RTMSG_SIZE) {
    throw new RangeError(
      `Cannot read a route: expected an RTM_NEWROUTE message, got type ${message.type} of ${message.payload.length} bytes`,
    );
  }
  const view = payloadView(message.payload);
  const familyCode = view.getUint8(0);
  if (familyCode !== AF_INET && familyCode !== AF_INET6) return undefined;
  const family = familyCode === AF_INET ? 4 : 6;
  const attributes = decodeAttributes(message.payload.subarray(RTMSG_SIZE));
  const destination = attributes.get(RTA_DST) ?? new Uint8Array(family === 4 ? 4 : 16);
  const gateway = attributes.get(RTA_GATEWAY);
  const preferredSource = attributes.get(RTA_PREFSRC);
  return {
    family,
    destination: formatIp(destination),
    prefix: view.getUint8(1),
    table: readU32(attributes.get(RTA_TABLE)) ?? view.getUint8(4),
    protocol: view.getUint8(5),
    scope: view.getUint8(6),
    type: view.getUint8(7),
    outputIndex: readU32(attributes.get(RTA_OIF)),
    gateway: gateway === undefined ? undefined : formatIp(gateway),
    preferredSource: preferredSource === undefined ? undefined : formatIp(preferredSource),
    priority: readU32(attributes.get(RTA_PRIORITY)),
  };
}

function addRouteHint(errno: number, linkName: string): string | undefined {
  switch (errno) {
    case EEXIST:
      return "another route for this prefix is already in the main table";
    case ENETDOWN:
      return `${linkName} must be up before routes can use it`;
    case ENODEV:
      return `${linkName} is gone from the cage's namespace`;
    case EAFNOSUPPORT:
      return "this kernel has IPv6 turned off (ipv6.disable=1); remove the IPv6 prefixes";
    case EINVAL:
      return "check the prefix and its length";
  }
  return permissionHint(errno);
}

/**
 * Adds a route for `cidr` through link `index`; `linkName` is for messages.
 * Throws {@linkcode NetlinkError} (EEXIST included: deciding whether an
 * existing route is acceptable is the caller's business).
 */
export function addRoute(nl: NetlinkTransport, index: number, linkName: string, cidr: Cidr): void {
  requestBatch(nl, [addRouteStep(index, linkName, cidr)]);
}

/** {@linkcode addRoute}'s request with its description, for a batch. */
export function addRouteStep(index: number, linkName: string, cidr: Cidr): BatchRequest {
  return {
    request: addRouteRequest(index, cidr),
    describe: (errno) => ({
      what: `add route ${formatCidr(maskCidr(cidr))} via ${linkName}`,
      hint: addRouteHint(errno, linkName),
    }),
  };
}

/** Every IPv4 and IPv6 route in the socket's namespace, all tables (an RTM_GETROUTE dump). */
export function listRoutes(nl: NetlinkTransport): RouteInfo[] {
  return decodeRoutes(requestBatch(nl, [listRoutesStep()])[0]);
}

/** {@linkcode listRoutes}'s dump request (of one family if given) with its description, for the end of a batch. */
export function listRoutesStep(family?: 4 | 6): BatchRequest {
  return {
    request: dumpRoutesRequest(family),
    describe: (errno) => ({ what: "list routes", hint: permissionHint(errno) }),
    dump: true,
  };
}

/** The IPv4 and IPv6 routes among a route dump's messages. */
export function decodeRoutes(messages: readonly NetlinkMessage[]): RouteInfo[] {
  const routes: RouteInfo[] = [];
  for (const message of messages) {
    if (message.type !== RTM_NEWROUTE) continue;
    const route = decodeRoute(message);
    if (route !== undefined) routes.push(route);
  }
  return routes;
}

/**
 * The prefix of a route dump entry that sends it straight out of link
 * `index` in the main table (no gateway), or undefined for any other entry.
 * Reads only what that takes: deciding which routes are there already costs
 * no address formatting.
 */
export function directPrefixVia(message: NetlinkMessage, index: number): Cidr | undefined {
  if (message.type !== RTM_NEWROUTE || message.payload.length < RTMSG_SIZE) return undefined;
  const familyCode = message.payload[0];
  if (familyCode !== AF_INET && familyCode !== AF_INET6) return undefined;
  const attributes = decodeAttributes(message.payload.subarray(RTMSG_SIZE));
  const table = readU32(attributes.get(RTA_TABLE)) ?? message.payload[4];
  if (
    table !== RT_TABLE_MAIN || readU32(attributes.get(RTA_OIF)) !== index ||
    attributes.has(RTA_GATEWAY)
  ) return undefined;
  const family = familyCode === AF_INET ? 4 : 6;
  return {
    family,
    address: attributes.get(RTA_DST) ?? new Uint8Array(family === 4 ? 4 : 16),
    prefix: message.payload[1],
  };
}
