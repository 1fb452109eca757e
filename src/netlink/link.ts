/**
 * Links (`RTM_*LINK`, uapi `linux/if_link.h`): look one up by name, bring it
 * up and set its MTU, and list them all.
 *
 * `struct ifinfomsg` (16 bytes): u8 family, u8 pad, u16 type, i32 index,
 * u32 flags, u32 change.
 *
 * @module
 */

import { type BatchRequest, requestBatch, requestDump, requestWithAck } from "./conversation.ts";
import { EAFNOSUPPORT, EINVAL, ENODEV, EOPNOTSUPP } from "../launcher/errno.ts";
import { permissionHint } from "./error.ts";
import {
  AF_INET6,
  AF_UNSPEC,
  decodeAttributes,
  HOST_LITTLE_ENDIAN,
  nestedAttribute,
  type NetlinkMessage,
  type NetlinkRequest,
  NLM_F_REQUEST,
  payloadView,
  readString,
  readU32,
  RTM_GETLINK,
  RTM_NEWLINK,
  stringAttribute,
  u32Attribute,
} from "./message.ts";
import type { NetlinkTransport } from "./transport.ts";

const IFINFOMSG_SIZE = 16;

const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_OPERSTATE = 16;
const IFLA_EXT_MASK = 29;

/** `RTEXT_FILTER_SKIP_STATS`: leave the counters out of replies. */
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** Interface flags (`IFF_*`, `linux/if.h`). */
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_LOWER_UP = 0x10000;

/**
 * The loopback device's index in every network namespace, so `lo` needs no
 * lookup by name. The kernel registers it as the namespace's first device
 * and insists on the number: `#define LOOPBACK_IFINDEX 1` in
 * include/net/flow.h ("loopback is always the 1st device in ns"), and
 * drivers/net/loopback.c's loopback_net_init() has
 * `BUG_ON(dev->ifindex != LOOPBACK_IFINDEX)` after register_netdev().
 */
export const LOOPBACK_INDEX = 1;

/** `IF_OPER_*` by value (RFC 2863 operational states). */
const OPERATIONAL_STATES = [
  "UNKNOWN",
  "NOTPRESENT",
  "DOWN",
  "LOWERLAYERDOWN",
  "TESTING",
  "DORMANT",
  "UP",
] as const;

/** A link as the kernel describes it. */
export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  /** `ARPHRD_*`: 772 loopback, 65534 a TUN (`ARPHRD_NONE`). */
  readonly type: number;
  /** `IFF_*` bits. */
  readonly flags: number;
  /** Administratively up (`IFF_UP`). */
  readonly up: boolean;
  readonly mtu?: number;
  /** `UP`, `DOWN`, `UNKNOWN`, … (`IFLA_OPERSTATE`). */
  readonly operState?: string;
}

/** What to change on a link; unset fields are left alone. */
export interface LinkChange {
  readonly up?: boolean;
  readonly mtu?: number;
}

function encodeIfinfomsg(index: number, flags: number, change: number): Uint8Array {
  const header = new Uint8Array(IFINFOMSG_SIZE);
  const view = new DataView(header.buffer);
  view.setUint8(0, AF_UNSPEC);
  view.setInt32(4, index, HOST_LITTLE_ENDIAN);
  view.setUint32(8, flags, HOST_LITTLE_ENDIAN);
  view.setUint32(12, change, HOST_LITTLE_ENDIAN);
  return header;
}

/** RTM_GETLINK for one link, selected by name (`IFLA_IFNAME`). */
export function getLinkRequest(name: string): NetlinkRequest {
  return {
    type: RTM_GETLINK,
    flags: NLM_F_REQUEST,
    header: encodeIfinfomsg(0, 0, 0),
    attributes: [
      stringAttribute(IFLA_IFNAME, name),
      u32Attribute(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS),
    ],
  };
}

/** RTM_GETLINK dump of every link. */
export function dumpLinksRequest(): NetlinkRequest {
  return {
    type: RTM_GETLINK,
    flags: NLM_F_REQUEST,
    header: encodeIfinfomsg(0, 0, 0),
    attributes: [u32Attribute(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)],
  };
}

/**
 * RTM_NEWLINK on an existing link (what `ip link set` sends): the MTU as
 * `IFLA_MTU`, up or down through `ifi_flags` masked by `ifi_change`. The
 * kernel applies the MTU before the flags.
 */
export function setLinkRequest(index: number, change: LinkChange): NetlinkRequest {
  const mask = change.up === undefined ? 0 : IFF_UP;
  const flags = change.up ? IFF_UP : 0;
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_REQUEST,
    header: encodeIfinfomsg(index, flags, mask),
    attributes: change.mtu === undefined ? [] : [u32Attribute(IFLA_MTU, change.mtu)],
  };
}

const IFLA_AF_SPEC = 26;
const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;

/**
 * RTM_NEWLINK setting the link's IPv6 address generation mode to "none" (what
 * `ip link set DEV addrgenmode none` sends): no fe80:: address, and so no
 * router solicitations or other link-local chatter into the tunnel.
 */
export function noLinkLocalRequest(index: number): NetlinkRequest {
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_REQUEST,
    header: encodeIfinfomsg(index, 0, 0),
    attributes: [
      nestedAttribute(IFLA_AF_SPEC, [
        nestedAttribute(AF_INET6, [
          { type: IFLA_INET6_ADDR_GEN_MODE, data: new Uint8Array([IN6_ADDR_GEN_MODE_NONE]) },
        ]),
      ]),
    ],
  };
}

/** Decodes an RTM_NEWLINK message (a GETLINK reply or dump entry). */
export function decodeLink(message: NetlinkMessage): LinkInfo {
  if (message.type !== RTM_NEWLINK || message.payload.length < IFINFOMSG_SIZE) {
    throw new RangeError(
      `Cannot read a link: expected an RTM_NEWLINK message, got type ${message.type} of ${message.payload.length} bytes`,
    );
  }
  const view = payloadView(message.payload);
  const flags = view.getUint32(8, HOST_LITTLE_ENDIAN);
  const attributes = decodeAttributes(message.payload.subarray(IFINFOMSG_SIZE));
  const operState = attributes.get(IFLA_OPERSTATE)?.[0];
  return {
    index: view.getInt32(4, HOST_LITTLE_ENDIAN),
    name: readString(attributes.get(IFLA_IFNAME)) ?? "",
    type: view.getUint16(2, HOST_LITTLE_ENDIAN),
    flags,
    up: (flags & IFF_UP) !== 0,
    mtu: readU32(attributes.get(IFLA_MTU)),
    operState: operState === undefined ? undefined : OPERATIONAL_STATES[operState] ?? "UNKNOWN",
  };
}

/**
 * Looks a link up by name and returns it. Throws {@linkcode NetlinkError}
 * (ENODEV) when there is no such link in the socket's namespace.
 */
export function getLink(nl: NetlinkTransport, name: string): LinkInfo {
  return decodeLink(findLink(nl, name));
}

/**
 * {@linkcode getLink}'s index alone, read from the reply's header: the
 * kilobyte of attributes after it is left undecoded.
 */
export function getLinkIndex(nl: NetlinkTransport, name: string): number {
  const link = findLink(nl, name);
  if (link.payload.length < IFINFOMSG_SIZE) {
    throw new RangeError(
      `Cannot read a link: expected an RTM_NEWLINK message, got ${link.payload.length} bytes`,
    );
  }
  return payloadView(link.payload).getInt32(4, HOST_LITTLE_ENDIAN);
}

function findLink(nl: NetlinkTransport, name: string): NetlinkMessage {
  const replies = requestWithAck(nl, getLinkRequest(name), (errno) => ({
    what: `find link ${name}`,
    hint: errno === ENODEV
      ? `the socket's network namespace has no link of that name; was the TUN device created in the cage?`
      : permissionHint(errno),
  }));
  const link = replies.find((message) => message.type === RTM_NEWLINK);
  if (link === undefined) {
    throw new Error(`Cannot find link ${name}: the kernel acknowledged without describing it`);
  }
  return link;
}

/** Changes a link's MTU and/or state; `name` is for messages. */
export function setLink(
  nl: NetlinkTransport,
  index: number,
  name: string,
  change: LinkChange,
): void {
  requestBatch(nl, [setLinkStep(index, name, change)]);
}

/** {@linkcode setLink}'s request with its description, for a batch. */
export function setLinkStep(index: number, name: string, change: LinkChange): BatchRequest {
  const parts = [
    ...(change.mtu === undefined ? [] : [`set the MTU of ${name} to ${change.mtu}`]),
    ...(change.up === undefined ? [] : [`bring ${name} ${change.up ? "up" : "down"}`]),
  ];
  return {
    request: setLinkRequest(index, change),
    describe: (errno) => ({
      what: parts.join(" and "),
      hint: errno === EINVAL && change.mtu !== undefined
        ? "the MTU is outside what the device accepts (68..65535 for a TUN)"
        : errno === ENODEV
        ? `the link is gone from the cage's namespace`
        : permissionHint(errno),
    }),
  };
}

/** Every link in the socket's namespace (an RTM_GETLINK dump). */
export function listLinks(nl: NetlinkTransport): LinkInfo[] {
  return requestDump(nl, dumpLinksRequest(), (errno) => ({
    what: "list links",
    hint: permissionHint(errno),
  })).filter((message) => message.type === RTM_NEWLINK).map(decodeLink);
}

/**
 * Keeps the kernel from giving the link an fe80:: address. Where the kernel
 * has no IPv6 there is nothing to keep away, and nothing fails.
 */
export function disableLinkLocal(nl: NetlinkTransport, index: number, name: string): void {
  requestBatch(nl, [disableLinkLocalStep(index, name)]);
}

/** {@linkcode disableLinkLocal}'s request with its description, for a batch. */
export function disableLinkLocalStep(index: number, name: string): BatchRequest {
  return {
    request: noLinkLocalRequest(index),
    describe: () => ({
      what: `turn off IPv6 link-local addresses on ${name}`,
      hint: "the kernel refused 'addrgenmode none'",
    }),
    // A kernel without IPv6 (ipv6.disable=1): no link-local address to keep away.
    tolerate: [EAFNOSUPPORT, EOPNOTSUPP],
  };
}
