import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseCidr } from "../config/cidr.ts";
import {
  addAddress,
  addAddressRequest,
  decodeAddress,
  dumpAddressesRequest,
  listAddresses,
} from "./address.ts";
import { encodeRequest, type NetlinkRequest, NLM_F_ACK, NLM_F_DUMP } from "./message.ts";
import {
  errorReply,
  ReplayTransport,
  ScriptedTransport,
} from "../../testdata/netlink/fake_transport.ts";
import {
  ADDRESS_DUMP,
  ADDRESS_EXISTS_CONVERSATION,
} from "../../testdata/netlink/kernel_replies.ts";
import { bytesOf, capturedMessages, hex } from "../../testdata/netlink/hex.ts";
import { disableLinkLocal, getLink, setLink } from "./link.ts";

const IP_SEQ = 0x6b028dc6;

function withFlags(request: NetlinkRequest, flags: number): NetlinkRequest {
  return { ...request, flags: request.flags | flags };
}

Deno.test("addAddressRequest for IPv4 matches the bytes of `ip addr add 10.99.0.2/32 dev wg0`", () => {
  // flags REQUEST|ACK|EXCL|CREATE (0x605); ifaddrmsg AF_INET, /32, no flags,
  // scope universe, index 2; IFA_LOCAL (2) then IFA_ADDRESS (1), 10.99.0.2.
  strictEqual(
    hex(
      encodeRequest(withFlags(addAddressRequest(2, parseCidr("10.99.0.2/32")), NLM_F_ACK), IP_SEQ),
    ),
    hex(bytesOf(`
      28000000 14000506 c68d026b 00000000
      02200000 02000000
      08000200 0a630002
      08000100 0a630002`)),
  );
});

Deno.test("addAddressRequest for IPv6 matches `ip -6 addr add fd99::2/128 dev wg0 nodad`", () => {
  // ifaddrmsg AF_INET6 (10), /128, IFA_F_NODAD (2), scope 0, index 2.
  strictEqual(
    hex(
      encodeRequest(withFlags(addAddressRequest(2, parseCidr("fd99::2/128")), NLM_F_ACK), IP_SEQ),
    ),
    hex(bytesOf(`
      40000000 14000506 c68d026b 00000000
      0a800200 02000000
      14000200 fd990000 00000000 00000000 00000002
      14000100 fd990000 00000000 00000000 00000002`)),
  );
});

Deno.test("addAddressRequest keeps the host bits of an interface address", () => {
  const request = addAddressRequest(5, parseCidr("10.1.2.3/24"));
  strictEqual(
    hex(encodeRequest(request, 1)),
    hex(bytesOf(`
      28000000 14000106 01000000 00000000
      02180000 05000000
      08000200 0a010203
      08000100 0a010203`)),
  );
});

Deno.test("dumpAddressesRequest is an RTM_GETADDR dump of both families", () => {
  strictEqual(
    hex(encodeRequest(withFlags(dumpAddressesRequest(), NLM_F_DUMP), 3)),
    "18000000 16000103 03000000 00000000 00000000 00000000",
  );
});

Deno.test("decodeAddress reads a captured dump of lo's and wg0's addresses", () => {
  const addresses = capturedMessages(ADDRESS_DUMP).filter((m) => m.type === 20).map(decodeAddress);
  deepStrictEqual(addresses, [
    {
      family: 4,
      index: 1,
      address: "127.0.0.1",
      local: "127.0.0.1",
      prefix: 8,
      flags: 0x80,
      scope: 254,
      label: "lo",
    },
    {
      family: 4,
      index: 2,
      address: "10.99.0.2",
      local: "10.99.0.2",
      prefix: 32,
      flags: 0x80,
      scope: 0,
      label: "wg0",
    },
    {
      family: 6,
      index: 1,
      address: "::1",
      local: undefined,
      prefix: 128,
      flags: 0x80,
      scope: 254,
      label: undefined,
    },
    // IFA_F_PERMANENT | IFA_F_NODAD, and no IFA_F_TENTATIVE: usable at once.
    {
      family: 6,
      index: 2,
      address: "fd99::2",
      local: undefined,
      prefix: 128,
      flags: 0x82,
      scope: 0,
      label: undefined,
    },
  ]);
});

Deno.test("listAddresses reads a whole dump", () => {
  const nl = new ReplayTransport(ADDRESS_DUMP.map((datagram) => Uint8Array.fromHex(datagram)));
  deepStrictEqual(listAddresses(nl).map((a) => `${a.address}/${a.prefix}`), [
    "127.0.0.1/8",
    "10.99.0.2/32",
    "::1/128",
    "fd99::2/128",
  ]);
});

Deno.test("addAddress reports an address that is already there with the kernel's words", () => {
  // The capture: wg0 looked up, lo and wg0 set up (wg0 without link-local), then 10.99.0.2/32 again.
  const nl = new ReplayTransport(
    ADDRESS_EXISTS_CONVERSATION.map((datagram) => Uint8Array.fromHex(datagram)),
  );
  getLink(nl, "wg0");
  setLink(nl, 1, "lo", { up: true });
  disableLinkLocal(nl, 2, "wg0");
  setLink(nl, 2, "wg0", { mtu: 1420, up: true });
  throws(() => addAddress(nl, 2, "wg0", parseCidr("10.99.0.2/32")), {
    name: "NetlinkError",
    message:
      'Cannot add address 10.99.0.2/32 to wg0: File exists (EEXIST, kernel says "ipv4: Address already assigned"); wg0 already has this address; list each address once',
  });
});

Deno.test("addAddress errors name the address, the link and the likely fix", () => {
  const cases: [string, number, string][] = [
    [
      "fd00::2/64",
      1,
      "Cannot add address fd00::2/64 to wg0: Operation not permitted (EPERM); the netlink socket is not in a network namespace wgcage owns",
    ],
    [
      "fd00::2/64",
      13,
      "Cannot add address fd00::2/64 to wg0: Permission denied (EACCES); IPv6 is disabled on wg0 (net.ipv6.conf.default.disable_ipv6=1); enable it or remove the IPv6 address",
    ],
    [
      "10.0.0.2/24",
      13,
      "Cannot add address 10.0.0.2/24 to wg0: Permission denied (EACCES); the netlink socket is not in a network namespace wgcage owns",
    ],
    [
      "fd00::2/64",
      97,
      "Cannot add address fd00::2/64 to wg0: Address family not supported by protocol (EAFNOSUPPORT); this kernel has IPv6 turned off (ipv6.disable=1); remove the IPv6 address",
    ],
    [
      "fd00::2/64",
      22,
      "Cannot add address fd00::2/64 to wg0: Invalid argument (EINVAL); IPv6 needs an MTU of 1280 or more; raise MTU or remove the IPv6 address",
    ],
    [
      "10.0.0.2/24",
      22,
      "Cannot add address 10.0.0.2/24 to wg0: Invalid argument (EINVAL); check the address and its prefix length",
    ],
    [
      "10.0.0.2/24",
      19,
      "Cannot add address 10.0.0.2/24 to wg0: No such device (ENODEV); wg0 is gone from the cage's namespace",
    ],
    ["10.0.0.2/24", 12, "Cannot add address 10.0.0.2/24 to wg0: Cannot allocate memory (ENOMEM)"],
    ["10.0.0.2/24", 4095, "Cannot add address 10.0.0.2/24 to wg0: Unknown error (errno 4095)"],
  ];
  for (const [cidr, errno, expected] of cases) {
    const nl = new ScriptedTransport((request) => [errorReply(request, errno)]);
    throws(() => addAddress(nl, 2, "wg0", parseCidr(cidr)), {
      name: "NetlinkError",
      message: expected,
    });
  }
});
