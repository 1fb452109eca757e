/**
 * The device of a live cage as its control service sees it: the interface's
 * keys and port, and each peer with its keys, endpoint, keepalive and
 * AllowedIPs, over the tunnel's WireGuard core. Counters and the last
 * handshake come from the core.
 *
 * @module
 */

import type { Cidr, TunnelConfig } from "../config/types.ts";
import type { Tunnel } from "../tunnel.ts";
import type { Endpoint } from "../wg/device.ts";

/** One peer as the control service knows it. */
export interface LivePeer {
  id: number;
  readonly publicKey: Uint8Array;
  presharedKey: Uint8Array | undefined;
  keepalive: number;
  allowedIps: Cidr[];
}

/** A peer's counters, as `get=1` reports them. */
export interface LivePeerStats {
  endpoint: Endpoint | undefined;
  /** Wall-clock ms of the last handshake; 0 = never. */
  lastHandshakeWall: number;
  rxBytes: number;
  txBytes: number;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class LiveDevice {
  readonly tunnel: Tunnel;
  privateKey: Uint8Array;
  fwmark = 0;
  /** In the order they were added, keyed by the public key in hex. */
  readonly peers = new Map<string, LivePeer>();

  constructor(tunnel: Tunnel, config: TunnelConfig) {
    this.tunnel = tunnel;
    this.privateKey = config.iface.privateKey.bytes.slice();
    config.peers.forEach((p, i) => {
      this.peers.set(hex(p.publicKey.bytes), {
        id: tunnel.peerIds[i],
        publicKey: p.publicKey.bytes.slice(),
        presharedKey: p.presharedKey?.bytes.slice(),
        keepalive: p.persistentKeepalive,
        allowedIps: [...p.allowedIps],
      });
    });
  }

  get listenPort(): number {
    return this.tunnel.listenPort;
  }

  publicKey(): Uint8Array {
    return this.tunnel.device.publicKey();
  }

  stats(peer: LivePeer): LivePeerStats {
    const s = this.tunnel.device.stats(peer.id);
    return {
      endpoint: this.tunnel.device.endpoint(peer.id),
      lastHandshakeWall: s.lastHandshakeWall,
      rxBytes: s.rxBytes,
      txBytes: s.txBytes,
    };
  }

  /** Zeroes the copies of secrets this object holds. */
  wipe(): void {
    this.privateKey.fill(0);
    for (const p of this.peers.values()) p.presharedKey?.fill(0);
  }
}
