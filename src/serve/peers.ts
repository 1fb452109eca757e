/**
 * Clients as peers of the server's device: each has its own /32 as its only
 * AllowedIPs, so the core accepts from it only packets with its address as
 * the source (no client can speak for another), and the server sends it
 * only what is addressed to it. Changes go through the same LiveDevice the
 * UAPI uses, so `wgcage wg NAME show` sees them at once.
 *
 * @module
 */

import type { DeviceChange, LiveDevice } from "../live/live_device.ts";
import { parseCidr } from "../config/cidr.ts";
import type { PeerConfig, TunnelConfig } from "../config/types.ts";
import { Key } from "../config/types.ts";
import type { ClientRecord } from "./store.ts";

export function keyBytes(publicKey: string): Uint8Array {
  return Uint8Array.fromBase64(publicKey);
}

/** A client's prefixes: its IPv4 /32 and, with an IPv6 subnet, its /128 (`v6`). */
function prefixesOf(c: ClientRecord, v6: string | undefined) {
  return [parseCidr(`${c.address}/32`), ...(v6 !== undefined ? [parseCidr(`${v6}/128`)] : [])];
}

export function peerOf(c: ClientRecord, v6?: string): PeerConfig {
  return {
    publicKey: new Key(keyBytes(c.publicKey), false),
    allowedIps: prefixesOf(c, v6),
    persistentKeepalive: 0,
  };
}

/**
 * Changes go in the device's queue, as the control socket's `set=1` do: a
 * `wg set` being applied in slices lets the API run between them, and a
 * change made then would interleave with it (LiveDevice.apply refuses that).
 */
function change(device: LiveDevice, c: DeviceChange): Promise<void> {
  return device.queue(() => device.applySliced(c));
}

export function addClientPeer(device: LiveDevice, c: ClientRecord, v6?: string): Promise<void> {
  return change(device, {
    replacePeers: false,
    peers: [{
      publicKey: keyBytes(c.publicKey),
      remove: false,
      updateOnly: false,
      replaceAllowedIps: true,
      allowedIps: prefixesOf(c, v6),
    }],
  });
}

export function removeClientPeer(device: LiveDevice, publicKey: string): Promise<void> {
  return change(device, {
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
  /** The server's IPv6 address with the prefix, with an IPv6 subnet. */
  address6?: string;
  listenPort: number;
  clients: readonly ClientRecord[];
  /** A client's IPv6 address, with an IPv6 subnet. */
  v6Of?: (c: ClientRecord) => string | undefined;
}): TunnelConfig {
  return {
    source: "<serve>",
    iface: {
      privateKey: o.privateKey,
      addresses: [parseCidr(o.address), ...(o.address6 ? [parseCidr(o.address6)] : [])],
      dnsServers: [],
      dnsSearch: [],
      mtu: 1420,
      listenPort: o.listenPort,
    },
    peers: o.clients.map((c) => peerOf(c, o.v6Of?.(c))),
    warnings: [],
  };
}
