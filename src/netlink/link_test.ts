import { deepStrictEqual, strictEqual, throws } from "node:assert";
import {
  decodeLink,
  dumpLinksRequest,
  getLink,
  getLinkIndex,
  getLinkRequest,
  listLinks,
  noLinkLocalRequest,
  setLink,
  setLinkRequest,
} from "./link.ts";
import {
  encodeRequest,
  type NetlinkRequest,
  NLM_F_ACK,
  NLM_F_DUMP,
  RTM_NEWLINK,
} from "./message.ts";
import { NetlinkError } from "./error.ts";
import {
  errorReply,
  ReplayTransport,
  ScriptedTransport,
} from "../../testdata/netlink/fake_transport.ts";
import {
  CONFIGURE_CONVERSATION,
  LINK_DUMP,
  MISSING_LINK_CONVERSATION,
} from "../../testdata/netlink/kernel_replies.ts";
import { bytesOf, capturedMessages, hex } from "../../testdata/netlink/hex.ts";

/** The sequence number `ip` used when its requests were recorded with strace. */
const IP_SEQ = 0x6b028dc6;

function withFlags(request: NetlinkRequest, flags: number): NetlinkRequest {
  return { ...request, flags: request.flags | flags };
}

Deno.test("setLinkRequest for 'up' matches the bytes of `ip link set lo up`", () => {
  // Recorded: strace -e trace=sendmsg -e write=3 ip link set lo up (lo is index 1).
  // ifinfomsg: family 0, type 0, index 1, flags IFF_UP, change IFF_UP.
  strictEqual(
    hex(encodeRequest(withFlags(setLinkRequest(1, { up: true }), NLM_F_ACK), IP_SEQ)),
    hex(bytesOf(`
      20000000 10000500 c68d026b 00000000
      00000000 01000000 01000000 01000000`)),
  );
});

Deno.test("setLinkRequest with an MTU matches the bytes of `ip link set dev wg0 mtu 1380 up`", () => {
  // IFLA_MTU (4) = 1380 (0x564) after the ifinfomsg for index 2.
  strictEqual(
    hex(encodeRequest(withFlags(setLinkRequest(2, { up: true, mtu: 1380 }), NLM_F_ACK), IP_SEQ)),
    hex(bytesOf(`
      28000000 10000500 c68d026b 00000000
      00000000 02000000 01000000 01000000
      08000400 64050000`)),
  );
});

Deno.test("setLinkRequest leaves the flags alone when only the MTU changes, and can bring a link down", () => {
  strictEqual(
    hex(encodeRequest(setLinkRequest(3, { mtu: 1280 }), 1)),
    hex(bytesOf(`
      28000000 10000100 01000000 00000000
      00000000 03000000 00000000 00000000
      08000400 00050000`)),
  );
  strictEqual(
    hex(encodeRequest(setLinkRequest(3, { up: false }), 1)),
    hex(bytesOf(`
      20000000 10000100 01000000 00000000
      00000000 03000000 00000000 01000000`)),
  );
});

Deno.test("getLinkRequest selects by IFLA_IFNAME and skips statistics", () => {
  // IFLA_IFNAME (3) "wg0\0"; IFLA_EXT_MASK (29) RTEXT_FILTER_SKIP_STATS (8).
  strictEqual(
    hex(encodeRequest(withFlags(getLinkRequest("wg0"), NLM_F_ACK), 1)),
    hex(bytesOf(`
      30000000 12000500 01000000 00000000
      00000000 00000000 00000000 00000000
      08000300 77673000
      08001d00 08000000`)),
  );
});

Deno.test("dumpLinksRequest is an RTM_GETLINK dump with an empty ifinfomsg", () => {
  strictEqual(
    hex(encodeRequest(withFlags(dumpLinksRequest(), NLM_F_DUMP), 9)),
    hex(bytesOf(`
      28000000 12000103 09000000 00000000
      00000000 00000000 00000000 00000000
      08001d00 08000000`)),
  );
});

Deno.test("decodeLink reads lo and a TUN from a captured kernel dump", () => {
  const links = capturedMessages(LINK_DUMP).filter((m) => m.type === RTM_NEWLINK).map(decodeLink);
  deepStrictEqual(links, [
    { index: 1, name: "lo", type: 772, flags: 0x10049, up: true, mtu: 65536, operState: "UNKNOWN" },
    // UP | POINTOPOINT | NOARP | MULTICAST, no carrier: nothing holds the TUN open.
    { index: 2, name: "wg0", type: 65534, flags: 0x1091, up: true, mtu: 1420, operState: "DOWN" },
  ]);
});

Deno.test("decodeLink refuses a message that is not RTM_NEWLINK", () => {
  throws(
    () => decodeLink({ type: 20, flags: 0, seq: 1, pid: 0, payload: new Uint8Array(16) }),
    /Cannot read a link: expected an RTM_NEWLINK message, got type 20 of 16 bytes/,
  );
});

Deno.test("listLinks collects a dump spread over two datagrams", () => {
  const nl = new ReplayTransport(LINK_DUMP.map((datagram) => Uint8Array.fromHex(datagram)));
  deepStrictEqual(listLinks(nl).map((link) => link.name), ["lo", "wg0"]);
  strictEqual(nl.remaining, 0);
});

Deno.test("getLinkIndex reads the index getLink decodes, from a captured answer", () => {
  // The capture's first two datagrams: wg0's RTM_NEWLINK and the ack (seq 1).
  const answer = () =>
    new ReplayTransport(CONFIGURE_CONVERSATION.slice(0, 2).map(Uint8Array.fromHex));
  strictEqual(getLinkIndex(answer(), "wg0"), 2);
  strictEqual(getLink(answer(), "wg0").index, 2);
});

Deno.test("getLink reports a missing link as ENODEV with the likely cause", () => {
  // The capture: nope0 refused (seq 1).
  const nl = new ReplayTransport(
    MISSING_LINK_CONVERSATION.map((datagram) => Uint8Array.fromHex(datagram)),
  );
  throws(() => getLink(nl, "nope0"), (error: unknown) => {
    strictEqual(error instanceof NetlinkError, true);
    strictEqual((error as NetlinkError).errno, 19);
    strictEqual(
      (error as Error).message,
      "Cannot find link nope0: No such device (ENODEV); the socket's network namespace has no link of that name; was the TUN device created in the cage?",
    );
    return true;
  });
  deepStrictEqual(capturedMessages(MISSING_LINK_CONVERSATION).map((m) => m.seq), [1]);
});

Deno.test("setLink errors name the change and the likely fix", () => {
  const cases: [number, { up?: boolean; mtu?: number }, string][] = [
    [
      22,
      { mtu: 10, up: true },
      'Cannot set the MTU of wg0 to 10 and bring wg0 up: Invalid argument (EINVAL, kernel says "mtu less than device minimum"); the MTU is outside what the device accepts (68..65535 for a TUN)',
    ],
    [
      1,
      { up: true },
      "Cannot bring wg0 up: Operation not permitted (EPERM); the netlink socket is not in a network namespace wgcage owns",
    ],
    [
      19,
      { up: false },
      "Cannot bring wg0 down: No such device (ENODEV); the link is gone from the cage's namespace",
    ],
  ];
  for (const [errno, change, expected] of cases) {
    const nl = new ScriptedTransport((request) => [
      errorReply(request, errno, errno === 22 ? "mtu less than device minimum" : undefined),
    ]);
    throws(() => setLink(nl, 2, "wg0", change), { name: "NetlinkError", message: expected });
  }
});

Deno.test("setLink sends one acknowledged RTM_NEWLINK", () => {
  const nl = new ScriptedTransport((request) => [errorReply(request, 0)]);
  setLink(nl, 2, "wg0", { mtu: 1420, up: true });
  strictEqual(nl.sent.length, 1);
  strictEqual(nl.sent[0].type, RTM_NEWLINK);
  strictEqual(nl.sent[0].flags, 0x5);
});

Deno.test("noLinkLocalRequest matches `ip link set wg0 addrgenmode none`", () => {
  const request = noLinkLocalRequest(2);
  // IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: 1 } }
  strictEqual(hex(request.attributes[0].data), "0c000a00 05000800 01000000");
  strictEqual(request.attributes[0].type, 26);
});
