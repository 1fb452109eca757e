/**
 * Interface addresses (`RTM_*ADDR`, uapi `linux/if_addr.h`): add one, list
 * them all.
 *
 * `struct ifaddrmsg` (8 bytes): u8 family, u8 prefixlen, u8 flags, u8 scope,
 * u32 index.
 *
 * @module
 */

import { formatCidr } from "../config/cidr.ts";
import { formatIp } from "../config/ip.ts";
import type { Cidr } from "../config/types.ts";
import { type BatchRequest, requestBatch, requestDump } from "./conversation.ts";
import { EACCES, EADDRNOTAVAIL, EAFNOSUPPORT, EEXIST, EINVAL, ENODEV } from "../launcher/errno.ts";
import { permissionHint } from "./error.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  bytesAttribute,
  decodeAttributes,
  HOST_LITTLE_ENDIAN,
  type NetlinkMessage,
  type NetlinkRequest,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  payloadView,
  readString,
  readU32,
  RTM_GETADDR,
  RTM_NEWADDR,
} from "./message.ts";
import type { NetlinkTransport } from "./transport.ts";

const IFADDRMSG_SIZE = 8;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_FLAGS = 8;

/** Address flags (`IFA_F_*`). */
export const IFA_F_NODAD = 0x02;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

/** An address as the kernel lists it. */
export interface AddressInfo {
  readonly family: 4 | 6;
  /** The link's index. */
  readonly index: number;
  /** `IFA_ADDRESS` (the peer's on point-to-point links), as text. */
  readonly address: string;
  /** `IFA_LOCAL` as text, when the kernel sends it (IPv4). */
  readonly local?: string;
  readonly prefix: number;
  /** `IFA_F_*` bits, the 32-bit `IFA_FLAGS` when present. */
  readonly flags: number;
  /** `RT_SCOPE_*`: 0 universe, 253 link, 254 host. */
  readonly scope: number;
  readonly label?: string;
}

function encodeIfaddrmsg(
  family: number,
  prefix: number,
  flags: number,
  index: number,
): Uint8Array {
  const header = new Uint8Array(IFADDRMSG_SIZE);
  const view = new DataView(header.buffer);
  view.setUint8(0, family);
  view.setUint8(1, prefix);
  view.setUint8(2, flags);
  view.setUint8(3, 0); // RT_SCOPE_UNIVERSE
  view.setUint32(4, index, HOST_LITTLE_ENDIAN);
  return header;
}

/**
 * RTM_NEWADDR adding `cidr` to link `index` (CREATE|EXCL): `IFA_LOCAL` and
 * `IFA_ADDRESS` both hold the address, so there is no peer. IPv6 addresses
 * carry IFA_F_NODAD, which makes them usable at once instead of after
 * duplicate address detection (there is no one else on a TUN).
 */
export function addAddressRequest(index: number, cidr: Cidr): NetlinkRequest {
  const family = cidr.family === 4 ? AF_INET : AF_INET6;
  const flags = cidr.family === 6 ? IFA_F_NODAD : 0;
  return {
    type: RTM_NEWADDR,
    flags: NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
    header: encodeIfaddrmsg(family, cidr.prefix, flags, index),
    attributes: [
      bytesAttribute(IFA_LOCAL, cidr.address),
      bytesAttribute(IFA_ADDRESS, cidr.address),
    ],
  };
}

/** RTM_GETADDR dump of every address of both families. */
export function dumpAddressesRequest(): NetlinkRequest {
  return {
    type: RTM_GETADDR,
    flags: NLM_F_REQUEST,
    header: encodeIfaddrmsg(AF_UNSPEC, 0, 0, 0),
    attributes: [],
  };
}

/** Decodes an RTM_NEWADDR message; undefined for families other than IPv4/IPv6. */
export function decodeAddress(message: NetlinkMessage): AddressInfo | undefined {
  if (message.type !== RTM_NEWADDR || message.payload.length < IFADDRMSG_SIZE) {
    throw new RangeError(
      `Cannot read an address: expected an RTM_NEWADDR message, got type ${message.type} of ${message.payload.length} bytes`,
    );
  }
  const view = payloadView(message.payload);
  const familyCode = view.getUint8(0);
  if (familyCode !== AF_INET && familyCode !== AF_INET6) return undefined;
  const attributes = decodeAttributes(message.payload.subarray(IFADDRMSG_SIZE));
  const local = attributes.get(IFA_LOCAL);
  const address = attributes.get(IFA_ADDRESS) ?? local;
  if (address === undefined) {
    throw new RangeError(
      "Cannot read an address: the message has neither IFA_ADDRESS nor IFA_LOCAL",
    );
  }
  return {
    family: familyCode === AF_INET ? 4 : 6,
    index: view.getUint32(4, HOST_LITTLE_ENDIAN),
    address: formatIp(address),
    local: local === undefined ? undefined : formatIp(local),
    prefix: view.getUint8(1),
    flags: readU32(attributes.get(IFA_FLAGS)) ?? view.getUint8(2),
    scope: view.getUint8(3),
    label: readString(attributes.get(IFA_LABEL)),
  };
}

function addAddressHint(errno: number, cidr: Cidr, linkName: string): string | undefined {
  switch (errno) {
    case EEXIST:
      return `${linkName} already has this address; list each address once`;
    case EACCES:
      if (cidr.family === 6) {
        return `IPv6 is disabled on ${linkName} (net.ipv6.conf.default.disable_ipv6=1); enable it or remove the IPv6 address`;
      }
      break;
    case EAFNOSUPPORT:
      return "this kernel has IPv6 turned off (ipv6.disable=1); remove the IPv6 address";
    case EINVAL:
      return cidr.family === 6
        ? "IPv6 needs an MTU of 1280 or more; raise MTU or remove the IPv6 address"
        : "check the address and its prefix length";
    case EADDRNOTAVAIL:
      return "check the address and its prefix length";
    case ENODEV:
      return `${linkName} is gone from the cage's namespace`;
  }
  return permissionHint(errno);
}

/** Adds `cidr` to link `index`; `linkName` is for messages. */
export function addAddress(
  nl: NetlinkTransport,
  index: number,
  linkName: string,
  cidr: Cidr,
): void {
  requestBatch(nl, [addAddressStep(index, linkName, cidr)]);
}

/** {@linkcode addAddress}'s request with its description, for a batch. */
export function addAddressStep(index: number, linkName: string, cidr: Cidr): BatchRequest {
  return {
    request: addAddressRequest(index, cidr),
    describe: (errno) => ({
      what: `add address ${formatCidr(cidr)} to ${linkName}`,
      hint: addAddressHint(errno, cidr, linkName),
    }),
  };
}

/** Every IPv4 and IPv6 address in the socket's namespace (an RTM_GETADDR dump). */
export function listAddresses(nl: NetlinkTransport): AddressInfo[] {
  const messages = requestDump(nl, dumpAddressesRequest(), (errno) => ({
    what: "list addresses",
    hint: permissionHint(errno),
  }));
  const addresses: AddressInfo[] = [];
  for (const message of messages) {
    if (message.type !== RTM_NEWADDR) continue;
    const address = decodeAddress(message);
    if (address !== undefined) addresses.push(address);
  }
  return addresses;
}
