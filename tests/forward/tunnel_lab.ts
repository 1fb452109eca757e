/**
 * The lab of the tests that serve or reach the host's side of a cage (-p,
 * --host-service, -L, the proxies, the host's sockets) and of others that
 * want the peer across a real link: a wireguard-go peer in a namespace of
 * its own, joined by an IPv4-only veth to a client namespace that plays the
 * host, and the config of a cage there.
 *
 * ```
 *   wgc-…-peer                                  wgc-…-client (the "host")
 *   wireguard-go 10.99.0.1/24, UDP 51820        wgcage ── cage wg0 10.99.0.2/24
 *   veth 198.18.n.1/30  -----------------------  veth 198.18.n.2/30
 * ```
 *
 * Each test starts the services it needs in the peer's namespace itself.
 *
 * @module
 */

import { type Lab, type Link, type Namespace, requireRoot, requireTool } from "../harness/netns.ts";
import { generateKeyPair, type KeyPair } from "../harness/keys.ts";
import { endpointOf, WgPeer } from "../harness/wg_peer.ts";
import type { RunResult } from "../harness/process.ts";
import { NOBODY, wgcageArgv, wgQuick, writeConfig } from "../e2e/wgcage.ts";

/** The peer's WireGuard port: the only traffic the client's link may carry. */
export const WG_PORT = 51820;

/** What {@linkcode tunnelLab} made. */
export interface TunnelLab {
  readonly lab: Lab;
  readonly peerNs: Namespace;
  readonly clientNs: Namespace;
  readonly link: Link;
  readonly peer: WgPeer;
  /** The cage's keys; the peer knows the public one, with 10.99.0.2/32. */
  readonly keys: KeyPair;
}

/**
 * Fails, naming `what`, unless run as root with what every test here needs
 * (wireguard-go, wg, tcpdump, python3) and the `more` tools ([tool, package]).
 */
export async function requireTunnelTools(
  what: string,
  more: [string, string][] = [],
): Promise<void> {
  requireRoot(what);
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  await requireTool("tcpdump", "tcpdump");
  for (const [tool, pkg] of more) await requireTool(tool, pkg);
  await requireTool("/usr/bin/python3", "python3");
}

/** The peer and client namespaces, their link, and the peer. The lab removes them. */
export async function tunnelLab(lab: Lab): Promise<TunnelLab> {
  const peerNs = await lab.namespace("peer");
  const clientNs = await lab.namespace("client");
  const link = await lab.link(peerNs, clientNs, { ipv6: false });
  const keys = await generateKeyPair();
  const peer = await WgPeer.start(lab, peerNs, {
    listenPort: WG_PORT,
    addresses: ["10.99.0.1/24"],
    peers: [{ publicKey: keys.publicKey, allowedIps: ["10.99.0.2/32"] }],
  });
  return { lab, peerNs, clientNs, link, peer, keys };
}

/**
 * A config for a cage in the client namespace (10.99.0.2/24, DNS 10.99.0.1,
 * the peer over the veth), readable by uid 65534 when `rootless`.
 */
export async function tunnelConfig(s: TunnelLab, rootless: boolean): Promise<string> {
  return await writeConfig(
    s.lab,
    wgQuick({ privateKey: s.keys.privateKey, addresses: ["10.99.0.2/24"], dns: ["10.99.0.1"] }, [{
      publicKey: s.peer.keys.publicKey,
      allowedIps: ["10.99.0.0/24"],
      endpoint: endpointOf(s.link.a.ipv4, WG_PORT),
    }]),
    rootless ? NOBODY : 0,
  );
}

/**
 * Brings up live cage `name` in the client namespace as root (`wgcage up
 * NAME -d ARGS`), which must succeed, and has the lab take it down at the
 * end. Returns how the test runs wgcage there (a minute at most) for its
 * `exec` and `down`.
 */
export async function upInClient(
  s: TunnelLab,
  name: string,
  args: string[],
): Promise<(args: string[]) => Promise<RunResult>> {
  const wgcage = (args: string[]) =>
    s.clientNs.run(wgcageArgv(args), { allowFailure: true, timeoutMs: 60_000 });
  s.lab.defer(() => wgcage(["down", name]));
  const up = await wgcage(["up", name, "-d", ...args]);
  if (up.code !== 0) throw new Error(`up exited ${up.code}: ${up.stderr}`);
  return wgcage;
}
