/**
 * A configuration being assembled (from a file, then flags laid over it), and
 * the checks that turn it into a {@linkcode TunnelConfig}: required fields,
 * duplicate peers, the MTU range, something to start the handshake.
 *
 * @module
 */

import type { Cidr, EndpointSpec, Key, PeerConfig, TunnelConfig } from "./types.ts";
import { ConfigError } from "./config_error.ts";
import { sameKey } from "./key.ts";
import { checkMtu, fail, type Site } from "./values.ts";

/** The source name used when there is no config file, only flags. */
export const FLAGS_SOURCE = "<flags>";

/** The default tunnel MTU (as wg-quick uses for most links). */
export const DEFAULT_MTU = 1420;

/** A value with the place it was written, for later checks. */
export interface Sited<T> {
  readonly value: T;
  readonly site: Site;
}

/** `[Interface]` as read so far. */
export interface InterfaceDraft {
  /** The `[Interface]` header line; `""` when made from flags. */
  readonly at: string;
  privateKey?: Key;
  /** Where the private key was given: its line, or the key file flag. */
  privateKeySite?: Site;
  addresses: Cidr[];
  dnsServers: string[];
  dnsSearch: string[];
  mtu?: Sited<number>;
  listenPort?: number;
}

/** One `[Peer]` as read so far. */
export interface PeerDraft {
  /** The `[Peer]` header line; `""` when made from flags. */
  readonly at: string;
  publicKey?: Key;
  /** Where the public key was given: its line, or the flag. */
  publicKeySite?: Site;
  presharedKey?: Key;
  allowedIps: Cidr[];
  endpoint?: EndpointSpec;
  persistentKeepalive: number;
}

/** A whole configuration as read so far. */
export interface ConfigDraft {
  /** A file path, `<stdin>`, `$VAR`, or {@linkcode FLAGS_SOURCE}. */
  readonly source: string;
  iface?: InterfaceDraft;
  peers: PeerDraft[];
  warnings: string[];
}

/** An empty `[Peer]`. */
export function emptyPeer(at: string): PeerDraft {
  return { at, allowedIps: [], persistentKeepalive: 0 };
}

/** An empty `[Interface]`. */
export function emptyInterface(at: string): InterfaceDraft {
  return { at, addresses: [], dnsServers: [], dnsSearch: [] };
}

/**
 * Checks a draft and freezes it into a {@linkcode TunnelConfig}. Throws a
 * {@linkcode ConfigError} naming the first problem and its fix.
 */
export function finalizeConfig(draft: ConfigDraft): TunnelConfig {
  const fromFlags = draft.source === FLAGS_SOURCE;
  const iface = draft.iface;
  if (iface === undefined) {
    const envHint = draft.source.startsWith("$")
      ? ` (${draft.source.slice(1)} must hold the config text itself; for a path use --config FILE)`
      : "";
    throw new ConfigError(
      `wgcage: ${draft.source}: No [Interface] section${envHint}; add one with PrivateKey and Address (see 'wgcage help config')`,
    );
  }
  if (iface.privateKey === undefined) {
    throw new ConfigError(
      fromFlags
        ? "wgcage: Missing --wg-private-key-file; give a file holding the private key (from 'wg genkey'), or use --config FILE"
        : `wgcage: ${iface.at}[Interface] has no PrivateKey; add 'PrivateKey = …' (from 'wg genkey') or pass --wg-private-key-file FILE`,
    );
  }
  if (iface.addresses.length === 0) {
    throw new ConfigError(
      fromFlags
        ? "wgcage: Missing --wg-address; give the tunnel address, e.g. --wg-address 10.0.0.2/32"
        : `wgcage: ${iface.at}[Interface] has no Address; add e.g. 'Address = 10.0.0.2/32' or pass --wg-address CIDR`,
    );
  }
  const onlyIpv6 = iface.addresses.every((address) => address.family === 6);
  const mtu = iface.mtu ?? { value: DEFAULT_MTU, site: { at: "", name: "MTU" } };
  checkMtu(mtu.site, mtu.value, onlyIpv6);
  if (draft.peers.length === 0) {
    throw new ConfigError(
      `wgcage: ${draft.source}: No [Peer] section; add one with PublicKey, AllowedIPs and Endpoint, or pass --wg-public-key`,
    );
  }
  const peers = draft.peers.map((peer) => finalizePeer(peer, fromFlags));
  checkDuplicatePeers(draft.peers, peers);
  checkSomeoneStarts(draft, peers, iface.listenPort, fromFlags);
  const warnings = [...draft.warnings];
  for (const peer of draft.peers) {
    if (peer.allowedIps.length === 0) {
      warnings.push(
        `wgcage: ${peer.at}[Peer] has no AllowedIPs, so no traffic goes to or comes from it; add e.g. 'AllowedIPs = 0.0.0.0/0, ::/0'`,
      );
    }
  }
  return {
    source: draft.source,
    iface: {
      privateKey: iface.privateKey,
      addresses: iface.addresses,
      dnsServers: iface.dnsServers,
      dnsSearch: iface.dnsSearch,
      mtu: mtu.value,
      ...(iface.listenPort !== undefined ? { listenPort: iface.listenPort } : {}),
    },
    peers,
    warnings,
  };
}

function finalizePeer(peer: PeerDraft, fromFlags: boolean): PeerConfig {
  if (peer.publicKey === undefined) {
    throw new ConfigError(
      fromFlags || peer.at === ""
        ? "wgcage: Missing --wg-public-key; give the peer's public key (from 'wg pubkey' on the peer)"
        : `wgcage: ${peer.at}[Peer] has no PublicKey; add 'PublicKey = …' (from 'wg pubkey' on the peer)`,
    );
  }
  return {
    publicKey: peer.publicKey,
    ...(peer.presharedKey !== undefined ? { presharedKey: peer.presharedKey } : {}),
    allowedIps: peer.allowedIps,
    ...(peer.endpoint !== undefined ? { endpoint: peer.endpoint } : {}),
    persistentKeepalive: peer.persistentKeepalive,
  };
}

function checkDuplicatePeers(drafts: readonly PeerDraft[], peers: readonly PeerConfig[]): void {
  for (let i = 1; i < peers.length; i++) {
    for (let j = 0; j < i; j++) {
      if (sameKey(peers[i].publicKey, peers[j].publicKey)) {
        const first = drafts[j].at.replace(/: $/, "");
        fail(
          { at: drafts[i].at, name: "PublicKey" },
          `[Peer] has the same PublicKey as the [Peer] at ${first}; merge the two sections into one`,
        );
      }
    }
  }
}

function checkSomeoneStarts(
  draft: ConfigDraft,
  peers: readonly PeerConfig[],
  listenPort: number | undefined,
  fromFlags: boolean,
): void {
  if (listenPort !== undefined || peers.some((peer) => peer.endpoint !== undefined)) return;
  throw new ConfigError(
    fromFlags
      ? "wgcage: Missing --wg-endpoint; give the peer's HOST:PORT, or --listen-port N to wait for the peer to connect"
      : `wgcage: ${draft.source}: No peer has an Endpoint and no ListenPort is set, so no side can start the handshake; add 'Endpoint = HOST:PORT' to a [Peer] or set ListenPort`,
  );
}
