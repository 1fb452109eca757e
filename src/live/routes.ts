/**
 * The cage's routes follow the peers' AllowedIPs: one route per prefix
 * through the tunnel, added and deleted over the cage's netlink socket as
 * the control service changes them.
 *
 * Thousands of prefixes in one `set=1` are thousands of routes, so the
 * requests go in batches (conversation.ts's requestBatch): 64 messages in
 * one datagram, each with its own acknowledgement, the way `ip -batch` and
 * iproute2's rtnl_talk_iov send several requests in one sendmsg. One round trip per
 * batch instead of per route is what keeps a large change to milliseconds.
 *
 * @module
 */

import type { Cidr } from "../config/types.ts";
import { formatCidr } from "../config/cidr.ts";
import type { NetlinkTransport } from "../netlink/transport.ts";
import { getLinkIndex } from "../netlink/link.ts";
import { addRouteRequest } from "../netlink/route.ts";
import { BATCH_LIMIT, requestBatch } from "../netlink/conversation.ts";
import {
  align,
  encodeRequest,
  HOST_LITTLE_ENDIAN,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from "../netlink/message.ts";
import { masked } from "./caps.ts";
import { permissionHint } from "../netlink/error.ts";
import { EEXIST, ESRCH } from "../launcher/errno.ts";

const RTM_DELROUTE = 25;

/**
 * Adds a route through `tunName` for each of `added` and deletes those of
 * `removed`. A route that is there already (EEXIST) or gone already (ESRCH)
 * is what was wanted; any other refusal throws a NetlinkError naming the
 * first prefix refused, after every batch sent has been answered.
 */
export function followRoutes(
  nl: NetlinkTransport,
  tunName: string,
  added: readonly Cidr[],
  removed: readonly Cidr[],
): void {
  for (const _ of followRouteSteps(nl, tunName, added, removed));
}

/** {@linkcode followRoutes}, one batch a step (the caller may do other work between). */
export function* followRouteSteps(
  nl: NetlinkTransport,
  tunName: string,
  added: readonly Cidr[],
  removed: readonly Cidr[],
): Generator<void, void, void> {
  if (added.length === 0 && removed.length === 0) return;
  const index = getLinkIndex(nl, tunName);
  yield* routeBatches(nl, index, added, "add", EEXIST);
  yield* routeBatches(nl, index, removed, "delete", ESRCH);
}

/** The offset of `rtmsg.rtm_dst_len` in a route request. */
const DST_LEN_AT = NLMSG_HDRLEN + 1;
const SEQ_AT = 8;
const RTA_DST = 1;

/**
 * Route requests for many prefixes, made from templates: the request
 * route.ts makes for a prefix of each family, encoded once, then copied
 * with the prefix length, the address and the sequence number written in.
 * route.ts stays the one place that says what a route request holds; a
 * batch of thousands costs copies instead of objects per route.
 */
export class RouteRequests {
  readonly #index: number;
  readonly #verb: "add" | "delete";
  readonly #templates = new Map<string, { bytes: Uint8Array; addressAt: number }>();

  constructor(index: number, verb: "add" | "delete") {
    this.#index = index;
    this.#verb = verb;
  }

  /** The request for `cidr` (host bits cleared) with sequence number `seq`, acked. */
  encode(cidr: Cidr, seq: number): Uint8Array {
    const t = this.#template(cidr.family, cidr.prefix === 0);
    const out = t.bytes.slice();
    out[DST_LEN_AT] = cidr.prefix;
    new DataView(out.buffer).setUint32(SEQ_AT, seq >>> 0, HOST_LITTLE_ENDIAN);
    if (t.addressAt >= 0) out.set(masked(cidr).address, t.addressAt);
    return out;
  }

  #template(family: 4 | 6, isDefault: boolean): { bytes: Uint8Array; addressAt: number } {
    const id = `${family}${isDefault}`;
    const known = this.#templates.get(id);
    if (known) return known;
    const size = family === 4 ? 4 : 16;
    const sample = { family, address: new Uint8Array(size), prefix: isDefault ? 0 : size * 8 };
    const add = addRouteRequest(this.#index, sample);
    const request = this.#verb === "add"
      ? add
      : { ...add, type: RTM_DELROUTE, flags: NLM_F_REQUEST };
    const bytes = encodeRequest({ ...request, flags: request.flags | NLM_F_ACK }, 0);
    // Where RTA_DST's address sits (a default route has none).
    let addressAt = -1;
    const view = new DataView(bytes.buffer);
    for (let at = NLMSG_HDRLEN + align(request.header.length); at + 4 <= bytes.length;) {
      const len = view.getUint16(at, HOST_LITTLE_ENDIAN);
      if (view.getUint16(at + 2, HOST_LITTLE_ENDIAN) === RTA_DST && len === 4 + size) {
        addressAt = at + 4;
      }
      if (len < 4) break;
      at += align(len);
    }
    if (!isDefault && addressAt < 0) {
      throw new Error("Cannot make route requests: the route request has no destination");
    }
    const t = { bytes, addressAt };
    this.#templates.set(id, t);
    return t;
  }
}

/**
 * The routes for `cidrs`, {@linkcode BATCH_LIMIT} requests to a datagram
 * (conversation.ts), a step per datagram; `fine` is the errno that means
 * done already. The first refusal of a datagram throws, once all its answers
 * were read.
 */
function* routeBatches(
  nl: NetlinkTransport,
  index: number,
  cidrs: readonly Cidr[],
  verb: "add" | "delete",
  fine: number,
): Generator<void, void, void> {
  const requests = new RouteRequests(index, verb);
  const tolerate = [fine];
  for (let start = 0; start < cidrs.length; start += BATCH_LIMIT) {
    requestBatch(
      nl,
      cidrs.slice(start, start + BATCH_LIMIT).map((cidr) => ({
        encoded: (seq: number) => requests.encode(cidr, seq),
        describe: (errno: number) => ({
          what: `${verb} route ${formatCidr(masked(cidr))}`,
          hint: permissionHint(errno),
        }),
        tolerate,
      })),
    );
    yield;
  }
}
