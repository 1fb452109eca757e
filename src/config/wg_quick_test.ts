import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseWgQuick } from "./wg_quick.ts";
import { ConfigError } from "./config_error.ts";
import { formatCidr } from "./cidr.ts";

const PRIVATE = "IMGyfWxyOFd5vribqxh4YSEY0RjR5KvL1Vtf9PTiwkE=";
const PEER_A = "WLBgRfhkm5RRLUKzqZn6H5Iaojwov27AJdgR1sBO1k4=";
const PEER_B = "SBQ2C/ZQiCxGTF/wR8Pq8H044U4CSSeZST4j2qD1/VE=";
const PSK = "QKNRge9DfG1nVVyMw1dCBZjud4LQUYPtFLN4at4HlGI=";

const FULL = `# A typical wg-quick file
[Interface]
PrivateKey = ${PRIVATE}
Address = 10.0.0.2/24, fd00::2/64
Address = 10.0.1.2
DNS = 10.0.0.1, fd00::1, corp.example
DNS = lab.example
MTU = 1380
ListenPort = 51820

[Peer]
PublicKey = ${PEER_A}
PresharedKey = ${PSK}
AllowedIPs = 10.0.0.0/24, fd00::/64
AllowedIPs = 192.168.7.9/24
Endpoint = vpn.example.com:51820
PersistentKeepalive = 25

[Peer]
PublicKey = ${PEER_B}
AllowedIPs = 0.0.0.0/0
Endpoint = [fd00::9]:4500
PersistentKeepalive = off
`;

Deno.test("parseWgQuick reads a full wg-quick file with two peers", () => {
  const config = parseWgQuick(FULL, "wg0.conf");
  strictEqual(config.source, "wg0.conf");
  strictEqual(config.iface.privateKey.secret, true);
  strictEqual(btoa(String.fromCharCode(...config.iface.privateKey.bytes)), PRIVATE);
  deepStrictEqual(config.iface.addresses.map(formatCidr), [
    "10.0.0.2/24",
    "fd00::2/64",
    "10.0.1.2/32",
  ]);
  deepStrictEqual(config.iface.dnsServers, ["10.0.0.1", "fd00::1"]);
  deepStrictEqual(config.iface.dnsSearch, ["corp.example", "lab.example"]);
  strictEqual(config.iface.mtu, 1380);
  strictEqual(config.iface.listenPort, 51820);
  strictEqual(config.peers.length, 2);
  const [a, b] = config.peers;
  strictEqual(a.publicKey.toString(), PEER_A);
  strictEqual(a.publicKey.secret, false);
  strictEqual(a.presharedKey?.secret, true);
  deepStrictEqual(a.allowedIps.map(formatCidr), ["10.0.0.0/24", "fd00::/64", "192.168.7.0/24"]);
  deepStrictEqual(a.endpoint, { host: "vpn.example.com", port: 51820 });
  strictEqual(a.persistentKeepalive, 25);
  strictEqual(b.presharedKey, undefined);
  deepStrictEqual(b.endpoint, { host: "fd00::9", port: 4500 });
  strictEqual(b.persistentKeepalive, 0);
  deepStrictEqual(config.warnings, []);
});

Deno.test("parseWgQuick applies defaults: MTU 1420, any listen port, keepalive off", () => {
  const config = parseWgQuick(
    `[Interface]\nPrivateKey=${PRIVATE}\nAddress=10.0.0.2\n[Peer]\nPublicKey=${PEER_A}\nAllowedIPs=0.0.0.0/0\nEndpoint=127.0.0.1:1\n`,
    "wg.conf",
  );
  strictEqual(config.iface.mtu, 1420);
  strictEqual(config.iface.listenPort, undefined);
  strictEqual(config.peers[0].persistentKeepalive, 0);
  deepStrictEqual(config.iface.dnsServers, []);
});

Deno.test("parseWgQuick tolerates case, blank space, comments, CRLF and a BOM", () => {
  const text = "\uFEFF  [interface]  # comment\r\n" +
    `\tprivatekey\t=\t${PRIVATE}   \r\n` +
    "ADDRESS=10.0.0.2/32#trailing comment\r\n" +
    "\r\n# whole-line comment\r\n" +
    "[ PEER ]\r\n" +
    `PUBLICKEY = ${PEER_A}\r\n` +
    "allowedips = ::/0 ,0.0.0.0/0,\r\n" +
    "endpoint = 127.0.0.1:51820";
  const config = parseWgQuick(text, "wg.conf");
  deepStrictEqual(config.iface.addresses.map(formatCidr), ["10.0.0.2/32"]);
  deepStrictEqual(config.peers[0].allowedIps.map(formatCidr), ["::/0", "0.0.0.0/0"]);
});

Deno.test("parseWgQuick warns once per host-only key and keeps going", () => {
  const text = `[Interface]
PrivateKey = ${PRIVATE}
Address = 10.0.0.2/32
Table = off
FwMark = 0x1234
SaveConfig = true
PreUp = echo pre
PostUp = iptables -A FORWARD -i %i -j ACCEPT
PreDown = echo down
PostDown =
[Peer]
PublicKey = ${PEER_A}
Endpoint = 127.0.0.1:51820
AllowedIPs = 0.0.0.0/0
`;
  deepStrictEqual(parseWgQuick(text, "wg.conf").warnings, [
    "wgcage: wg.conf:4: Table is ignored by wgcage (routes go into the cage's own namespace); remove it to silence this warning",
    "wgcage: wg.conf:5: FwMark is ignored by wgcage (its UDP socket is an ordinary process socket); remove it to silence this warning",
    "wgcage: wg.conf:6: SaveConfig is ignored by wgcage (it never writes the config file); remove it to silence this warning",
    "wgcage: wg.conf:7: PreUp is not run by wgcage (the cage has no host routing to change); remove it to silence this warning",
    "wgcage: wg.conf:8: PostUp is not run by wgcage (the cage has no host routing to change); remove it to silence this warning",
    "wgcage: wg.conf:9: PreDown is not run by wgcage (the cage has no host routing to change); remove it to silence this warning",
    "wgcage: wg.conf:10: PostDown is not run by wgcage (the cage has no host routing to change); remove it to silence this warning",
  ]);
});

Deno.test("parseWgQuick warns about a peer without AllowedIPs", () => {
  const text =
    `[Interface]\nPrivateKey = ${PRIVATE}\nAddress = 10.0.0.2\n\n[Peer]\nPublicKey = ${PEER_A}\nAllowedIPs =\nEndpoint = 127.0.0.1:1\n`;
  const config = parseWgQuick(text, "wg.conf");
  deepStrictEqual(config.peers[0].allowedIps, []);
  deepStrictEqual(config.warnings, [
    "wgcage: wg.conf:5: [Peer] has no AllowedIPs, so no traffic goes to or comes from it; add e.g. 'AllowedIPs = 0.0.0.0/0, ::/0'",
  ]);
});

Deno.test("parseWgQuick accepts a peer without Endpoint when ListenPort is set, and keepalive 0", () => {
  const text =
    `[Interface]\nPrivateKey = ${PRIVATE}\nAddress = fd00::2\nListenPort = 51820\nMTU = 1280\n[Peer]\nPublicKey = ${PEER_A}\nAllowedIPs = ::/0\nPersistentKeepalive = 0\n`;
  const config = parseWgQuick(text, "wg.conf");
  strictEqual(config.peers[0].endpoint, undefined);
  strictEqual(config.iface.mtu, 1280);
  strictEqual(config.peers[0].persistentKeepalive, 0);
});

Deno.test("parseWgQuick takes an MTU below 1280 with IPv4 and IPv6 addresses (the cage leaves IPv6 out)", () => {
  const text =
    `[Interface]\nPrivateKey = ${PRIVATE}\nAddress = 10.0.0.2/32, fd00::2/128\nMTU = 1200\n[Peer]\nPublicKey = ${PEER_A}\nEndpoint = 127.0.0.1:9\n`;
  const config = parseWgQuick(text, "wg.conf");
  strictEqual(config.iface.mtu, 1200);
  deepStrictEqual(config.iface.addresses.map(formatCidr), ["10.0.0.2/32", "fd00::2/128"]);
});

Deno.test("parseWgQuick treats ListenPort 0 as any free port", () => {
  const text =
    `[Interface]\nPrivateKey = ${PRIVATE}\nAddress = 10.0.0.2\nListenPort = 0\n[Peer]\nPublicKey = ${PEER_A}\nEndpoint = 127.0.0.1:9\n`;
  strictEqual(parseWgQuick(text, "wg.conf").iface.listenPort, undefined);
});

/** Builds a file from the base lines with some lines replaced or added. */
function file(iface: string[], peers: string[][]): string {
  return [
    "[Interface]",
    ...iface,
    ...peers.flatMap((peer) => ["[Peer]", ...peer]),
  ].join("\n") + "\n";
}

const IFACE = [`PrivateKey = ${PRIVATE}`, "Address = 10.0.0.2/32"];
const PEER = [`PublicKey = ${PEER_A}`, "AllowedIPs = 0.0.0.0/0", "Endpoint = 127.0.0.1:51820"];

/** Every error the file parser can give, with its exact message. */
const ERRORS: [string, string, string][] = [
  [
    "unknown key with a suggestion",
    file(IFACE, [[`PublicKey = ${PEER_A}`, "AllowedIP = 0.0.0.0/0"]]),
    "wgcage: wg.conf:6: Unknown key 'AllowedIP' in [Peer]; did you mean 'AllowedIPs'?",
  ],
  [
    "unknown key without a suggestion",
    file([...IFACE, "Colour = blue"], [PEER]),
    "wgcage: wg.conf:4: Unknown key 'Colour' in [Interface]; expected one of PrivateKey, Address, DNS, MTU, ListenPort, Table, FwMark, SaveConfig, PreUp, PostUp, PreDown, PostDown",
  ],
  [
    "a peer key in [Interface]",
    file([...IFACE, "Endpoint = 127.0.0.1:1"], [PEER]),
    "wgcage: wg.conf:4: Endpoint belongs in [Peer], not in [Interface]; move the line there",
  ],
  [
    "an interface key in [Peer]",
    file(IFACE, [[...PEER, "Address = 10.0.0.3"]]),
    "wgcage: wg.conf:8: Address belongs in [Interface], not in [Peer]; move the line there",
  ],
  [
    "a key outside a section",
    `PrivateKey = ${PRIVATE}\n[Interface]\n`,
    "wgcage: wg.conf:1: Key 'PrivateKey' is outside a section; put it under [Interface] or [Peer]",
  ],
  [
    "a line without '='",
    file([...IFACE, "Address 10.0.0.3"], [PEER]),
    "wgcage: wg.conf:4: Line has no '='; write 'Key = value' or a [Interface] or [Peer] header",
  ],
  [
    "a line with nothing before '='",
    file([...IFACE, "= 10.0.0.3"], [PEER]),
    "wgcage: wg.conf:4: Line has no key before '='; write 'Key = value'",
  ],
  [
    "an unknown section with a suggestion",
    "[Peers]\n",
    "wgcage: wg.conf:1: Unknown section '[Peers]'; did you mean '[Peer]'?",
  ],
  [
    "an unknown section without a suggestion",
    "[Global]\n",
    "wgcage: wg.conf:1: Unknown section '[Global]'; use [Interface] or [Peer]",
  ],
  [
    "an unclosed section header",
    "[Interface\n",
    "wgcage: wg.conf:1: Section header '[Interface' has no closing ']'",
  ],
  [
    "a header with more on its line (line breaks lost)",
    `[Interface] PrivateKey = ${PRIVATE} Address = 10.0.0.2\n`,
    "wgcage: wg.conf:1: Section header '[Interface]' has more text after it on the same line; put the header and each 'Key = value' on a line of its own (were the line breaks lost when the config was pasted?)",
  ],
  [
    "a second [Interface]",
    file(IFACE, [PEER]) + "[Interface]\n",
    "wgcage: wg.conf:8: A second [Interface] section (the first is at wg.conf:1); merge them into one",
  ],
  [
    "a missing [Interface]",
    `[Peer]\nPublicKey = ${PEER_A}\n`,
    "wgcage: wg.conf: No [Interface] section; add one with PrivateKey and Address (see 'wgcage help config')",
  ],
  [
    "a missing PrivateKey",
    file(["Address = 10.0.0.2"], [PEER]),
    "wgcage: wg.conf:1: [Interface] has no PrivateKey; add 'PrivateKey = …' (from 'wg genkey') or pass --wg-private-key-file FILE",
  ],
  [
    "a missing Address",
    file([`PrivateKey = ${PRIVATE}`], [PEER]),
    "wgcage: wg.conf:1: [Interface] has no Address; add e.g. 'Address = 10.0.0.2/32' or pass --wg-address CIDR",
  ],
  [
    "no [Peer] at all",
    file(IFACE, []),
    "wgcage: wg.conf: No [Peer] section; add one with PublicKey, AllowedIPs and Endpoint, or pass --wg-public-key",
  ],
  [
    "a peer without PublicKey",
    file(IFACE, [PEER, ["AllowedIPs = 10.9.0.0/16"]]),
    "wgcage: wg.conf:8: [Peer] has no PublicKey; add 'PublicKey = …' (from 'wg pubkey' on the peer)",
  ],
  [
    "duplicate peer keys",
    file(IFACE, [PEER, [`PublicKey = ${PEER_A}`, "AllowedIPs = 10.9.0.0/16"]]),
    "wgcage: wg.conf:8: [Peer] has the same PublicKey as the [Peer] at wg.conf:4; merge the two sections into one",
  ],
  [
    "a bad PublicKey",
    file(IFACE, [[`PublicKey = ${PEER_A.slice(1)}`, "Endpoint = 127.0.0.1:1"]]),
    "wgcage: wg.conf:5: PublicKey is not a valid key (expected 44 characters of base64, as printed by 'wg pubkey')",
  ],
  [
    "a bad PrivateKey (value not echoed)",
    file(["PrivateKey = not-a-key-at-all", "Address = 10.0.0.2"], [PEER]),
    "wgcage: wg.conf:2: PrivateKey is not a valid key (expected 44 characters of base64, as printed by 'wg genkey')",
  ],
  [
    "a bad PresharedKey (value not echoed)",
    file(IFACE, [[...PEER, `PresharedKey = ${PSK}${PSK}`]]),
    "wgcage: wg.conf:8: PresharedKey is not a valid key (expected 44 characters of base64, as printed by 'wg genpsk')",
  ],
  [
    "a bad Address",
    file([`PrivateKey = ${PRIVATE}`, "Address = 10.0.0.2/24, 10.0.0.300/24"], [PEER]),
    "wgcage: wg.conf:3: Address '10.0.0.300/24' is not a valid CIDR (300 is over 255); write it like 10.0.0.2/32 or fd00::2/128",
  ],
  [
    "an Address prefix too long",
    file([`PrivateKey = ${PRIVATE}`, "Address = fd00::2/129"], [PEER]),
    "wgcage: wg.conf:3: Address 'fd00::2/129' is not a valid CIDR (prefix length 129 is over 128); write it like 10.0.0.2/32 or fd00::2/128",
  ],
  [
    "a bad AllowedIPs entry",
    file(IFACE, [[...PEER, "AllowedIPs = 10.0.0.0/8, fe80::/10%eth0"]]),
    "wgcage: wg.conf:8: AllowedIPs 'fe80::/10%eth0' is not a valid CIDR ('/10%eth0' is not a prefix length); write it like 10.0.0.0/24 or fd00::/64",
  ],
  [
    "a bad DNS server",
    file([...IFACE, "DNS = 10.0.0.1, 1.1.1.256"], [PEER]),
    "wgcage: wg.conf:4: DNS entry '1.1.1.256' is not a valid IP address (256 is over 255); write a server like 10.0.0.1 or fd00::1",
  ],
  [
    "a DNS entry that is neither address nor domain",
    file([...IFACE, "DNS = corp example"], [PEER]),
    "wgcage: wg.conf:4: DNS entry 'corp example' is neither an IP address nor a search domain; write servers like 10.0.0.1 and domains like corp.example",
  ],
  [
    "an MTU that is not a number",
    file([...IFACE, "MTU = 1420b"], [PEER]),
    "wgcage: wg.conf:4: MTU '1420b' is not a number; use e.g. 1420",
  ],
  [
    "an MTU too small for IPv4",
    file([...IFACE, "MTU = 575"], [PEER]),
    "wgcage: wg.conf:4: MTU 575 is outside 576..9000; use a value in range, e.g. 1420",
  ],
  [
    "an MTU too large",
    file([...IFACE, "MTU = 9001"], [PEER]),
    "wgcage: wg.conf:4: MTU 9001 is outside 576..9000; use a value in range, e.g. 1420",
  ],
  [
    "an MTU too small for IPv6, every address IPv6",
    file([`PrivateKey = ${PRIVATE}`, "Address = fd00::2/128", "MTU = 1279"], [PEER]),
    "wgcage: wg.conf:4: MTU 1279 is below 1280, the minimum for IPv6, and every address is IPv6; raise it to 1280..9000 or add an IPv4 address",
  ],
  [
    "a bad ListenPort",
    file([...IFACE, "ListenPort = 65536"], [PEER]),
    "wgcage: wg.conf:4: ListenPort '65536' is not valid (port 65536 is outside 0..65535); use a port number, e.g. 51820",
  ],
  [
    "a ListenPort that is not a number",
    file([...IFACE, "ListenPort = fifty"], [PEER]),
    "wgcage: wg.conf:4: ListenPort 'fifty' is not valid ('fifty' is not a port number); use a port number, e.g. 51820",
  ],
  [
    "an Endpoint without port",
    file(IFACE, [[`PublicKey = ${PEER_A}`, "Endpoint = vpn.example.com"]]),
    "wgcage: wg.conf:6: Endpoint 'vpn.example.com' is not valid (the ':PORT' is missing); write it as HOST:PORT or [IPV6]:PORT, e.g. vpn.example.com:51820",
  ],
  [
    "an Endpoint with port 0",
    file(IFACE, [[`PublicKey = ${PEER_A}`, "Endpoint = vpn.example.com:0"]]),
    "wgcage: wg.conf:6: Endpoint 'vpn.example.com:0' is not valid (port 0 is outside 1..65535); write it as HOST:PORT or [IPV6]:PORT, e.g. vpn.example.com:51820",
  ],
  [
    "an IPv6 Endpoint without brackets",
    file(IFACE, [[`PublicKey = ${PEER_A}`, "Endpoint = fd00::1:51820"]]),
    "wgcage: wg.conf:6: Endpoint 'fd00::1:51820' is not valid (an IPv6 address needs brackets, as in [fd00::1]:51820); write it as HOST:PORT or [IPV6]:PORT, e.g. vpn.example.com:51820",
  ],
  [
    "a bad PersistentKeepalive",
    file(IFACE, [[...PEER, "PersistentKeepalive = 70000"]]),
    "wgcage: wg.conf:8: PersistentKeepalive '70000' is not valid; use 'off' or seconds 1..65535 (25 is common)",
  ],
  [
    "a key without value",
    file([...IFACE, "MTU ="], [PEER]),
    "wgcage: wg.conf:4: MTU has no value; write 'MTU = …' or remove the line",
  ],
  [
    "a single-valued key given twice",
    file(IFACE, [[...PEER, "Endpoint = 127.0.0.1:2"]]),
    "wgcage: wg.conf:8: Endpoint is set twice in this section (first on line 7); keep one",
  ],
  [
    "nobody can start the handshake",
    file(IFACE, [[`PublicKey = ${PEER_A}`, "AllowedIPs = 0.0.0.0/0"]]),
    "wgcage: wg.conf: No peer has an Endpoint and no ListenPort is set, so no side can start the handshake; add 'Endpoint = HOST:PORT' to a [Peer] or set ListenPort",
  ],
];

Deno.test("parseWgQuick reports each broken file with file, line, cause and fix", async (t) => {
  for (const [name, text, message] of ERRORS) {
    await t.step(name, () => {
      throws(() => parseWgQuick(text, "wg.conf"), (error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
        strictEqual(error.message, message);
        strictEqual(error.exitCode, 125);
        return true;
      });
    });
  }
});

Deno.test("parseWgQuick never puts secret key text into an error message", () => {
  const almost = PRIVATE.slice(0, 43) + "x";
  for (
    const text of [
      file([`PrivateKey = ${almost}`, "Address = 10.0.0.2"], [PEER]),
      file([...IFACE, `PrivateKey = ${PRIVATE}`], [PEER]),
      file(IFACE, [[...PEER, `PresharedKey = ${almost}`]]),
    ]
  ) {
    throws(() => parseWgQuick(text, "wg.conf"), (error: Error) => {
      strictEqual(error.message.includes(almost.slice(0, 20)), false, error.message);
      strictEqual(error.message.includes(PRIVATE.slice(0, 20)), false, error.message);
      return true;
    });
  }
});
