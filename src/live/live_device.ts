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
import { followRouteSteps } from "./routes.ts";
import { capsSteps, ERRNO_NO_SPACE, masked, prefixKey } from "./caps.ts";
import { runNow, runSliced } from "./slices.ts";

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
  /** The public key in hex (the key of {@linkcode LiveDevice.peers}). */
  readonly key: string;
  presharedKey: Uint8Array | undefined;
  keepalive: number;
  /** Masked prefixes by {@linkcode prefixKey}, in the order they came. */
  readonly allowedIps: Map<string, Cidr>;
}

/** A peer's counters, as `get=1` reports them. */
export interface LivePeerStats {
  endpoint: Endpoint | undefined;
  /** Wall-clock ms of the last handshake; 0 = never. */
  lastHandshakeWall: number;
  rxBytes: number;
  txBytes: number;
}

/**
 * Adds the cage's routes to `added` and deletes those to `removed` (masked
 * prefixes); may return steps between which the event loop may run.
 */
export type RouteFollower = (
  added: readonly Cidr[],
  removed: readonly Cidr[],
) => Iterable<void> | void;

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class LiveDevice {
  readonly tunnel: Tunnel;
  privateKey: Uint8Array;
  fwmark = 0;
  /** In the order they were added, keyed by the public key in hex. */
  readonly peers = new Map<string, LivePeer>();
  /**
   * The peer each prefix routes to (the core's table, mirrored), so that a
   * prefix moving between peers costs one lookup, not a scan of every peer.
   */
  readonly #owner = new Map<string, LivePeer>();
  /**
   * The prefixes a request touched, and whether each had a route before it:
   * the cage's routes follow only these.
   */
  #touched = new Map<string, { cidr: Cidr; had: boolean }>();
  #applying = false;
  #queued = 0;
  #settled: Promise<void> = Promise.resolve();
  #wiped = false;

  readonly #followRoutes: RouteFollower;

  /**
   * `follow` makes the cage's routes follow a change (by default over the
   * cage's netlink socket; tests pass their own).
   */
  constructor(tunnel: Tunnel, config: TunnelConfig, tunName: string, follow?: RouteFollower) {
    this.tunnel = tunnel;
    this.#followRoutes = follow ??
      ((added, removed) => followRouteSteps(tunnel.cage.netlink(), tunName, added, removed));
    this.privateKey = config.iface.privateKey.bytes.slice();
    config.peers.forEach((p, i) => {
      const key = hex(p.publicKey.bytes);
      const peer: LivePeer = {
        id: tunnel.peerIds[i],
        publicKey: p.publicKey.bytes.slice(),
        key,
        presharedKey: p.presharedKey?.bytes.slice(),
        keepalive: p.persistentKeepalive,
        allowedIps: new Map(),
      };
      this.peers.set(key, peer);
      // As the core did when the tunnel started: a later peer takes a prefix.
      for (const c of p.allowedIps) this.#own(prefixKey(c), masked(c), peer);
    });
    this.#touched.clear();
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
   *
   * What can be checked before anything changes is (listen port, a removed
   * private key, the caps of caps.ts): such a request is refused whole. Each
   * step costs the prefixes it names (a Map per peer and one for the whole
   * device), never a scan of every peer or prefix.
   */
  apply(change: DeviceChange): void {
    if (this.#applying) throw new Error("Cannot apply a change: another is being applied");
    runNow(this.#steps(change));
  }

  /**
   * Runs `work` once every earlier one has ended: the control service's
   * changes go one at a time, in the order they came, as wireguard-go's do
   * under its lock. {@linkcode busy} until they have all ended.
   */
  queue<T>(work: () => Promise<T>): Promise<T> {
    this.#queued++;
    const run = this.#settled.then(async () => {
      this.#queued--;
      this.#applying = true;
      try {
        return await work();
      } finally {
        this.#applying = false;
      }
    });
    this.#settled = run.then(() => {}, () => {});
    return run;
  }

  /**
   * {@linkcode apply}, letting the event loop run every few milliseconds
   * (the tunnel's data path runs on it too: a change of tens of thousands of
   * prefixes and routes takes a few hundred). Meanwhile the core routes by
   * what is applied so far, as the kernel's does during a long `wg set`.
   * Call it in {@linkcode queue}'s work.
   */
  async applySliced(change: DeviceChange): Promise<void> {
    const gone = () => {
      if (this.#wiped) throw new ChangeRefused("the cage went down meanwhile", -5);
    };
    gone();
    await runSliced(this.#steps(change), gone);
  }

  /** True while {@linkcode queue} has work. */
  get busy(): boolean {
    return this.#applying || this.#queued > 0;
  }

  /** Resolves once the work given to {@linkcode queue} so far has ended. */
  settled(): Promise<void> {
    return this.#settled;
  }

  /** The work of a change; it yields where the event loop may run. */
  *#steps(change: DeviceChange): Generator<void, void, void> {
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
    const newKey = change.privateKey !== undefined &&
      !sameBytes(change.privateKey, this.privateKey);
    if (newKey && isZero(change.privateKey)) {
      throw new ChangeRefused("the private key cannot be removed from a live cage", -22);
    }
    const over = yield* capsSteps(
      { peers: this.peers, owner: this.#owner },
      change,
      newKey ? undefined : hex(dev.publicKey()),
      hex,
    );
    if (over !== undefined) throw new ChangeRefused(over, ERRNO_NO_SPACE);
    this.#touched = new Map();
    try {
      if (change.fwmark !== undefined) this.fwmark = change.fwmark;
      if (newKey) {
        dev.setPrivateKey(change.privateKey!);
        this.privateKey.fill(0);
        this.privateKey = change.privateKey!.slice();
        const clash = this.peers.get(hex(dev.publicKey()));
        if (clash) yield* this.#remove(clash);
      }
      if (change.replacePeers) { for (const p of [...this.peers.values()]) yield* this.#remove(p); }
      const own = hex(dev.publicKey());
      for (const pc of change.peers) {
        // A peer costs a key agreement in the core even with no prefix.
        yield;
        const key = hex(pc.publicKey);
        if (key === own) continue; // wireguard-go ignores a peer with our own key
        const existing = this.peers.get(key);
        if (pc.remove) {
          if (existing) yield* this.#remove(existing);
          continue;
        }
        if (!existing && pc.updateOnly) continue;
        yield* this.#upsert(key, existing, pc);
      }
    } finally {
      const added: Cidr[] = [];
      const removed: Cidr[] = [];
      for (const [k, t] of this.#touched) {
        const has = this.#owner.has(k);
        if (has && !t.had) added.push(t.cidr);
        else if (!has && t.had) removed.push(t.cidr);
        yield;
      }
      this.#touched = new Map();
      const steps = this.#followRoutes(added, removed);
      if (steps) yield* steps;
      this.tunnel.wake();
    }
  }

  /** Notes that a request touched prefix `k`, before its first change. */
  #touch(k: string, cidr: Cidr): void {
    if (!this.#touched.has(k)) this.#touched.set(k, { cidr, had: this.#owner.has(k) });
  }

  /** Prefix `k` now routes to `peer` (the core moved it already): it leaves its old owner. */
  #own(k: string, cidr: Cidr, peer: LivePeer): void {
    this.#touch(k, cidr);
    const old = this.#owner.get(k);
    if (old !== undefined && old !== peer) old.allowedIps.delete(k);
    this.#owner.set(k, peer);
    peer.allowedIps.set(k, cidr);
  }

  /** Prefix `k` no longer routes to `peer` (the core dropped it already). */
  #disown(k: string, peer: LivePeer): void {
    const cidr = peer.allowedIps.get(k);
    if (cidr === undefined) return;
    this.#touch(k, cidr);
    peer.allowedIps.delete(k);
    if (this.#owner.get(k) === peer) this.#owner.delete(k);
  }

  *#remove(p: LivePeer): Generator<void, void, void> {
    const dev = this.tunnel.device;
    // Prefix by prefix first: the core's removal of a peer that still has
    // prefixes walks its whole table, once per peer (replace_peers on a
    // device of thousands of peers and prefixes is quadratic that way).
    for (const [k, c] of [...p.allowedIps]) {
      dev.removeAllowedIp(p.id, c);
      this.#disown(k, p);
      yield;
    }
    dev.removePeer(p.id);
    this.tunnel.peerRemoved(p.id);
    p.presharedKey?.fill(0);
    this.peers.delete(p.key);
    yield;
  }

  *#upsert(
    key: string,
    existing: LivePeer | undefined,
    pc: PeerChange,
  ): Generator<void, void, void> {
    const dev = this.tunnel.device;
    const given = pc.presharedKey ?? existing?.presharedKey;
    const psk = isZero(given) ? undefined : given!.slice();
    const keepalive = pc.keepalive ?? existing?.keepalive ?? 0;
    // The prefixes given, masked, each once, in their order.
    const wanted = new Map<string, Cidr>();
    for (const c of pc.allowedIps) {
      const k = prefixKey(c);
      if (!wanted.has(k)) wanted.set(k, masked(c));
    }
    let peer: LivePeer;
    if (existing === undefined) {
      const id = dev.addPeer({
        publicKey: pc.publicKey,
        presharedKey: psk,
        keepalive,
        allowedIps: [],
      });
      peer = {
        id,
        publicKey: pc.publicKey.slice(),
        key,
        presharedKey: psk,
        keepalive,
        allowedIps: new Map(),
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
      if (pc.replaceAllowedIps) {
        for (const [k, c] of [...peer.allowedIps]) {
          if (wanted.has(k)) continue;
          dev.removeAllowedIp(peer.id, c);
          this.#disown(k, peer);
          yield;
        }
      }
    }
    for (const [k, c] of wanted) {
      if (peer.allowedIps.has(k)) continue;
      // The core moves a prefix from any other peer that had it.
      dev.addAllowedIp(peer.id, c);
      this.#own(k, c, peer);
      yield;
    }
    if (pc.endpoint) dev.setEndpoint(peer.id, pc.endpoint);
  }

  /** Zeroes the copies of secrets this object holds. */
  wipe(): void {
    this.#wiped = true;
    this.privateKey.fill(0);
    for (const p of this.peers.values()) p.presharedKey?.fill(0);
  }
}
