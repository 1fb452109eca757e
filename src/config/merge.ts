/**
 * Lays the command-line flags over a config read from a file (defaults < file
 * < flags), or builds the whole config from flags alone.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import { flagSite, parseAllowedIps } from "./values.ts";
import {
  type ConfigDraft,
  emptyInterface,
  emptyPeer,
  FLAGS_SOURCE,
  type PeerDraft,
} from "./draft.ts";
import { type ConfigFlags, FLAG_NAMES, type ParsedFlags, PEER_FLAGS } from "./flags.ts";

/** The peer's AllowedIPs when only flags describe it: everything. */
export const DEFAULT_ALLOWED_IPS = "0.0.0.0/0, ::/0";

/**
 * Returns `file` with the flags laid over it, or (without a file) a draft made
 * of the flags alone. `given` tells which flags were typed, for messages.
 * Interface flags replace the file's values; peer flags apply to the file's
 * single peer (an error when it has several).
 */
export function mergeFlags(
  file: ConfigDraft | undefined,
  flags: ParsedFlags,
  given: ConfigFlags,
): ConfigDraft {
  const draft: ConfigDraft = file ?? {
    source: FLAGS_SOURCE,
    iface: emptyInterface(""),
    peers: [],
    warnings: [],
  };
  const iface = draft.iface;
  if (iface !== undefined) {
    if (flags.privateKey !== undefined) {
      iface.privateKey?.wipe();
      iface.privateKey = flags.privateKey;
      iface.privateKeySite = flagSite(FLAG_NAMES.privateKeyFile);
    }
    if (flags.addresses !== undefined) iface.addresses = flags.addresses;
    if (flags.dns !== undefined) {
      iface.dnsServers = flags.dns.servers;
      iface.dnsSearch = flags.dns.search;
    }
    if (flags.mtu !== undefined) {
      iface.mtu = { value: flags.mtu, site: flagSite(FLAG_NAMES.mtu) };
    }
    if (flags.listenPort !== undefined) iface.listenPort = flags.listenPort.value;
  }
  const peerFlags = PEER_FLAGS.filter((name) => given[name] !== undefined);
  if (file === undefined || (peerFlags.length > 0 && draft.peers.length === 0)) {
    const peer = emptyPeer("");
    peer.allowedIps = parseAllowedIps(flagSite(FLAG_NAMES.allowedIps), DEFAULT_ALLOWED_IPS);
    draft.peers.push(peer);
  }
  if (peerFlags.length > 0) {
    if (draft.peers.length > 1) {
      const names = peerFlags.map((name) => FLAG_NAMES[name]).join(", ");
      throw new ConfigError(
        `wgcage: ${names} ${
          peerFlags.length > 1 ? "apply" : "applies"
        } to a single peer, but ${draft.source} has ${draft.peers.length} [Peer] sections; set the values in the file's [Peer] sections instead`,
      );
    }
    applyPeerFlags(draft.peers[0], flags);
  }
  return draft;
}

function applyPeerFlags(peer: PeerDraft, flags: ParsedFlags): void {
  if (flags.publicKey !== undefined) {
    peer.publicKey = flags.publicKey;
    peer.publicKeySite = flagSite(FLAG_NAMES.publicKey);
  }
  if (flags.presharedKey !== undefined) {
    peer.presharedKey?.wipe();
    peer.presharedKey = flags.presharedKey;
  }
  if (flags.allowedIps !== undefined) peer.allowedIps = flags.allowedIps;
  if (flags.endpoint !== undefined) peer.endpoint = flags.endpoint;
  if (flags.keepalive !== undefined) peer.persistentKeepalive = flags.keepalive;
}
