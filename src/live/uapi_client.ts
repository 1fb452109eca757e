/**
 * A client of a live cage's control socket: sends one request and reads its
 * reply up to the empty line.
 *
 * @module
 */

import { LiveError } from "./error.ts";

export async function uapiRequest(path: string, request: string, name: string): Promise<string> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    throw new LiveError(
      `Cannot reach the cage '${name}': ${(e as Error).message}; see 'wgcage ls'`,
    );
  }
  try {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(65536);
    let reply = "";
    try {
      await conn.write(new TextEncoder().encode(request));
      while (!reply.endsWith("\n\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        reply += decoder.decode(buf.subarray(0, n), { stream: true });
      }
    } catch {
      // Closed on us: refused (below).
    }
    // The keeper closes at once on a client outside its own network namespace.
    if (reply === "") {
      throw new LiveError(
        `The cage '${name}' refused the request: its control socket serves only its keeper's ` +
          `network namespace; run this where 'wgcage up ${name}' ran`,
      );
    }
    return reply;
  } finally {
    conn.close();
  }
}

/** One peer of a `get=1` reply. */
export interface UapiPeer {
  publicKey: string;
  endpoint?: string;
  /** Unix seconds of the latest handshake; 0 = never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number;
  allowedIps: string[];
  hasPresharedKey: boolean;
}

export interface UapiDevice {
  publicKey?: string;
  listenPort: number;
  peers: UapiPeer[];
}

function b64(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes.toBase64();
}

/** Parses a `get=1` reply (the private key is read for the public one only, never kept). */
export function parseGet(reply: string): UapiDevice {
  const dev: UapiDevice = { listenPort: 0, peers: [] };
  let peer: UapiPeer | undefined;
  for (const line of reply.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    switch (k) {
      case "listen_port":
        dev.listenPort = Number(v);
        break;
      case "public_key":
        peer = {
          publicKey: b64(v),
          latestHandshake: 0,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepalive: 0,
          allowedIps: [],
          hasPresharedKey: false,
        };
        dev.peers.push(peer);
        break;
      case "preshared_key":
        if (peer) peer.hasPresharedKey = /[1-9a-f]/.test(v);
        break;
      case "endpoint":
        if (peer) peer.endpoint = v;
        break;
      case "last_handshake_time_sec":
        if (peer) peer.latestHandshake = Number(v);
        break;
      case "rx_bytes":
        if (peer) peer.rxBytes = Number(v);
        break;
      case "tx_bytes":
        if (peer) peer.txBytes = Number(v);
        break;
      case "persistent_keepalive_interval":
        if (peer) peer.persistentKeepalive = Number(v);
        break;
      case "allowed_ip":
        peer?.allowedIps.push(v);
        break;
      case "errno":
        if (v !== "0") throw new LiveError(`The cage answered errno=${v}`);
        break;
    }
  }
  return dev;
}
