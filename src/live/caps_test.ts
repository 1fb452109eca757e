import { strictEqual } from "node:assert";
import { formatCidr, parseCidr } from "../config/cidr.ts";
import type { Cidr } from "../config/types.ts";
import { type Caps, capsExceeded, type CapsView, masked, prefixKey } from "./caps.ts";
import type { DeviceChange, PeerChange } from "./live_device.ts";

const SMALL: Caps = { peers: 3, allowedIps: 6, allowedIpsPerPeer: 4 };
const hexKey = (k: Uint8Array) => String.fromCharCode(...k);
const pub = (c: string) => Uint8Array.from(c, (ch) => ch.charCodeAt(0));

/** A device view: peers by one-letter key, each with its prefixes (a later peer takes a prefix). */
function view(peers: Record<string, string[]>): CapsView {
  const map = new Map<string, { key: string; allowedIps: Map<string, Cidr> }>();
  const owner = new Map<string, { key: string }>();
  for (const [key, list] of Object.entries(peers)) {
    const p = { key, allowedIps: new Map<string, Cidr>() };
    map.set(key, p);
    for (const text of list) {
      const k = prefixKey(parseCidr(text));
      const was = owner.get(k) as typeof p | undefined;
      was?.allowedIps.delete(k);
      owner.set(k, p);
      p.allowedIps.set(k, parseCidr(text));
    }
  }
  return { peers: map, owner };
}

function peer(key: string, ips: string[], more: Partial<PeerChange> = {}): PeerChange {
  return {
    publicKey: pub(key),
    remove: false,
    updateOnly: false,
    replaceAllowedIps: false,
    allowedIps: ips.map(parseCidr),
    ...more,
  };
}

function change(peers: PeerChange[], replacePeers = false): DeviceChange {
  return { replacePeers, peers };
}

const range = (n: number, base = 0) => Array.from({ length: n }, (_, i) => `10.0.${base + i}.0/24`);

Deno.test("prefixKey: the same masked prefix is one key; family and length tell prefixes apart", () => {
  strictEqual(prefixKey(parseCidr("10.1.2.3/16")), prefixKey(parseCidr("10.1.0.0/16")));
  strictEqual(prefixKey(parseCidr("10.1.2.3/23")), prefixKey(parseCidr("10.1.2.0/23")));
  strictEqual(prefixKey(parseCidr("10.1.3.3/23")), prefixKey(parseCidr("10.1.2.0/23")));
  strictEqual(prefixKey(parseCidr("fd00::1/64")), prefixKey(parseCidr("fd00::/64")));
  const distinct = ["10.0.0.0/8", "10.0.0.0/16", "::/0", "0.0.0.0/0", "::ffff:10.0.0.0/104"];
  strictEqual(new Set(distinct.map((t) => prefixKey(parseCidr(t)))).size, distinct.length);
});

const CASES: [string, Record<string, string[]>, DeviceChange, boolean][] = [
  ["a peer up to its cap fits", {}, change([peer("a", range(4))]), true],
  ["a peer over its cap", {}, change([peer("a", range(5))]), false],
  [
    "the same prefix given twice counts once",
    {},
    change([peer("a", [...range(4), ...range(4)])]),
    true,
  ],
  [
    "host bits do not make a prefix new",
    {},
    change([peer("a", [...range(4), "10.0.0.9/24"])]),
    true,
  ],
  ["prefixes added to what a peer has", { a: range(3) }, change([peer("a", range(2, 3))]), false],
  [
    "replace_allowed_ips frees what the peer had",
    { a: range(4) },
    change([
      peer("a", range(4, 10), { replaceAllowedIps: true }),
    ]),
    true,
  ],
  [
    "the device total over all peers",
    { a: range(4), b: range(2, 4) },
    change([peer("c", range(1, 6))]),
    false,
  ],
  [
    "a prefix that moves between peers counts once",
    { a: range(4), b: range(2, 4) },
    change([
      peer("c", range(2)),
    ]),
    true,
  ],
  ["too many peers", { a: [], b: [], c: [] }, change([peer("d", [])]), false],
  [
    "a removed peer frees its place and prefixes",
    { a: range(4), b: range(2, 4), c: [] },
    change([
      peer("a", [], { remove: true }),
      peer("d", range(4, 10)),
    ]),
    true,
  ],
  [
    "replace_peers frees everything",
    { a: range(4), b: range(2, 4), c: [] },
    change([
      peer("x", range(4, 20)),
      peer("y", range(2, 30)),
      peer("z", []),
    ], true),
    true,
  ],
  [
    "update_only leaves an unknown peer out",
    { a: [], b: [], c: [] },
    change([
      peer("d", range(4), { updateOnly: true }),
    ]),
    true,
  ],
  [
    "removed and added again in one request: it starts empty",
    { a: range(4) },
    change([
      peer("a", [], { remove: true }),
      peer("a", range(4, 10)),
    ]),
    true,
  ],
  ["a peer with the device's own key is left out", {}, change([peer("o", range(9))]), true],
  [
    "a device over its caps from its config may shrink",
    { a: range(9) },
    change([
      peer("a", [], { replaceAllowedIps: true }),
    ]),
    true,
  ],
  [
    "a device over its caps from its config may not grow",
    { a: range(9) },
    change([
      peer("b", ["10.9.0.0/16"]),
    ]),
    false,
  ],
  [
    "an unrelated change to a device over its caps",
    { a: range(9) },
    change([
      peer("a", [], { keepalive: 5 }),
    ]),
    true,
  ],
];

for (const [name, peers, c, fits] of CASES) {
  Deno.test(`capsExceeded: ${name}`, () => {
    const why = capsExceeded(view(peers), c, "o", hexKey, SMALL);
    strictEqual(why === undefined, fits, why);
  });
}

Deno.test("capsExceeded names the cap in one line", () => {
  const why = capsExceeded(view({}), change([peer("a", range(5))]), "o", hexKey, SMALL);
  strictEqual(why, "a peer would have 5 allowed IPs; at most 4 each");
});

Deno.test("capsExceeded is linear: 30,000 prefixes moved around 2,000 peers in milliseconds", () => {
  const peers: Record<string, string[]> = {};
  for (let i = 0; i < 2000; i++) peers[`p${i}`] = [`10.${i >> 8}.${i & 255}.0/24`];
  const big = Array.from(
    { length: 30000 },
    (_, i) => `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
  );
  const requests = [
    peer("n", big),
    ...Object.keys(peers).map((k) => peer(k, [], { remove: true })),
  ];
  const t0 = performance.now();
  const why = capsExceeded(view(peers), change(requests), "o", hexKey, {
    peers: 4096,
    allowedIps: 65536,
    allowedIpsPerPeer: 32768,
  });
  strictEqual(why, undefined);
  const ms = performance.now() - t0;
  // A quadratic model (a scan per prefix) takes minutes here.
  strictEqual(ms < 2000, true, `${ms} ms`);
});

Deno.test("masked: the prefix itself when it has no host bits, else a masked copy", () => {
  for (const text of ["10.1.0.0/16", "10.1.2.0/23", "0.0.0.0/0", "fd00::/64", "10.0.0.1/32"]) {
    const c = parseCidr(text);
    strictEqual(masked(c), c, text);
  }
  for (
    const [text, want] of [["10.1.2.3/16", "10.1.0.0/16"], ["10.1.3.0/23", "10.1.2.0/23"], [
      "fd00::1/64",
      "fd00::/64",
    ], ["1.2.3.4/0", "0.0.0.0/0"]]
  ) {
    const c = parseCidr(text);
    const m = masked(c);
    strictEqual(formatCidr(m), want);
    strictEqual(formatCidr(c), text, "the input is left as it was");
  }
});
