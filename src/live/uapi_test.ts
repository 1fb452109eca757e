import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { formatCidr, maskCidr, parseCidr } from "../config/cidr.ts";
import type { Cidr, TunnelConfig } from "../config/types.ts";
import type { Tunnel } from "../tunnel.ts";
import type { Endpoint, PeerOptions } from "../wg/device.ts";
import { type DeviceChange, LiveDevice } from "./live_device.ts";
import { CAPS, ERRNO_NO_SPACE } from "./caps.ts";
import { MAX_PENDING } from "./control_server.ts";
import {
  ERRNO_INVALID,
  ERRNO_PORT_IN_USE,
  parseSet,
  uapiGet,
  uapiSet,
  uapiSetSoon,
} from "./uapi.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);
const PSK = "1".repeat(64);
const ZERO = "0".repeat(64);

function bytes(h: string): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => parseInt(h.slice(i * 2, i * 2 + 2), 16));
}

/** `set=1`'s lines that parse: what the request says, in wgcage's terms. */
const PARSES: [string, string[], DeviceChange][] = [
  ["1 nothing", [], { replacePeers: false, peers: [] }],
  ["2 device keys", ["private_key=" + C, "listen_port=51820", "fwmark=7"], {
    replacePeers: false,
    peers: [],
    privateKey: bytes(C),
    listenPort: 51820,
    fwmark: 7,
  }],
  ["3 fwmark empty is 0", ["fwmark="], { replacePeers: false, peers: [], fwmark: 0 }],
  ["4 replace_peers", ["replace_peers=true"], { replacePeers: true, peers: [] }],
  ["5 a peer with everything", [
    "public_key=" + A,
    "preshared_key=" + PSK,
    "endpoint=[fd00::1]:51820",
    "persistent_keepalive_interval=25",
    "replace_allowed_ips=true",
    "allowed_ip=10.0.0.0/24",
    "protocol_version=1",
  ], {
    replacePeers: false,
    peers: [{
      publicKey: bytes(A),
      remove: false,
      updateOnly: false,
      presharedKey: bytes(PSK),
      endpoint: {
        family: 6,
        port: 51820,
        scopeId: 0,
        address: Uint8Array.from([0xfd, ...new Array(14).fill(0), 1]),
      },
      keepalive: 25,
      replaceAllowedIps: true,
      allowedIps: [parseCidr("10.0.0.0/24")],
    }],
  }],
  ["6 replace_allowed_ips drops the prefixes given before it", [
    "public_key=" + A,
    "allowed_ip=10.0.0.0/24",
    "replace_allowed_ips=true",
    "allowed_ip=10.1.0.0/24",
  ], {
    replacePeers: false,
    peers: [{
      publicKey: bytes(A),
      remove: false,
      updateOnly: false,
      replaceAllowedIps: true,
      allowedIps: [parseCidr("10.1.0.0/24")],
    }],
  }],
  ["7 several peers; each key applies to the one before it", [
    "public_key=" + A,
    "remove=true",
    "public_key=" + B,
    "update_only=true",
    "endpoint=127.0.0.1:9",
  ], {
    replacePeers: false,
    peers: [
      {
        publicKey: bytes(A),
        remove: true,
        updateOnly: false,
        replaceAllowedIps: false,
        allowedIps: [],
      },
      {
        publicKey: bytes(B),
        remove: false,
        updateOnly: true,
        endpoint: { family: 4, port: 9, scopeId: 0, address: Uint8Array.from([127, 0, 0, 1]) },
        replaceAllowedIps: false,
        allowedIps: [],
      },
    ],
  }],
];

for (const [name, lines, want] of PARSES) {
  Deno.test(`parseSet ${name}`, () => {
    deepStrictEqual(parseSet(lines), want);
  });
}

/** Lines that do not parse: the whole request is refused. */
const REFUSED: [string, string[]][] = [
  ["1 no '='", ["public_key"]],
  ["2 empty key", ["=1"]],
  ["3 unknown device key", ["bogus=1"]],
  ["4 a peer key before any public_key", ["endpoint=1.2.3.4:5"]],
  ["5 unknown peer key", ["public_key=" + A, "listen_port=1"]],
  ["6 upper-case hex", ["public_key=" + A.toUpperCase()]],
  ["7 short key", ["public_key=" + A.slice(2)]],
  ["8 remove=false", ["public_key=" + A, "remove=false"]],
  ["9 replace_peers=1", ["replace_peers=1"]],
  ["10 keepalive out of range", ["public_key=" + A, "persistent_keepalive_interval=65536"]],
  ["11 negative keepalive", ["public_key=" + A, "persistent_keepalive_interval=-1"]],
  ["12 port out of range", ["listen_port=65536"]],
  ["13 endpoint is a name", ["public_key=" + A, "endpoint=example.com:51820"]],
  ["14 endpoint port too big", ["public_key=" + A, "endpoint=1.2.3.4:70000"]],
  ["15 v6 endpoint without brackets", ["public_key=" + A, "endpoint=fd00::1:51820"]],
  ["16 prefix too long", ["public_key=" + A, "allowed_ip=10.0.0.0/33"]],
  ["17 protocol_version 2", ["public_key=" + A, "protocol_version=2"]],
  ["18 fwmark in hex (wg sends decimal)", ["fwmark=0x1"]],
];

for (const [name, lines] of REFUSED) {
  Deno.test(`parseSet refuses ${name}`, () => {
    throws(() => parseSet(lines));
  });
}

/**
 * The core as the control service drives it, in memory: peers with their
 * keys, keepalive and prefixes (a prefix moves from the peer that had it),
 * and every call, so a test can tell a change in place from a peer made anew.
 */
class FakeCore {
  next = 1;
  readonly peers = new Map<
    number,
    { pub: string; psk: string; keepalive: number; ips: Set<string>; ep?: Endpoint }
  >();
  readonly calls: string[] = [];
  private: Uint8Array = new Uint8Array(32);

  setPrivateKey(k: Uint8Array): void {
    this.calls.push("setPrivateKey");
    this.private = k.slice();
  }
  publicKey(): Uint8Array {
    // Our own public key: the private key's bytes, plus 1 (enough for a fake).
    return this.private.map((b) => (b + 1) & 0xff);
  }
  addPeer(o: PeerOptions): number {
    const id = this.next++;
    const h = (k: Uint8Array | undefined) =>
      k ? Array.from(k, (b) => b.toString(16).padStart(2, "0")).join("") : ZERO;
    this.calls.push(`addPeer ${h(o.publicKey as Uint8Array).slice(0, 2)}`);
    this.peers.set(id, {
      pub: h(o.publicKey as Uint8Array),
      psk: h(o.presharedKey as Uint8Array | undefined),
      keepalive: o.keepalive,
      ips: new Set(),
    });
    for (const c of o.allowedIps) this.#route(id, c);
    return id;
  }
  addAllowedIp(id: number, c: Cidr): void {
    this.calls.push(`addAllowedIp ${id} ${formatCidr(maskCidr(c))}`);
    this.#route(id, c);
  }
  #route(id: number, c: Cidr): void {
    const key = formatCidr(maskCidr(c));
    for (const p of this.peers.values()) p.ips.delete(key);
    this.peers.get(id)!.ips.add(key);
  }
  removeAllowedIp(id: number, c: Cidr): void {
    const key = formatCidr(maskCidr(c));
    this.calls.push(`removeAllowedIp ${id} ${key}`);
    const p = this.peers.get(id)!;
    p.ips.delete(key);
  }
  setPresharedKey(id: number, psk: Uint8Array | undefined): void {
    this.calls.push(`setPresharedKey ${id}`);
    this.peers.get(id)!.psk = psk
      ? Array.from(psk, (b) => b.toString(16).padStart(2, "0")).join("")
      : ZERO;
  }
  setKeepalive(id: number, s: number): void {
    this.calls.push(`setKeepalive ${id} ${s}`);
    this.peers.get(id)!.keepalive = s;
  }
  removePeer(id: number): void {
    this.calls.push(`removePeer ${id}`);
    this.peers.delete(id);
  }
  setEndpoint(id: number, ep: Endpoint): void {
    this.peers.get(id)!.ep = ep;
  }
  endpoint(id: number): Endpoint | undefined {
    return this.peers.get(id)?.ep;
  }
  stats(_id: number) {
    return { lastHandshakeWall: 0, rxBytes: 0, txBytes: 0 };
  }
}

/** A live device over a fake core with peer A (10.0.0.0/24, keepalive 25) and B (10.1.0.0/24). */
function device() {
  const core = new FakeCore();
  core.private = bytes(C);
  const peerIds = [
    core.addPeer({ publicKey: bytes(A), keepalive: 25, allowedIps: [parseCidr("10.0.0.0/24")] }),
    core.addPeer({ publicKey: bytes(B), keepalive: 0, allowedIps: [parseCidr("10.1.0.0/24")] }),
  ];
  core.calls.length = 0;
  const tunnel = {
    device: core,
    peerIds,
    listenPort: 51820,
    wake() {},
    peerRemoved() {},
  } as unknown as Tunnel;
  const key = (h: string) => ({ bytes: bytes(h) });
  const config = {
    iface: { privateKey: key(C) },
    peers: [
      { publicKey: key(A), persistentKeepalive: 25, allowedIps: [parseCidr("10.0.0.0/24")] },
      { publicKey: key(B), persistentKeepalive: 0, allowedIps: [parseCidr("10.1.0.0/24")] },
    ],
  } as unknown as TunnelConfig;
  const routes: string[][] = [];
  // The cage's routes as the follower leaves them: every change is a real
  // addition or deletion (no route added twice or deleted while absent).
  const table = new Set(["10.0.0.0/24", "10.1.0.0/24"]);
  const dev = new LiveDevice(tunnel, config, "wg0", (added, removed) => {
    for (const c of added) {
      const k = formatCidr(c);
      if (table.has(k)) throw new Error(`route ${k} added twice`);
      table.add(k);
    }
    for (const c of removed) {
      const k = formatCidr(c);
      if (!table.delete(k)) throw new Error(`route ${k} deleted while absent`);
    }
    routes.push([...table].sort());
  });
  /** Each peer of the core by the first hex digit of its key: its prefixes. */
  const state = () =>
    Object.fromEntries(
      [...core.peers.values()].map((p) => [p.pub[0], [...p.ips].sort()]),
    );
  return { core, dev, routes, state };
}

interface ApplyCase {
  lines: string[];
  errno?: number;
  /** Peers (first hex digit of the key) and their prefixes afterwards. */
  state: Record<string, string[]>;
  /** The routes the cage ends with. */
  routes?: string[];
  /** Whether peer A was made anew (its session starts over). */
  remadeA?: boolean;
}

/** wireguard-go's semantics of `set=1`, applied to a device with peers A and B. */
const APPLIES: [string, ApplyCase][] = [
  ["1 a new peer with a prefix", {
    lines: ["public_key=" + "d".repeat(64), "allowed_ip=10.2.0.0/24"],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"], d: ["10.2.0.0/24"] },
    routes: ["10.0.0.0/24", "10.1.0.0/24", "10.2.0.0/24"],
  }],
  ["2 allowed_ip adds to the peer's list, in place", {
    lines: ["public_key=" + A, "allowed_ip=10.5.0.0/16"],
    state: { a: ["10.0.0.0/24", "10.5.0.0/16"], b: ["10.1.0.0/24"] },
    remadeA: false,
  }],
  ["3 a prefix moves from the peer that had it", {
    lines: ["public_key=" + A, "allowed_ip=10.1.0.0/24"],
    state: { a: ["10.0.0.0/24", "10.1.0.0/24"], b: [] },
    routes: ["10.0.0.0/24", "10.1.0.0/24"],
  }],
  ["4 replace_allowed_ips replaces the list, in place", {
    lines: ["public_key=" + A, "replace_allowed_ips=true", "allowed_ip=10.9.0.0/24"],
    state: { a: ["10.9.0.0/24"], b: ["10.1.0.0/24"] },
    routes: ["10.1.0.0/24", "10.9.0.0/24"],
    remadeA: false,
  }],
  ["5 replace_allowed_ips alone empties the list, in place", {
    lines: ["public_key=" + A, "replace_allowed_ips=true"],
    state: { a: [], b: ["10.1.0.0/24"] },
    routes: ["10.1.0.0/24"],
    remadeA: false,
  }],
  ["6 remove removes the peer and its routes", {
    lines: ["public_key=" + B, "remove=true"],
    state: { a: ["10.0.0.0/24"] },
    routes: ["10.0.0.0/24"],
  }],
  ["7 remove of an unknown peer does nothing", {
    lines: ["public_key=" + "e".repeat(64), "remove=true"],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
  }],
  ["8 update_only leaves out an unknown peer", {
    lines: ["public_key=" + "e".repeat(64), "update_only=true", "allowed_ip=10.3.0.0/24"],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
  }],
  ["9 update_only changes a known peer", {
    lines: ["public_key=" + B, "update_only=true", "allowed_ip=10.3.0.0/24"],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24", "10.3.0.0/24"] },
  }],
  ["10 replace_peers then a peer: only that one stays", {
    lines: ["replace_peers=true", "public_key=" + B, "allowed_ip=10.4.0.0/24"],
    state: { b: ["10.4.0.0/24"] },
    routes: ["10.4.0.0/24"],
  }],
  ["11 several operations in one request, in order", {
    lines: [
      "public_key=" + A,
      "remove=true",
      "public_key=" + A,
      "allowed_ip=10.6.0.0/24",
      "public_key=" + B,
      "replace_allowed_ips=true",
      "allowed_ip=10.0.0.0/24",
    ],
    state: { a: ["10.6.0.0/24"], b: ["10.0.0.0/24"] },
    routes: ["10.0.0.0/24", "10.6.0.0/24"],
  }],
  ["12 a peer with our own public key is ignored", {
    // The fake's public key is the private key (0xcc…) plus one.
    lines: ["public_key=" + "cd".repeat(32), "allowed_ip=10.7.0.0/24"],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
  }],
  ["13 listen_port may not change", {
    lines: ["listen_port=1234", "public_key=" + B, "remove=true"],
    errno: ERRNO_PORT_IN_USE,
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
  }],
  ["14 listen_port unchanged is fine", {
    lines: ["listen_port=51820"],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
  }],
  ["14b listen_port=0 (wg syncconf of a file without ListenPort) keeps the port", {
    lines: ["listen_port=0", "replace_peers=true", "public_key=" + B, "allowed_ip=10.1.0.0/24"],
    state: { b: ["10.1.0.0/24"] },
  }],
  ["15 a request that does not parse changes nothing", {
    lines: ["public_key=" + B, "remove=true", "public_key=" + A, "bogus=1"],
    errno: ERRNO_INVALID,
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
  }],
  ["16 the private key cannot be removed", {
    lines: ["private_key=" + ZERO],
    errno: ERRNO_INVALID,
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
  }],
  ["17 the same prefix twice is one", {
    lines: ["public_key=" + A, "allowed_ip=10.0.0.1/24", "allowed_ip=10.0.0.0/24"],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
    remadeA: false,
  }],
  ["18 keepalive and preshared key change in place", {
    lines: ["public_key=" + A, "persistent_keepalive_interval=5", "preshared_key=" + PSK],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
    remadeA: false,
  }],
  ["19 a peer removed and added again in one request is made anew", {
    lines: ["public_key=" + A, "remove=true", "public_key=" + A, "allowed_ip=10.0.0.0/24"],
    state: { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] },
    remadeA: true,
  }],
];

for (const [name, c] of APPLIES) {
  Deno.test(`uapiSet ${name}`, () => {
    const { core, dev, routes, state } = device();
    strictEqual(uapiSet(dev, c.lines), c.errno ?? 0);
    deepStrictEqual(state(), c.state);
    if (c.routes) deepStrictEqual(routes.at(-1), c.routes);
    if (c.remadeA !== undefined) {
      strictEqual(core.calls.some((x) => x === "removePeer 1"), c.remadeA, core.calls.join("; "));
    }
    // The device's own view agrees with the core's.
    const listed = Object.fromEntries(
      [...dev.peers.values()].map((p) => [
        p.publicKey[0].toString(16)[0],
        [...p.allowedIps.values()].map((x) => formatCidr(maskCidr(x))).sort(),
      ]),
    );
    deepStrictEqual(listed, c.state);
  });
}

Deno.test("uapiSet: a new private key drops a peer that has the matching public key", () => {
  const { core, dev } = device();
  // The fake's public key is the private key plus one: private 0x99… gives 0x9a… .
  strictEqual(uapiSet(dev, ["public_key=" + "9a".repeat(32)]), 0);
  strictEqual(dev.peers.size, 3);
  strictEqual(uapiSet(dev, ["private_key=" + "99".repeat(32)]), 0);
  strictEqual(dev.peers.size, 2);
  strictEqual(core.calls.includes("setPrivateKey"), true);
});

Deno.test("uapiGet lists the device and its peers as wireguard-go does", () => {
  const { dev } = device();
  const lines = uapiGet(dev).split("\n");
  strictEqual(lines[0], `private_key=${C}`);
  strictEqual(lines[1], "listen_port=51820");
  strictEqual(lines[2], `public_key=${A}`);
  strictEqual(lines[3], `preshared_key=${ZERO}`);
  strictEqual(lines.includes("persistent_keepalive_interval=25"), true);
  strictEqual(lines.includes("allowed_ip=10.1.0.0/24"), true);
  deepStrictEqual(lines.slice(-3), ["errno=0", "", ""]);
});

Deno.test("uapiSet changes keepalive and preshared key in the core in place; get=1 shows them", () => {
  const { core, dev } = device();
  strictEqual(
    uapiSet(dev, ["public_key=" + A, "persistent_keepalive_interval=5", "preshared_key=" + PSK]),
    0,
  );
  deepStrictEqual(core.calls, ["setPresharedKey 1", "setKeepalive 1 5"]);
  strictEqual(core.peers.get(1)!.keepalive, 5);
  strictEqual(core.peers.get(1)!.psk, PSK);
  const got = uapiGet(dev);
  strictEqual(got.includes(`preshared_key=${PSK}`), true);
  strictEqual(got.includes("persistent_keepalive_interval=5"), true);
  // The same values again: nothing to do. A zero key removes it.
  core.calls.length = 0;
  strictEqual(uapiSet(dev, ["public_key=" + A, "persistent_keepalive_interval=5"]), 0);
  deepStrictEqual(core.calls, []);
  strictEqual(uapiSet(dev, ["public_key=" + A, "preshared_key=" + ZERO]), 0);
  deepStrictEqual(core.calls, ["setPresharedKey 1"]);
  strictEqual(core.peers.get(1)!.psk, ZERO);
});

Deno.test("uapiSet: a request over a cap is refused whole with -ENOSPC; the core and the routes are untouched", () => {
  const { core, dev, routes, state } = device();
  const many = Array.from(
    { length: CAPS.allowedIpsPerPeer + 1 },
    (_, i) => `allowed_ip=172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
  );
  const lines = ["public_key=" + B, "remove=true", "public_key=" + A, ...many];
  strictEqual(uapiSet(dev, lines), ERRNO_NO_SPACE);
  deepStrictEqual(core.calls, []);
  strictEqual(routes.length, 0);
  deepStrictEqual(state(), { a: ["10.0.0.0/24"], b: ["10.1.0.0/24"] });
  strictEqual(dev.peers.size, 2);
  // One prefix fewer fits (in place of the one A had).
  strictEqual(uapiSet(dev, ["public_key=" + A, "replace_allowed_ips=true", ...many.slice(1)]), 0);
  strictEqual(dev.peers.get(A)!.allowedIps.size, CAPS.allowedIpsPerPeer);
  strictEqual(routes.at(-1)!.length, CAPS.allowedIpsPerPeer + 1);
});

Deno.test("uapiGet: a device at every cap, with the longest lines, replies within what the control socket lets wait", () => {
  const { core, dev } = device();
  // The widest counters and endpoint a peer can show.
  core.stats = () => ({ lastHandshakeWall: 9e12, rxBytes: 2 ** 53 - 1, txBytes: 2 ** 53 - 1 });
  const wide: Endpoint = {
    family: 6,
    port: 65535,
    scopeId: 0,
    address: new Uint8Array(16).fill(0xff),
  };
  core.endpoint = () => wide;
  const perPeer = CAPS.allowedIps / CAPS.peers;
  const lines = ["replace_peers=true"];
  for (let p = 0; p < CAPS.peers; p++) {
    lines.push(
      `public_key=e${p.toString(16).padStart(63, "0")}`,
      `preshared_key=${PSK}`,
      "persistent_keepalive_interval=65535",
    );
    for (let i = 0; i < perPeer; i++) {
      // Full-length IPv6 /128s: the longest allowed_ip lines.
      const n = p * perPeer + i;
      lines.push(
        `allowed_ip=ffff:ffff:ffff:ffff:ffff:ffff:${(0x1000 + (n >> 12)).toString(16)}:${
          (0x1000 + (n & 0xfff)).toString(16)
        }/128`,
      );
    }
  }
  strictEqual(uapiSet(dev, lines), 0);
  strictEqual(dev.peers.size, CAPS.peers);
  const reply = new TextEncoder().encode(uapiGet(dev));
  strictEqual(reply.length <= MAX_PENDING, true, `${reply.length} bytes`);
  // One more peer, or one more prefix, is refused.
  strictEqual(uapiSet(dev, [`public_key=${"f".repeat(64)}`]), ERRNO_NO_SPACE);
  strictEqual(
    uapiSet(dev, [`public_key=e${"1".padStart(63, "0")}`, "allowed_ip=fd00::1/128"]),
    ERRNO_NO_SPACE,
  );
});

Deno.test("uapiSetSoon: a large set runs in slices with timers firing between them; the result is the same as at once", async () => {
  const { dev, routes, state } = device();
  const many = Array.from(
    { length: 30000 },
    (_, i) => `allowed_ip=172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
  );
  let done = false;
  const firedWhile: boolean[] = [];
  // Timers stand for the tunnel's data path: they run between slices.
  const tick = () => {
    firedWhile.push(!done);
    if (!done) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  const soon = uapiSetSoon(dev, ["public_key=" + A, "replace_allowed_ips=true", ...many]);
  // A second set waits for the first, and then goes in order.
  const second = uapiSetSoon(dev, ["public_key=" + B, "remove=true"]);
  strictEqual(dev.busy, true);
  strictEqual(await soon, 0);
  strictEqual(await second, 0);
  done = true;
  strictEqual(dev.busy, false);
  strictEqual(firedWhile.filter((x) => x).length >= 3, true, `${firedWhile.length} ticks`);
  strictEqual(dev.peers.get(A)!.allowedIps.size, 30000);
  strictEqual(dev.peers.has(B), false);
  strictEqual(state().a.length, 30000);
  strictEqual(routes.at(-1)!.length, 30000);
});

Deno.test("uapiSetSoon: a cage going down mid-set stops it with -EIO", async () => {
  const { dev } = device();
  const many = Array.from({ length: 30000 }, (_, i) => `allowed_ip=10.9.${i >> 8}.${i & 255}/32`);
  const soon = uapiSetSoon(dev, ["public_key=" + A, ...many]);
  setTimeout(() => dev.wipe(), 0);
  strictEqual(await soon, -5);
});
