/**
 * WireGuard's cross-platform userspace API (the protocol of wireguard-go's
 * and boringtun's control sockets, which `wg` speaks), answered for a live
 * cage: `get=1` lists the device and its peers, `set=1` changes them. Replies
 * end with `errno=N` and an empty line; N is 0, or a negative errno as
 * wireguard-go writes it: -22 for invalid input, -98 for a new listen port,
 * -28 (ENOSPC) for a request that would leave the device over one of the
 * caps of caps.ts (more than 32,768 allowed IPs for a peer, 65,536 in all,
 * 1,024 peers). A refused request changes nothing.
 *
 * @module
 */

import { formatCidr } from "../config/cidr.ts";
import { formatEndpoint } from "../config/endpoint.ts";
import { parseCidr } from "../config/cidr.ts";
import { parseIp } from "../config/ip.ts";
import type { Endpoint } from "../wg/device.ts";
import { runNow, runSliced, type Steps } from "./slices.ts";
import {
  ChangeRefused,
  type DeviceChange,
  hex,
  type LiveDevice,
  type PeerChange,
} from "./live_device.ts";

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
    for (const cidr of peer.allowedIps.values()) lines.push(`allowed_ip=${formatCidr(cidr)}`);
  }
  lines.push("errno=0", "", "");
  return lines.join("\n");
}

class Invalid extends Error {}

function key(value: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(value)) throw new Invalid(`not a hex key: ${value.slice(0, 80)}`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(value.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function uint(value: string, max: number): number {
  if (!/^[0-9]{1,10}$/.test(value) || Number(value) > max) {
    throw new Invalid(`not a number 0..${max}: ${value.slice(0, 80)}`);
  }
  return Number(value);
}

function isTrue(value: string): true {
  if (value !== "true") throw new Invalid(`expected true, got ${value.slice(0, 80)}`);
  return true;
}

/** An IP literal and port: `1.2.3.4:51820` or `[fd00::1]:51820` (as wg sends it). */
export function parseUapiEndpoint(value: string): Endpoint {
  const m = /^(?:\[([0-9A-Fa-f:.]+)(?:%[A-Za-z0-9_.-]+)?\]|([0-9.]+)):([0-9]{1,5})$/.exec(value);
  if (!m) throw new Invalid(`not an endpoint: ${value.slice(0, 80)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new Invalid(`port out of range: ${m[3]}`);
  let ip;
  try {
    ip = parseIp(m[1] ?? m[2]);
  } catch {
    throw new Invalid(`not an IP address: ${(m[1] ?? m[2]).slice(0, 80)}`);
  }
  return { family: ip.family, port, scopeId: 0, address: ip.bytes };
}

/** Parses `set=1`'s lines into one change; throws Invalid. */
export function parseSet(lines: readonly string[]): DeviceChange {
  return runNow(parseSteps(lines));
}

/** {@linkcode parseSet}, yielding between lines (slices.ts). */
function* parseSteps(lines: readonly string[]): Steps<DeviceChange> {
  const change: DeviceChange = { replacePeers: false, peers: [] };
  let peer: PeerChange | undefined;
  for (const line of lines) {
    yield;
    const eq = line.indexOf("=");
    if (eq < 1) throw new Invalid(`not key=value: ${line.slice(0, 80)}`);
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === "public_key") {
      peer = {
        publicKey: key(v),
        remove: false,
        updateOnly: false,
        replaceAllowedIps: false,
        allowedIps: [],
      };
      change.peers.push(peer);
      continue;
    }
    if (peer === undefined) {
      switch (k) {
        case "private_key":
          change.privateKey = key(v);
          break;
        case "listen_port":
          change.listenPort = uint(v, 65535);
          break;
        case "fwmark":
          change.fwmark = v === "" ? 0 : uint(v, 0xffffffff);
          break;
        case "replace_peers":
          change.replacePeers = isTrue(v);
          break;
        default:
          throw new Invalid(`invalid UAPI device key: ${k.slice(0, 80)}`);
      }
      continue;
    }
    switch (k) {
      case "update_only":
        peer.updateOnly = isTrue(v);
        break;
      case "remove":
        peer.remove = isTrue(v);
        break;
      case "preshared_key":
        peer.presharedKey = key(v);
        break;
      case "endpoint":
        peer.endpoint = parseUapiEndpoint(v);
        break;
      case "persistent_keepalive_interval":
        peer.keepalive = uint(v, 65535);
        break;
      case "replace_allowed_ips":
        isTrue(v);
        peer.replaceAllowedIps = true;
        peer.allowedIps.length = 0;
        break;
      case "allowed_ip":
        try {
          peer.allowedIps.push(parseCidr(v));
        } catch {
          throw new Invalid(`not a prefix: ${v.slice(0, 80)}`);
        }
        break;
      case "protocol_version":
        if (v !== "1") throw new Invalid(`unknown protocol version: ${v.slice(0, 80)}`);
        break;
      default:
        throw new Invalid(`invalid UAPI peer key: ${k.slice(0, 80)}`);
    }
  }
  return change;
}

/**
 * Applies `set=1`'s lines; returns the errno for the reply: 0 when all
 * applied, -22 for input that does not parse (nothing changes then), or the
 * refusal's.
 */
export function uapiSet(dev: LiveDevice, lines: string[]): number {
  const change = parse(lines);
  if (typeof change === "number") return change;
  try {
    dev.apply(change);
  } catch (e) {
    return refusal(e);
  } finally {
    wipeChange(change);
  }
  return 0;
}

/**
 * {@linkcode uapiSet} as the control service runs it: queued behind the
 * sets that came before (LiveDevice.queue), then parsed and made in slices
 * with the event loop, and the tunnel, running between them.
 */
export function uapiSetSoon(dev: LiveDevice, lines: string[]): Promise<number> {
  return dev.queue(async () => {
    let change: DeviceChange;
    try {
      change = await runSliced(parseSteps(lines));
    } catch (e) {
      if (e instanceof Invalid) return ERRNO_INVALID;
      throw e;
    }
    try {
      await dev.applySliced(change);
    } catch (e) {
      return refusal(e);
    } finally {
      wipeChange(change);
    }
    return 0;
  });
}

function parse(lines: string[]): DeviceChange | number {
  try {
    return parseSet(lines);
  } catch (e) {
    if (e instanceof Invalid) return ERRNO_INVALID;
    throw e;
  }
}

/** The errno of a change that failed. */
function refusal(e: unknown): number {
  if (e instanceof ChangeRefused) return e.errno;
  if (e instanceof RangeError) return ERRNO_INVALID;
  if ((e as { exitCode?: number }).exitCode !== undefined) return ERRNO_INVALID;
  return ERRNO_IO;
}

function wipeChange(change: DeviceChange): void {
  change.privateKey?.fill(0);
  for (const p of change.peers) p.presharedKey?.fill(0);
}
