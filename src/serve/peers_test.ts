import { deepStrictEqual } from "node:assert/strict";
import type { TunnelConfig } from "../config/types.ts";
import type { Tunnel } from "../tunnel.ts";
import { hex, LiveDevice } from "../live/live_device.ts";
import { uapiSetSoon } from "../live/uapi.ts";
import { addClientPeer, removeClientPeer } from "./peers.ts";
import type { ClientRecord } from "./store.ts";

/** A live device over a core that only counts its peers: no routes, no crypto. */
function device(): { dev: LiveDevice; corePeers: Set<number> } {
  const corePeers = new Set<number>();
  let next = 1;
  const core = {
    publicKey: () => new Uint8Array(32).fill(0xcc),
    addPeer: () => {
      corePeers.add(next);
      return next++;
    },
    removePeer: (id: number) => corePeers.delete(id),
    addAllowedIp() {},
    removeAllowedIp() {},
    setEndpoint() {},
    setKeepalive() {},
    setPresharedKey() {},
    setPrivateKey() {},
  };
  const tunnel = { device: core, peerIds: [], wake() {}, peerRemoved() {} } as unknown as Tunnel;
  const config = {
    iface: { privateKey: { bytes: new Uint8Array(32).fill(0xcb) } },
    peers: [],
  } as unknown as TunnelConfig;
  return { dev: new LiveDevice(tunnel, config, "wg0", () => {}), corePeers };
}

const client = (i: number): ClientRecord => {
  const key = new Uint8Array(32).fill(i);
  return { publicKey: key.toBase64(), address: `10.200.0.${i}`, created: 0 };
};

Deno.test("a client registered or deleted while a large set=1 runs in slices waits for it, then changes the device", async () => {
  const { dev, corePeers } = device();
  await addClientPeer(dev, client(2));
  // A `wg set` of many prefixes: applied in slices, the event loop (and the API) running between.
  const lines = ["public_key=" + "ab".repeat(32)];
  for (let i = 0; i < 30000; i++) {
    lines.push(`allowed_ip=172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`);
  }
  const set = uapiSetSoon(dev, lines);
  // Let the set start its first slice and pause.
  await new Promise((r) => setTimeout(r, 0));
  deepStrictEqual(dev.busy, true, "the set ended before the API's changes came");
  const added = addClientPeer(dev, client(3));
  const removed = removeClientPeer(dev, client(2).publicKey);
  await Promise.all([set, added, removed]);
  deepStrictEqual(await set, 0);
  deepStrictEqual([...dev.peers.values()].map((p) => p.allowedIps.size).sort((a, b) => a - b), [
    1,
    30000,
  ]);
  deepStrictEqual(dev.peers.has(hex(new Uint8Array(32).fill(2))), false);
  deepStrictEqual(dev.peers.has(hex(new Uint8Array(32).fill(3))), true);
  deepStrictEqual(corePeers.size, 2);
});
