/**
 * Clients as peers of the server's device: each has its own /32 as its only
 * AllowedIPs, so the core accepts from it only packets with its address as
 * the source (no client can speak for another), and the server sends it
 * only what is addressed to it. Changes go through the same LiveDevice the
 * UAPI uses, so `wgcage wg NAME show` sees them at once.
 *
 * @module
 */

import type { LiveDevice } from "../live/live_device.ts";
import { parseCidr } from "../config/cidr.ts";
import type { PeerConfig, TunnelConfig } from "../config/types.ts";
import { Key } from "../config/types.ts";
import type { ClientRecord } from "./store.ts";

export function keyBytes(publicKey: string): Uint8Array {
  return Uint8Array.fromBase64(publicKey);
}

export function peerOf(c: ClientRecord): PeerConfig {
  return {
    publicKey: new Key(keyBytes(c.publicKey), false),
    allowedIps: [parseCidr(`${c.address}/32`)],
    persistentKeepalive: 0,
  };
}

export function addClientPeer(device: LiveDevice, c: ClientRecord): void {
  device.apply({
    replacePeers: false,
    peers: [{
      publicKey: keyBytes(c.publicKey),
      remove: false,
      updateOnly: false,
      replaceAllowedIps: true,
      allowedIps: [parseCidr(`${c.address}/32`)],
    }],
  });
}

export function removeClientPeer(device: LiveDevice, publicKey: string): void {
  device.apply({
    replacePeers: false,
    peers: [{
      publicKey: keyBytes(publicKey),
      remove: true,
      updateOnly: false,
      replaceAllowedIps: false,
      allowedIps: [],
    }],
  });
}

/** The server's tunnel: its key, the subnet's first address, its port, its clients. */
export function serverConfig(o: {
  privateKey: Key;
  address: string;
  listenPort: number;
  clients: readonly ClientRecord[];
}): TunnelConfig {
  return {
    source: "<serve>",
    iface: {
      privateKey: o.privateKey,
      addresses: [parseCidr(o.address)],
      dnsServers: [],
      dnsSearch: [],
      mtu: 1420,
      listenPort: o.listenPort,
    },
    peers: o.clients.map(peerOf),
    warnings: [],
  };
}
