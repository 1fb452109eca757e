import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseCidr } from "../config/cidr.ts";
import { encodeRequest, type NetlinkRequest, NLM_F_ACK, NLM_F_DUMP } from "./message.ts";
import {
  addRoute,
  addRouteRequest,
  decodeRoute,
  directPrefixVia,
  dumpRoutesRequest,
  listRoutes,
} from "./route.ts";
import { formatCidr } from "../config/cidr.ts";
import {
  errorReply,
  ReplayTransport,
  ScriptedTransport,
} from "../../testdata/netlink/fake_transport.ts";
import { ROUTE_DUMP } from "../../testdata/netlink/kernel_replies.ts";
import { bytesOf, capturedMessages, hex } from "../../testdata/netlink/hex.ts";

const IP_SEQ = 0x6b028dc7;

function withFlags(request: NetlinkRequest, flags: number): NetlinkRequest {
  return { ...request, flags: request.flags | flags };
}

Deno.test("addRouteRequest for IPv4 matches the bytes of `ip route add 10.98.0.0/16 dev wg0`", () => {
  // rtmsg: AF_INET, dst_len 16, src_len 0, tos 0, table main (254),
  // protocol boot (3), scope link (253), type unicast (1), flags 0;
  // RTA_DST (1) 10.98.0.0, RTA_OIF (4) 2.
  strictEqual(
    hex(encodeRequest(withFlags(addRouteRequest(2, parseCidr("10.98.0.0/16")), NLM_F_ACK), IP_SEQ)),
    hex(bytesOf(`
      2c000000 18000506 c78d026b 00000000
      02100000 fe03fd01 00000000
      08000100 0a620000
      08000400 02000000`)),
  );
});

Deno.test("addRouteRequest for IPv6 matches the bytes of `ip -6 route add fd98::/64 dev wg0`", () => {
  // IPv6 routes carry scope universe (0), as `ip` sends them.
  strictEqual(
    hex(encodeRequest(withFlags(addRouteRequest(2, parseCidr("fd98::/64")), NLM_F_ACK), IP_SEQ)),
    hex(bytesOf(`
      38000000 18000506 c78d026b 00000000
      0a400000 fe030001 00000000
      14000100 fd980000 00000000 00000000 00000000
      08000400 02000000`)),
  );
});

Deno.test("addRouteRequest clears host bits from the destination", () => {
  deepStrictEqual(
    encodeRequest(addRouteRequest(2, parseCidr("10.98.7.9/16")), 1),
    encodeRequest(addRouteRequest(2, parseCidr("10.98.0.0/16")), 1),
  );
});

Deno.test("addRouteRequest writes /0 as a default route without RTA_DST", () => {
  // Same as `ip route add default dev wg0`: dst_len 0 and only RTA_OIF.
  strictEqual(
    hex(encodeRequest(withFlags(addRouteRequest(2, parseCidr("0.0.0.0/0")), NLM_F_ACK), IP_SEQ)),
    hex(bytesOf(`
      24000000 18000506 c78d026b 00000000
      02000000 fe03fd01 00000000
      08000400 02000000`)),
  );
  strictEqual(
    hex(encodeRequest(addRouteRequest(7, parseCidr("::/0")), 1)),
    hex(bytesOf(`
      24000000 18000106 01000000 00000000
      0a000000 fe030001 00000000
      08000400 07000000`)),
  );
});

Deno.test("dumpRoutesRequest is an RTM_GETROUTE dump of every family and table", () => {
  strictEqual(
    hex(encodeRequest(withFlags(dumpRoutesRequest(), NLM_F_DUMP), 2)),
    "1c000000 1a000103 02000000 00000000 00000000 00000000 00000000",
  );
});

Deno.test("decodeRoute reads a captured dump of a configured cage", () => {
  const routes = capturedMessages(ROUTE_DUMP).filter((m) => m.type === 24).map(decodeRoute);
  const brief = routes.map((r) =>
    r &&
    [
      `${r.destination}/${r.prefix}`,
      `table ${r.table}`,
      `proto ${r.protocol}`,
      `scope ${r.scope}`,
      `type ${r.type}`,
      `dev ${r.outputIndex}`,
      `src ${r.preferredSource ?? "-"}`,
      `metric ${r.priority ?? "-"}`,
    ].join(" ")
  );
  deepStrictEqual(brief, [
    "0.0.0.0/0 table 254 proto 3 scope 253 type 1 dev 2 src - metric -",
    "10.99.0.2/32 table 255 proto 2 scope 254 type 2 dev 2 src 10.99.0.2 metric -",
    "127.0.0.0/8 table 255 proto 2 scope 254 type 2 dev 1 src 127.0.0.1 metric -",
    "127.0.0.1/32 table 255 proto 2 scope 254 type 2 dev 1 src 127.0.0.1 metric -",
    "127.255.255.255/32 table 255 proto 2 scope 253 type 3 dev 1 src 127.0.0.1 metric -",
    "fd99::2/128 table 254 proto 2 scope 0 type 1 dev 2 src - metric 256",
    "::/0 table 254 proto 3 scope 0 type 1 dev 2 src - metric 1024",
    "::1/128 table 255 proto 2 scope 0 type 2 dev 1 src - metric 0",
    "fd99::2/128 table 255 proto 2 scope 0 type 2 dev 2 src - metric 0",
    "ff00::/8 table 255 proto 2 scope 0 type 5 dev 2 src - metric 256",
  ]);
  strictEqual(routes[0]?.gateway, undefined);
  strictEqual(routes[0]?.family, 4);
  strictEqual(routes[6]?.family, 6);
});

Deno.test("listRoutes reads a whole dump", () => {
  const nl = new ReplayTransport(ROUTE_DUMP.map((datagram) => Uint8Array.fromHex(datagram)));
  strictEqual(listRoutes(nl).length, 10);
  strictEqual(nl.remaining, 0);
});

Deno.test("directPrefixVia picks the main table's routes straight out of a link, as decodeRoute reads them", () => {
  // The dump's NLMSG_DONE included: directPrefixVia passes over what is no route.
  const messages = capturedMessages(ROUTE_DUMP);
  for (const index of [1, 2]) {
    const direct = messages.flatMap((m) => {
      const prefix = directPrefixVia(m, index);
      return prefix === undefined ? [] : [formatCidr(prefix)];
    });
    const decoded = messages.filter((m) => m.type === 24).map(decodeRoute).filter((r) =>
      r !== undefined && r.table === 254 && r.outputIndex === index && r.gateway === undefined
    ).map((r) => `${r!.destination}/${r!.prefix}`);
    deepStrictEqual(direct, decoded);
  }
  // wg0's (index 2) in that capture: the default route and fd99::2's connected route.
  deepStrictEqual(
    messages.flatMap((m) => {
      const prefix = directPrefixVia(m, 2);
      return prefix === undefined ? [] : [formatCidr(prefix)];
    }),
    ["0.0.0.0/0", "fd99::2/128", "::/0"],
  );
});

Deno.test("dumpRoutesRequest of one family sets rtm_family", () => {
  strictEqual(dumpRoutesRequest(4).header[0], 2);
  strictEqual(dumpRoutesRequest(6).header[0], 10);
  strictEqual(dumpRoutesRequest().header[0], 0);
});

Deno.test("addRoute errors name the prefix, the link and the likely fix", () => {
  const cases: [string, number, string][] = [
    [
      "10.98.3.4/16",
      17,
      "Cannot add route 10.98.0.0/16 via wg0: File exists (EEXIST); another route for this prefix is already in the main table",
    ],
    [
      "0.0.0.0/0",
      100,
      "Cannot add route 0.0.0.0/0 via wg0: Network is down (ENETDOWN); wg0 must be up before routes can use it",
    ],
    [
      "::/0",
      1,
      "Cannot add route ::/0 via wg0: Operation not permitted (EPERM); the netlink socket is not in a network namespace wgcage owns",
    ],
    [
      "fd98::/64",
      97,
      "Cannot add route fd98::/64 via wg0: Address family not supported by protocol (EAFNOSUPPORT); this kernel has IPv6 turned off (ipv6.disable=1); remove the IPv6 prefixes",
    ],
    [
      "10.0.0.0/8",
      19,
      "Cannot add route 10.0.0.0/8 via wg0: No such device (ENODEV); wg0 is gone from the cage's namespace",
    ],
    [
      "10.0.0.0/8",
      22,
      "Cannot add route 10.0.0.0/8 via wg0: Invalid argument (EINVAL); check the prefix and its length",
    ],
  ];
  for (const [cidr, errno, expected] of cases) {
    const nl = new ScriptedTransport((request) => [errorReply(request, errno)]);
    throws(() => addRoute(nl, 2, "wg0", parseCidr(cidr)), {
      name: "NetlinkError",
      message: expected,
    });
  }
});
