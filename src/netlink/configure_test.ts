import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseCidr } from "../config/cidr.ts";
import { configureLinks, fitToMtu, type LinkPlan } from "./configure.ts";
import {
  decodeAttributes,
  type NetlinkMessage,
  NLM_F_MULTI,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
} from "./message.ts";
import {
  datagram,
  doneReply,
  errorReply,
  message,
  ReplayTransport,
  ScriptedTransport,
} from "../../testdata/netlink/fake_transport.ts";
import {
  ADDRESS_EXISTS_CONVERSATION,
  CONFIGURE_CONVERSATION,
  CONNECTED_ROUTE_CONVERSATION,
  MISSING_LINK_CONVERSATION,
  ROUTES_AGAIN_CONVERSATION,
} from "../../testdata/netlink/kernel_replies.ts";
import { hex } from "../../testdata/netlink/hex.ts";

const PLAN: LinkPlan = {
  tunName: "wg0",
  mtu: 1420,
  addresses: [parseCidr("10.99.0.2/32"), parseCidr("fd99::2/128")],
  routes: [parseCidr("0.0.0.0/0"), parseCidr("::/0")],
};

/** One line per request: its type and what it is about. */
function describeRequest(request: NetlinkMessage): string {
  const p = request.payload;
  switch (request.type) {
    case RTM_GETLINK:
      return `GETLINK ${
        new TextDecoder().decode(decodeAttributes(p.subarray(16)).get(3)).replace("\0", "")
      }`;
    case RTM_NEWLINK:
      return `NEWLINK index ${p[4]} flags ${p[8]} change ${p[12]} ${
        hex(decodeAttributes(p.subarray(16)).get(4) ?? new Uint8Array())
      }`;
    case RTM_NEWADDR:
      return `NEWADDR family ${p[0]} /${p[1]} flags ${p[2]} index ${p[4]}`;
    case RTM_NEWROUTE:
      return `NEWROUTE family ${p[0]} /${p[1]} scope ${p[6]}`;
    case RTM_GETROUTE:
      return p[0] === 0 ? "GETROUTE dump" : `GETROUTE dump family ${p[0]}`;
  }
  return `type ${request.type}`;
}

function replay(conversation: readonly string[]): ReplayTransport {
  return new ReplayTransport(conversation.map((datagram) => Uint8Array.fromHex(datagram)));
}

Deno.test("configureLinks replays a real kernel conversation: lo up, wg0 MTU and up, addresses, routes", () => {
  const nl = replay(CONFIGURE_CONVERSATION);
  configureLinks(nl, PLAN);
  strictEqual(nl.remaining, 0);
  deepStrictEqual(nl.sent.map(describeRequest), [
    "GETLINK wg0",
    "NEWLINK index 1 flags 1 change 1 ",
    "NEWLINK index 2 flags 0 change 0 ",
    "NEWLINK index 2 flags 1 change 1 8c050000",
    "NEWADDR family 2 /32 flags 0 index 2",
    "NEWADDR family 10 /128 flags 2 index 2",
    "NEWROUTE family 2 /0 scope 253",
    "NEWROUTE family 10 /0 scope 0",
  ]);
  const first = nl.sent[0].seq;
  deepStrictEqual(nl.sent.map((m) => m.seq - first), [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("configureLinks takes two round trips: the TUN's index, then one batch", () => {
  // Before batching it took ten: one send and its reads per request.
  const nl = replay(CONFIGURE_CONVERSATION);
  configureLinks(nl, PLAN);
  strictEqual(nl.sends, 2);
  const connected = replay(CONNECTED_ROUTE_CONVERSATION);
  configureLinks(connected, CONNECTED_PLAN);
  strictEqual(connected.sends, 3);
});

const CONNECTED_PLAN: LinkPlan = {
  tunName: "wg0",
  mtu: 1420,
  addresses: [parseCidr("10.99.1.2/24"), parseCidr("10.99.0.2/32")],
  routes: [parseCidr("10.99.1.0/24"), parseCidr("10.99.0.2/32"), parseCidr("10.98.0.0/16")],
};

Deno.test("configureLinks lists the routes before adding one for an address's own prefix, and leaves the connected route alone", () => {
  const nl = replay(CONNECTED_ROUTE_CONVERSATION);
  configureLinks(nl, CONNECTED_PLAN);
  strictEqual(nl.remaining, 0);
  deepStrictEqual(nl.sent.map(describeRequest), [
    "GETLINK wg0",
    "NEWLINK index 1 flags 1 change 1 ",
    "NEWLINK index 2 flags 0 change 0 ",
    "NEWLINK index 2 flags 1 change 1 8c050000",
    "NEWADDR family 2 /24 flags 0 index 2",
    "NEWADDR family 2 /32 flags 0 index 2",
    "NEWROUTE family 2 /16 scope 253",
    "GETROUTE dump family 2",
    // 10.99.1.0/24 is the kernel's connected route; 10.99.0.2/32 has none.
    "NEWROUTE family 2 /32 scope 253",
  ]);
});

Deno.test("configureLinks run again leaves routes already through the TUN alone (EEXIST, then the dump shows them)", () => {
  const nl = replay(ROUTES_AGAIN_CONVERSATION);
  configureLinks(nl, { ...PLAN, addresses: [] });
  strictEqual(nl.remaining, 0);
  deepStrictEqual(nl.sent.slice(-3).map(describeRequest), [
    "NEWROUTE family 2 /0 scope 253",
    "NEWROUTE family 10 /0 scope 0",
    "GETROUTE dump",
  ]);
  strictEqual(nl.sends, 3);
});

Deno.test("configureLinks stops at a missing TUN with ENODEV before changing anything", () => {
  const nl = replay(MISSING_LINK_CONVERSATION);
  throws(() => configureLinks(nl, { ...PLAN, tunName: "nope0" }), {
    name: "NetlinkError",
    message:
      "Cannot find link nope0: No such device (ENODEV); the socket's network namespace has no link of that name; was the TUN device created in the cage?",
  });
  deepStrictEqual(nl.sent.map(describeRequest), ["GETLINK nope0"]);
});

Deno.test("configureLinks reports an address that is already there (EEXIST) from the kernel", () => {
  const nl = replay(ADDRESS_EXISTS_CONVERSATION);
  throws(
    () => configureLinks(nl, { ...PLAN, addresses: [parseCidr("10.99.0.2/32")], routes: [] }),
    {
      name: "NetlinkError",
      message:
        'Cannot add address 10.99.0.2/32 to wg0: File exists (EEXIST, kernel says "ipv4: Address already assigned"); wg0 already has this address; list each address once',
    },
  );
});

/**
 * A fake kernel with lo (1) and wg0 (2) whose main table holds the given
 * routes out of wg0 (as `[family, prefix, destination bytes]`).
 */
function fakeKernel(connected: [number, number, number[]][]): ScriptedTransport {
  return new ScriptedTransport((request) => {
    switch (request.type) {
      case RTM_GETLINK: {
        const name = new TextDecoder().decode(
          decodeAttributes(request.payload.subarray(16)).get(3),
        );
        const link = new Uint8Array(16);
        link[4] = name.startsWith("lo") ? 1 : 2;
        return [message(RTM_NEWLINK, 0, request.seq, link), errorReply(request, 0)];
      }
      case RTM_GETROUTE: {
        const routes = connected.map(([family, prefix, destination]) => {
          const payload = new Uint8Array(12 + 4 + destination.length + 8);
          payload.set([family, prefix, 0, 0, 254, 2, 253, 1]);
          payload.set([4 + destination.length, 0, 1, 0], 12);
          payload.set(destination, 16);
          payload.set([8, 0, 4, 0, 2, 0, 0, 0], 16 + destination.length);
          return message(RTM_NEWROUTE, NLM_F_MULTI, request.seq, payload);
        });
        return [datagram(...routes), doneReply(request.seq)];
      }
      default:
        return [errorReply(request, 0)];
    }
  });
}

Deno.test("configureLinks skips prefixes the main table already routes through the TUN, and duplicates", () => {
  const nl = fakeKernel([[2, 24, [10, 99, 1, 0]], [10, 64, [
    0xfd,
    0x99,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]]]);
  configureLinks(nl, {
    tunName: "wg0",
    mtu: 1420,
    addresses: [parseCidr("10.99.1.2/24"), parseCidr("fd99:1::2/64")],
    routes: [
      parseCidr("10.99.1.0/24"),
      parseCidr("fd99:1::/64"),
      parseCidr("10.98.0.0/16"),
      parseCidr("10.98.1.1/16"),
    ],
  });
  deepStrictEqual(nl.sent.filter((m) => m.type === RTM_NEWROUTE).map(describeRequest), [
    "NEWROUTE family 2 /16 scope 253",
  ]);
  // The connected routes were there: nothing was left to add after the dump.
  strictEqual(nl.sends, 2);
});

Deno.test("configureLinks given the TUN's index (the cage's child reports it) takes one round trip", () => {
  const nl = fakeKernel([]);
  configureLinks(nl, PLAN, 2);
  strictEqual(nl.sends, 1);
  strictEqual(nl.sent.some((m) => m.type === RTM_GETLINK), false);
  deepStrictEqual(
    nl.sent.filter((m) => m.type === RTM_NEWADDR).map(describeRequest),
    ["NEWADDR family 2 /32 flags 0 index 2", "NEWADDR family 10 /128 flags 2 index 2"],
  );
});

Deno.test("configureLinks without routes does not list the routing table", () => {
  const nl = fakeKernel([]);
  configureLinks(nl, { ...PLAN, routes: [] });
  strictEqual(nl.sent.some((m) => m.type === RTM_GETROUTE), false);
});

Deno.test("configureLinks fails on a route another link already has", () => {
  const nl = new ScriptedTransport((request) => {
    if (request.type === RTM_GETLINK) {
      const link = new Uint8Array(16);
      link[4] = 2;
      return [message(RTM_NEWLINK, 0, request.seq, link), errorReply(request, 0)];
    }
    if (request.type === RTM_GETROUTE) return [doneReply(request.seq)];
    if (request.type === RTM_NEWROUTE) return [errorReply(request, 17)];
    return [errorReply(request, 0)];
  });
  throws(() => configureLinks(nl, { ...PLAN, routes: [parseCidr("10.97.0.0/16")] }), {
    name: "NetlinkError",
    message:
      "Cannot add route 10.97.0.0/16 via wg0: File exists (EEXIST); another route for this prefix is already in the main table",
  });
});

Deno.test("fitToMtu: below 1280 the IPv6 routes and addresses are left out, with one warning", () => {
  const plan: LinkPlan = {
    tunName: "wg0",
    mtu: 1200,
    addresses: [parseCidr("10.0.0.2/32"), parseCidr("fd00::2/128")],
    routes: [parseCidr("0.0.0.0/0"), parseCidr("::/0")],
  };
  const fit = fitToMtu(plan);
  deepStrictEqual(fit.plan, {
    ...plan,
    addresses: [parseCidr("10.0.0.2/32")],
    routes: [parseCidr("0.0.0.0/0")],
  });
  strictEqual(
    fit.warning,
    "wgcage: MTU 1200 is below 1280, the minimum for IPv6, so the cage has no IPv6 (fd00::2/128, ::/0 left out); raise MTU to 1280 or more for IPv6, or take IPv6 out of Address and AllowedIPs",
  );
  // At 1280, or with no IPv6 at all, the plan is unchanged and nothing is said.
  deepStrictEqual(fitToMtu({ ...plan, mtu: 1280 }), { plan: { ...plan, mtu: 1280 } });
  const v4 = { ...plan, addresses: [parseCidr("10.0.0.2/32")], routes: [parseCidr("0.0.0.0/0")] };
  deepStrictEqual(fitToMtu(v4), { plan: v4 });
});
