/**
 * `wgcage show [NAME] [--json]`: each live cage's device as its control
 * socket reports it: per peer the endpoint, latest handshake, transfer,
 * keepalive and AllowedIPs, and the packets the data path dropped, by the
 * reason the core gave (from wgcage's own `wgcage-drops=1`).
 *
 * @module
 */

import { findLive, type LiveRecord, liveRecords, socketPath, stateDir } from "../live/state.ts";
import { parseGet, uapiRequest } from "../live/uapi_client.ts";
import { DROPS_OP, parseDrops } from "../live/uapi_handler.ts";

function ago(unixSeconds: number): string {
  if (unixSeconds === 0) return "never";
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  return s < 60
    ? `${s} s ago`
    : s < 3600
    ? `${Math.floor(s / 60)} min ago`
    : `${Math.floor(s / 3600)} h ago`;
}

export async function showCommand(name: string | undefined, json: boolean): Promise<number> {
  const records: LiveRecord[] = name === undefined ? liveRecords() : [findLive(name).record];
  const dir = records.length > 0 ? stateDir() : "";
  const out = [];
  for (const r of records) {
    const path = socketPath(dir, r.name);
    const dev = parseGet(await uapiRequest(path, "get=1\n\n", r.name));
    // A keeper of an older wgcage closes the connection: no counts then.
    const drops = parseDrops(await uapiRequest(path, `${DROPS_OP}\n\n`, r.name)) ?? {};
    out.push({
      name: r.name,
      publicKey: r.publicKey,
      listenPort: dev.listenPort,
      peers: dev.peers,
      dropped: drops,
    });
  }
  if (json) {
    console.log(JSON.stringify(name === undefined ? out : out[0], null, 2));
    return 0;
  }
  for (const d of out) {
    console.log(`cage: ${d.name}\n  public key: ${d.publicKey}\n  listening port: ${d.listenPort}`);
    for (const p of d.peers) {
      console.log(`\n  peer: ${p.publicKey}`);
      if (p.hasPresharedKey) console.log("    preshared key: (hidden)");
      if (p.endpoint) console.log(`    endpoint: ${p.endpoint}`);
      console.log(`    allowed ips: ${p.allowedIps.join(", ") || "(none)"}`);
      console.log(`    latest handshake: ${ago(p.latestHandshake)}`);
      console.log(`    transfer: ${p.rxBytes} B received, ${p.txBytes} B sent`);
      if (p.persistentKeepalive) {
        console.log(`    persistent keepalive: every ${p.persistentKeepalive} s`);
      }
    }
    const dropped = Object.entries(d.dropped);
    console.log(`\n  dropped packets: ${dropped.length === 0 ? "none" : ""}`);
    for (const [reason, n] of dropped) console.log(`    ${reason.replaceAll("_", " ")}: ${n}`);
    console.log("");
  }
  return 0;
}
