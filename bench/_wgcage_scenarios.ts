/**
 * The wgcage rows of the throughput benchmark: the same two namespaces, the
 * same tunnel addresses and MTU as the wireguard-go anchor, with wgcage on one
 * or both ends and iperf3 running inside its cage.
 *
 * @module
 */

import type { Lab } from "../tests/harness/netns.ts";
import { generateKeyPair } from "../tests/harness/keys.ts";
import { endpointOf, WgPeer } from "../tests/harness/wg_peer.ts";
import { wgcageArgv, wgQuick, writeConfig } from "../tests/e2e/wgcage.ts";
import { runSampled } from "./_lib.ts";
import { twoNamespaces } from "./throughput.ts";
import type { IperfEnds, ThroughputScenario } from "./throughput.ts";

const WG_PORT = 51820;
const MTU = 1420;

/** wgcage on the client end, wireguard-go on the server end. */
export const wgcageToWireguardGo: ThroughputScenario = {
  name: "wgcage<->wireguard-go",
  async setup(lab: Lab): Promise<IperfEnds> {
    const { server, client, serverUnderlay } = await twoNamespaces(lab);
    const keys = await generateKeyPair();
    const serverPeer = await WgPeer.start(lab, server, {
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
      runClient: async (argv, timeoutMs) => {
        const r = await runSampled(wgcageArgv(["--config", config, "--", ...argv]), {
          ns: client.name,
          timeoutMs,
        });
        return { ...r, peakRssKiB: { wgcage: r.peakRssKiB } };
      },
      watch: [{ label: "wireguard-go server", pid: serverPeer.pid! }],
    };
  },
};

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
        { privateKey: serverKeys.privateKey, addresses: ["10.99.0.1/24"], listenPort: WG_PORT },
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
      spawnServer: (argv) => server.spawn(wgcageArgv(["--config", serverConfig, "--", ...argv])),
      runClient: async (argv, timeoutMs) => {
        const r = await runSampled(wgcageArgv(["--config", clientConfig, "--", ...argv]), {
          ns: client.name,
          timeoutMs,
        });
        return { ...r, peakRssKiB: { "wgcage client": r.peakRssKiB } };
      },
    };
  },
};
