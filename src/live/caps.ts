/**
 * How much a live cage's device may hold, and the check a `set=1` request
 * passes before anything changes: every request is played on a light model
 * of the peers and their prefixes (keys and counts only, no core, no
 * routes), and one that would leave the device over a cap is refused whole
 * with {@linkcode ERRNO_NO_SPACE}.
 *
 * wireguard-go and the kernel's WireGuard set no such caps; a cage does,
 * because one process runs the tunnel and its control socket together, and
 * every prefix is also a route in the cage and a line of `get=1`'s reply.
 *
 * @module
 */

import type { Cidr } from "../config/types.ts";
import { maskCidr } from "../config/cidr.ts";
import { runNow, type Steps } from "./slices.ts";
import type { DeviceChange } from "./live_device.ts";

/**
 * The errno (negative, as the userspace API writes it) of a request that
 * would leave the device over a cap: ENOSPC, which `wg` prints as "No space
 * left on device".
 */
export const ERRNO_NO_SPACE = -28;

export interface Caps {
  /** Peers of the device. */
  readonly peers: number;
  /** Distinct prefixes over all peers (one route each in the cage). */
  readonly allowedIps: number;
  /** Prefixes of one peer. */
  readonly allowedIpsPerPeer: number;
}

/**
 * The caps of a live cage. The largest AllowedIPs lists in real wg-quick
 * configs are route lists (every address but a country's, or a cloud's
 * published ranges): 8,000 to 20,000 prefixes, which one peer may hold with
 * room to spare. A cage is one client's tunnel, whose peers are the servers
 * it talks through: 1,024 is far more than configs have. Together they keep
 * the worst `get=1` reply (peers at ~400 bytes, prefixes at up to 55) under
 * the 4 MiB the control socket lets wait for a reader (a test checks), and
 * what the keeper holds for them to a few tens of MiB.
 */
export const CAPS: Caps = { peers: 1024, allowedIps: 65536, allowedIpsPerPeer: 32768 };

/**
 * A prefix's identity: family, length and masked address bytes, as a short
 * string (a Map key). Cheaper than its text form, which it does not replace
 * in replies.
 */
export function prefixKey(c: Cidr): string {
  const a = c.address;
  const p = c.prefix;
  const m = (i: number) => {
    const bits = p - i * 8;
    return bits >= 8 ? a[i] : bits <= 0 ? 0 : a[i] & (0xff00 >> bits);
  };
  if (a.length === 4) return String.fromCharCode(4, p, m(0), m(1), m(2), m(3));
  const codes = [c.family, p];
  for (let i = 0; i < a.length; i++) codes.push(m(i));
  return String.fromCharCode(...codes);
}

/** The prefix with host bits cleared; itself when it has none (most do: no copy). */
export function masked(c: Cidr): Cidr {
  const a = c.address;
  for (let i = c.prefix >> 3; i < a.length; i++) {
    const bits = c.prefix - i * 8;
    const keep = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff00 >> bits) & 0xff;
    if ((a[i] & ~keep) !== 0) return maskCidr(c);
  }
  return c;
}

/** The device as the check sees it: peers by public key (hex), prefixes by {@linkcode prefixKey}. */
export interface CapsView {
  readonly peers: ReadonlyMap<string, { readonly allowedIps: ReadonlyMap<string, unknown> }>;
  /** The public key (hex) of the peer each prefix routes to. */
  readonly owner: ReadonlyMap<string, { readonly key: string }>;
}

/** A peer in the model: what it still has of its real prefixes, and what the request gave it. */
interface ModelPeer {
  /** Its real prefixes, until the request drops them all (remove, replace). */
  base: ReadonlyMap<string, unknown> | undefined;
  added: Set<string>;
  size: number;
  readonly before: number;
}

/**
 * Plays `change` on `view` and returns why it is refused (one line), or
 * undefined when it fits. `own` is the device's public key (hex) as the
 * request will see it, or undefined when the request changes the private key
 * (the model then counts a peer with the new own key too: it errs on the
 * side of refusing). A count over its cap refuses only when the request
 * makes it larger, so a device set up over a cap from its config can still
 * shrink. Linear in the request and in the prefixes of the peers it drops.
 */
export function capsExceeded(
  view: CapsView,
  change: DeviceChange,
  own: string | undefined,
  hexKey: (key: Uint8Array) => string,
  caps: Caps = CAPS,
): string | undefined {
  return runNow(capsSteps(view, change, own, hexKey, caps));
}

/** {@linkcode capsExceeded}, yielding between prefixes (slices.ts). */
export function* capsSteps(
  view: CapsView,
  change: DeviceChange,
  own: string | undefined,
  hexKey: (key: Uint8Array) => string,
  caps: Caps = CAPS,
): Steps<string | undefined> {
  const model = new Map<string, ModelPeer | null>();
  const owners = new Map<string, ModelPeer | null>();
  let peers = view.peers.size;
  let total = view.owner.size;
  const peersBefore = peers;
  const totalBefore = total;

  const peer = (key: string): ModelPeer | null => {
    const known = model.get(key);
    if (known !== undefined) return known;
    const real = view.peers.get(key);
    const m = real
      ? {
        base: real.allowedIps,
        added: new Set<string>(),
        size: real.allowedIps.size,
        before: real.allowedIps.size,
      }
      : null;
    model.set(key, m);
    return m;
  };
  const ownerOf = (k: string): ModelPeer | null => {
    const o = owners.get(k);
    if (o !== undefined) return o;
    const real = view.owner.get(k);
    if (real === undefined) return null;
    const m = peer(real.key);
    return m !== null && m.base === view.peers.get(real.key)?.allowedIps ? m : null;
  };
  const dropAll = (m: ModelPeer): void => {
    for (const k of m.added) {
      if (owners.get(k) === m) {
        owners.set(k, null);
        total--;
      }
    }
    // A real prefix with no entry in `owners` is still this peer's.
    if (m.base) {
      for (const k of m.base.keys()) {
        if (!owners.has(k)) {
          owners.set(k, null);
          total--;
        }
      }
    }
    m.base = undefined;
    m.added = new Set();
    m.size = 0;
  };
  const assign = (k: string, m: ModelPeer): void => {
    const o = ownerOf(k);
    if (o === m) return;
    if (o !== null) o.size--;
    else total++;
    owners.set(k, m);
    m.added.add(k);
    m.size++;
  };

  if (change.replacePeers) {
    for (const key of view.peers.keys()) {
      dropAll(peer(key)!);
      model.set(key, null);
      peers--;
    }
  }
  for (const pc of change.peers) {
    const key = hexKey(pc.publicKey);
    if (key === own) continue;
    let m = peer(key);
    if (pc.remove) {
      if (m !== null) {
        dropAll(m);
        model.set(key, null);
        peers--;
      }
      continue;
    }
    if (m === null) {
      if (pc.updateOnly) continue;
      m = { base: undefined, added: new Set(), size: 0, before: 0 };
      model.set(key, m);
      peers++;
    } else if (pc.replaceAllowedIps) {
      dropAll(m);
    }
    for (const c of pc.allowedIps) {
      assign(prefixKey(c), m);
      yield;
    }
  }

  if (peers > caps.peers && peers > peersBefore) {
    return `the device would have ${peers} peers; at most ${caps.peers}`;
  }
  if (total > caps.allowedIps && total > totalBefore) {
    return `the device would route ${total} prefixes; at most ${caps.allowedIps} in all`;
  }
  for (const m of model.values()) {
    if (m !== null && m.size > caps.allowedIpsPerPeer && m.size > m.before) {
      return `a peer would have ${m.size} allowed IPs; at most ${caps.allowedIpsPerPeer} each`;
    }
  }
  return undefined;
}
