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
import { formatCidr, maskCidr } from "../config/cidr.ts";
import { followRoutes, routeSet } from "./routes.ts";

/** One peer's part of a `set=1` request (wireguard-go's semantics). */
export interface PeerChange {
  readonly publicKey: Uint8Array;
  remove: boolean;
  updateOnly: boolean;
  presharedKey?: Uint8Array;
  endpoint?: Endpoint;
  keepalive?: number;
  replaceAllowedIps: boolean;
  readonly allowedIps: Cidr[];
}

/** A whole `set=1` request, parsed and checked before anything changes. */
export interface DeviceChange {
  privateKey?: Uint8Array;
  listenPort?: number;
  fwmark?: number;
  replacePeers: boolean;
  readonly peers: PeerChange[];
}

/** A change the device cannot make; `errno` is the UAPI's (negative). */
export class ChangeRefused extends Error {
  readonly errno: number;
  constructor(message: string, errno: number) {
    super(message);
    this.errno = errno;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  const x = a ?? new Uint8Array(32);
  const y = b ?? new Uint8Array(32);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function isZero(a: Uint8Array | undefined): boolean {
  return a === undefined || a.every((b) => b === 0);
}

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

/** Makes the cage's routes go from `before` to `after` (keyed by the masked prefix). */
export type RouteFollower = (before: Map<string, Cidr>, after: Map<string, Cidr>) => void;

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class LiveDevice {
  readonly tunnel: Tunnel;
  privateKey: Uint8Array;
  fwmark = 0;
  /** In the order they were added, keyed by the public key in hex. */
  readonly peers = new Map<string, LivePeer>();

  readonly #followRoutes: RouteFollower;

  /**
   * `follow` makes the cage's routes follow a change (by default over the
   * cage's netlink socket; tests pass their own).
   */
  constructor(tunnel: Tunnel, config: TunnelConfig, tunName: string, follow?: RouteFollower) {
    this.tunnel = tunnel;
    this.#followRoutes = follow ??
      ((before, after) => followRoutes(tunnel.cage.netlink(), tunName, before, after));
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

  /**
   * Applies a `set=1` request in its order: device settings, replace_peers,
   * then each peer. A known peer changes in place (preshared key, keepalive,
   * AllowedIPs, endpoint): its sessions go on, and a new preshared key counts
   * from the next handshake, as in wireguard-go. The cage's routes follow.
   */
  apply(change: DeviceChange): void {
    const dev = this.tunnel.device;
    // listen_port=0 is what `wg setconf`/`syncconf` send for a file without
    // ListenPort ("any port"): the port the cage has is one, so it stays.
    // Only a different, named port is refused (the socket cannot move).
    const port = change.listenPort;
    if (port !== undefined && port !== 0 && port !== this.listenPort) {
      throw new ChangeRefused(
        `listen_port cannot change while the cage is up (it is ${this.listenPort})`,
        -98,
      );
    }
    const before = routeSet([...this.peers.values()].map((p) => p.allowedIps));
    try {
      if (change.fwmark !== undefined) this.fwmark = change.fwmark;
      if (change.privateKey !== undefined && !sameBytes(change.privateKey, this.privateKey)) {
        if (isZero(change.privateKey)) {
          throw new ChangeRefused("the private key cannot be removed from a live cage", -22);
        }
        dev.setPrivateKey(change.privateKey);
        this.privateKey.fill(0);
        this.privateKey = change.privateKey.slice();
        const own = hex(dev.publicKey());
        const clash = this.peers.get(own);
        if (clash) this.#remove(clash);
      }
      if (change.replacePeers) { for (const p of [...this.peers.values()]) this.#remove(p); }
      const own = hex(dev.publicKey());
      for (const pc of change.peers) {
        const key = hex(pc.publicKey);
        if (key === own) continue; // wireguard-go ignores a peer with our own key
        const existing = this.peers.get(key);
        if (pc.remove) {
          if (existing) this.#remove(existing);
          continue;
        }
        if (!existing && pc.updateOnly) continue;
        this.#upsert(key, existing, pc);
      }
    } finally {
      const after = routeSet([...this.peers.values()].map((p) => p.allowedIps));
      this.#followRoutes(before, after);
      this.tunnel.wake();
    }
  }

  #remove(p: LivePeer): void {
    this.tunnel.device.removePeer(p.id);
    p.presharedKey?.fill(0);
    this.peers.delete(hex(p.publicKey));
  }

  #upsert(key: string, existing: LivePeer | undefined, pc: PeerChange): void {
    const dev = this.tunnel.device;
    const given = pc.presharedKey ?? existing?.presharedKey;
    const psk = isZero(given) ? undefined : given!.slice();
    const keepalive = pc.keepalive ?? existing?.keepalive ?? 0;
    const same = (a: Cidr, b: Cidr) => formatCidr(maskCidr(a)) === formatCidr(maskCidr(b));
    const old = existing?.allowedIps ?? [];
    const wanted = pc.replaceAllowedIps ? [] : [...old];
    for (const c of pc.allowedIps) {
      const m = maskCidr(c);
      if (!wanted.some((w) => same(w, m))) wanted.push(m);
    }
    let peer: LivePeer;
    if (existing === undefined) {
      // A prefix moves to this peer from any other that had it.
      for (const other of this.peers.values()) this.#drop(other, wanted);
      const id = dev.addPeer({
        publicKey: pc.publicKey,
        presharedKey: psk,
        keepalive,
        allowedIps: wanted,
      });
      peer = {
        id,
        publicKey: pc.publicKey.slice(),
        presharedKey: psk,
        keepalive,
        allowedIps: wanted,
      };
      this.peers.set(key, peer);
    } else {
      // In place: the peer's sessions go on.
      peer = existing;
      if (!sameBytes(psk, peer.presharedKey)) {
        dev.setPresharedKey(peer.id, psk);
        peer.presharedKey?.fill(0);
        peer.presharedKey = psk;
      } else {
        psk?.fill(0);
      }
      if (keepalive !== peer.keepalive) {
        dev.setKeepalive(peer.id, keepalive);
        peer.keepalive = keepalive;
      }
      for (const o of old) if (!wanted.some((w) => same(w, o))) dev.removeAllowedIp(peer.id, o);
      const added = wanted.filter((w) => !old.some((o) => same(o, w)));
      for (const other of this.peers.values()) if (other !== peer) this.#drop(other, added);
      for (const c of added) dev.addAllowedIp(peer.id, c);
      peer.allowedIps = wanted;
    }
    if (pc.endpoint) dev.setEndpoint(peer.id, pc.endpoint);
  }

  /** Forgets `prefixes` in `peer`'s list (the core moved them already). */
  #drop(peer: LivePeer, prefixes: readonly Cidr[]): void {
    const gone = new Set(prefixes.map((c) => formatCidr(maskCidr(c))));
    peer.allowedIps = peer.allowedIps.filter((c) => !gone.has(formatCidr(maskCidr(c))));
  }

  /** Zeroes the copies of secrets this object holds. */
  wipe(): void {
    this.privateKey.fill(0);
    for (const p of this.peers.values()) p.presharedKey?.fill(0);
  }
}
