/**
 * What every row of the throughput benchmark shares: the shape of a scenario
 * (its two iperf3 ends and the tunnel's processes), the two namespaces over
 * veth with the tunnel addresses and MTU, and the wireguard-go rows.
 *
 * @module
 */

import type { Lab, Namespace } from "../tests/harness/netns.ts";
import type { NsProcess } from "../tests/harness/process.ts";
import { endpointOf, WgPeer, type WireguardGoBuild } from "../tests/harness/wg_peer.ts";

/** Which implementation a tunnel process is. */
export type TunnelKind = "wgcage" | "wireguard-go";

/** A tunnel process at one end, whose CPU time and peak RSS the row reports. */
export interface TunnelProcess {
  /** E.g. `wgcage client`. */
  readonly label: string;
  readonly kind: TunnelKind;
  readonly pid: number;
}

/** Where iperf3's two ends run in one scenario. */
export interface IperfEnds {
  /** Address the server binds and the client connects to (a tunnel address). */
  readonly serverAddress: string;
  /** Starts the server end's command where it lives (for example wrapped in `wgcage … --`). */
  spawnServer(argv: string[]): NsProcess;
  /** Starts the client end's command, likewise. */
  spawnClient(argv: string[]): NsProcess;
  /**
   * The tunnel's processes at both ends, given the two commands started: each
   * counts with its threads and children, iperf3 excepted.
   */
  tunnel(server: NsProcess, client: NsProcess): readonly TunnelProcess[];
}

/** One row of the benchmark. */
export interface ThroughputScenario {
  /** Printed as the row's label, e.g. `wgcage<->wgcage`. */
  readonly name: string;
  /**
   * Builds both ends in `lab` (namespaces, peers, anything else); the lab is
   * closed after the measurement. Register extra teardown with `lab.defer`.
   */
  setup(lab: Lab): Promise<IperfEnds>;
}

/** Tunnel addresses of the two ends. */
export const SERVER_TUNNEL = { v4: "10.99.0.1", cidrs: ["10.99.0.1/24", "fd99::1/64"] };
export const CLIENT_TUNNEL = { v4: "10.99.0.2", cidrs: ["10.99.0.2/24", "fd99::2/64"] };
export const WG_PORT = 51820;
export const MTU = 1420;

/** `wireguard-go/backports`: a build's name in row names. */
export function buildTag(build: WireguardGoBuild): string {
  return `wireguard-go/${build.id}`;
}

/** Two namespaces over veth; returns both and the server's underlay address. */
export async function twoNamespaces(
  lab: Lab,
): Promise<{ server: Namespace; client: Namespace; serverUnderlay: string }> {
  const server = await lab.namespace("server");
  const client = await lab.namespace("client");
  const link = await lab.link(server, client, { ipv6: false });
  return { server, client, serverUnderlay: link.a.ipv4 };
}

/** `build` on both ends, MTU 1420. */
export function wireguardGoPair(build: WireguardGoBuild): ThroughputScenario {
  return {
    name: `${buildTag(build)}<->${buildTag(build)}`,
    async setup(lab) {
      const { server, client, serverUnderlay } = await twoNamespaces(lab);
      const serverPeer = await WgPeer.start(lab, server, {
        build,
        listenPort: WG_PORT,
        addresses: SERVER_TUNNEL.cidrs,
        mtu: MTU,
      });
      const clientPeer = await WgPeer.start(lab, client, {
        build,
        addresses: CLIENT_TUNNEL.cidrs,
        mtu: MTU,
        peers: [{
          publicKey: serverPeer.keys.publicKey,
          allowedIps: ["10.99.0.0/24", "fd99::/64"],
          endpoint: endpointOf(serverUnderlay, WG_PORT),
          persistentKeepalive: 25,
        }],
      });
      await serverPeer.setPeer({
        publicKey: clientPeer.keys.publicKey,
        allowedIps: ["10.99.0.2/32", "fd99::2/128"],
      });
      await clientPeer.waitForHandshake();
      return {
        serverAddress: SERVER_TUNNEL.v4,
        spawnServer: (argv) => server.spawn(argv),
        spawnClient: (argv) => client.spawn(argv),
        tunnel: () => [
          { label: "wireguard-go server", kind: "wireguard-go", pid: serverPeer.pid! },
          { label: "wireguard-go client", kind: "wireguard-go", pid: clientPeer.pid! },
        ],
      };
    },
  };
}
