/**
 * The wgcage rows of the throughput benchmark: the same two namespaces, the
 * same tunnel addresses and MTU as the wireguard-go rows, with wgcage on one
 * or both ends and iperf3 running inside its cage.
 *
 * @module
 */

import type { Lab } from "../tests/harness/netns.ts";
import { generateKeyPair } from "../tests/harness/keys.ts";
import { endpointOf, WgPeer, type WireguardGoBuild } from "../tests/harness/wg_peer.ts";
import { wgcageArgv, wgQuick, writeConfig } from "../tests/e2e/wgcage.ts";
import {
  buildTag,
  type IperfEnds,
  MTU,
  type ThroughputScenario,
  twoNamespaces,
  WG_PORT,
} from "./_scenario.ts";

/** The command line that starts wgcage with `args`. */
export type WgcageCommand = (args: readonly string[]) => string[];

/** How the wgcage rows start wgcage: from source until {@linkcode runWgcageAs} says otherwise. */
let wgcageCommand: WgcageCommand = wgcageArgv;

/** Has the wgcage rows start wgcage with `command` (the installed npm package, say). */
export function runWgcageAs(command: WgcageCommand): void {
  wgcageCommand = command;
}

/** wgcage on the client end, `build` of wireguard-go on the server end. */
export function wgcageToWireguardGo(build: WireguardGoBuild): ThroughputScenario {
  return {
    name: `wgcage<->${buildTag(build)}`,
    async setup(lab: Lab): Promise<IperfEnds> {
      const { server, client, serverUnderlay } = await twoNamespaces(lab);
      const keys = await generateKeyPair();
      const serverPeer = await WgPeer.start(lab, server, {
        build,
        listenPort: WG_PORT,
        addresses: ["10.99.0.1/24"],
        mtu: MTU,
        peers: [{ publicKey: keys.publicKey, allowedIps: ["10.99.0.2/32"] }],
      });
      const config = await writeConfig(
        lab,
        wgQuick({ privateKey: keys.privateKey, addresses: ["10.99.0.2/24"], mtu: MTU }, [{
          publicKey: serverPeer.keys.publicKey,
          allowedIps: ["10.99.0.0/24"],
          endpoint: endpointOf(serverUnderlay, WG_PORT),
        }]),
      );
      return {
        serverAddress: "10.99.0.1",
        spawnServer: (argv) => server.spawn(argv),
        spawnClient: (argv) => client.spawn(wgcageCommand(["--config", config, "--", ...argv])),
        tunnel: (_server, wgcage) => [
          { label: "wireguard-go server", kind: "wireguard-go", pid: serverPeer.pid! },
          { label: "wgcage client", kind: "wgcage", pid: wgcage.pid },
        ],
      };
    },
  };
}

/** wgcage on both ends: the server end listens, iperf3 -s runs in its cage. */
export const wgcagePair: ThroughputScenario = {
  name: "wgcage<->wgcage",
  async setup(lab: Lab): Promise<IperfEnds> {
    const { server, client, serverUnderlay } = await twoNamespaces(lab);
    const serverKeys = await generateKeyPair();
    const clientKeys = await generateKeyPair();
    const serverConfig = await writeConfig(
      lab,
      wgQuick(
        {
          privateKey: serverKeys.privateKey,
          addresses: ["10.99.0.1/24"],
          listenPort: WG_PORT,
          mtu: MTU,
        },
        [{ publicKey: clientKeys.publicKey, allowedIps: ["10.99.0.2/32"] }],
      ),
    );
    const clientConfig = await writeConfig(
      lab,
      wgQuick({ privateKey: clientKeys.privateKey, addresses: ["10.99.0.2/24"], mtu: MTU }, [{
        publicKey: serverKeys.publicKey,
        allowedIps: ["10.99.0.0/24"],
        endpoint: endpointOf(serverUnderlay, WG_PORT),
      }]),
    );
    return {
      serverAddress: "10.99.0.1",
      spawnServer: (argv) => server.spawn(wgcageCommand(["--config", serverConfig, "--", ...argv])),
      spawnClient: (argv) => client.spawn(wgcageCommand(["--config", clientConfig, "--", ...argv])),
      tunnel: (serverCage, clientCage) => [
        { label: "wgcage server", kind: "wgcage", pid: serverCage.pid },
        { label: "wgcage client", kind: "wgcage", pid: clientCage.pid },
      ],
    };
  },
};
