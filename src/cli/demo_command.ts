/**
 * `wgcage demo`: two cages joined by a real WireGuard tunnel over 127.0.0.1,
 * with no root, no config and no outside network. The server cage listens and
 * serves HTTP on its tunnel address; the client cage handshakes with it and
 * fetches a page through the tunnel.
 *
 *   [client cage 10.13.13.2] --wg0--> wgcage --UDP 127.0.0.1--> wgcage --wg0--> [server cage 10.13.13.1:8080]
 *
 * @module
 */

import { Key, type TunnelConfig } from "../config/types.ts";
import { parseCidr } from "../config/cidr.ts";
import { listAddresses } from "../netlink/address.ts";
import { listLinks } from "../netlink/link.ts";
import { FETCH_ARG, SERVE_ARG } from "../demo/inside.ts";
import { genkey, pubkey } from "../wg/keys.ts";
import { Tunnel } from "../tunnel.ts";
import { selfCommand } from "./self_command.ts";
import { hostSocketsToHide } from "../cage/host_sockets.ts";
import { stateDirsToCover } from "../live/state_cover.ts";

const SERVER_ADDR = "10.13.13.1";
const CLIENT_ADDR = "10.13.13.2";
const HTTP_PORT = 8080;

async function keypair(): Promise<{ priv: Key; pub: Key }> {
  const priv = await genkey();
  const pub = await pubkey(priv);
  return {
    priv: new Key(Uint8Array.fromBase64(priv), true),
    pub: new Key(Uint8Array.fromBase64(pub), false),
  };
}

function describeInterfaces(tunnel: Tunnel): string[] {
  const nl = tunnel.cage.netlink();
  const addrs = listAddresses(nl);
  return listLinks(nl).map((link) => {
    const mine = addrs.filter((a) => a.index === link.index).map((a) =>
      `${a.local ?? a.address}/${a.prefix}`
    );
    const state = link.up ? "UP" : "DOWN";
    return `  ${link.name.padEnd(5)} ${state.padEnd(5)} mtu ${String(link.mtu ?? "?").padEnd(6)} ${
      mine.join(" ")
    }`;
  });
}

export async function demoCommand(verbose: boolean): Promise<number> {
  const say = (line: string) => console.log(line);
  const log = verbose
    ? (who: string) => (line: string) => console.error(`${who}: ${line}`)
    : () => undefined;
  const server = await keypair();
  const client = await keypair();
  const self = selfCommand();
  // As for any cage: no lookup leaves through the host's name services.
  const hidePaths = hostSocketsToHide({ hideAll: false, keep: [], stateDirs: stateDirsToCover() })
    .paths;

  const serverConfig: TunnelConfig = {
    source: "<demo>",
    iface: {
      privateKey: server.priv,
      addresses: [parseCidr(`${SERVER_ADDR}/24`), parseCidr("fd13::1/64")],
      dnsServers: [],
      dnsSearch: [],
      mtu: 1420,
      listenPort: 0,
    },
    peers: [{
      publicKey: client.pub,
      allowedIps: [parseCidr(`${CLIENT_ADDR}/32`), parseCidr("fd13::2/128")],
      persistentKeepalive: 0,
    }],
    warnings: [],
  };
  const serverTunnel = await Tunnel.open({
    config: serverConfig,
    argv: [...self, SERVE_ARG, SERVER_ADDR, String(HTTP_PORT)],
    tunName: "wg0",
    mapRoot: false,
    hidePaths,
    hostname: "server",
    log: log("server"),
    warn: () => {},
  });
  try {
    const serverRun = serverTunnel.run();
    const clientConfig: TunnelConfig = {
      source: "<demo>",
      iface: {
        privateKey: client.priv,
        addresses: [parseCidr(`${CLIENT_ADDR}/24`), parseCidr("fd13::2/64")],
        dnsServers: [],
        dnsSearch: [],
        mtu: 1420,
      },
      peers: [{
        publicKey: server.pub,
        allowedIps: [parseCidr("10.13.13.0/24"), parseCidr("fd13::/64")],
        endpoint: { host: "127.0.0.1", port: serverTunnel.listenPort },
        persistentKeepalive: 0,
      }],
      warnings: [],
    };
    say(
      `wgcage demo: two cages, one WireGuard tunnel over 127.0.0.1:${serverTunnel.listenPort}`,
    );
    say(`server cage: HTTP on ${SERVER_ADDR}:${HTTP_PORT}, reachable only through its wg0`);
    const t0 = performance.now();
    const clientTunnel = await Tunnel.open({
      config: clientConfig,
      argv: [...self, FETCH_ARG, `http://${SERVER_ADDR}:${HTTP_PORT}/`],
      tunName: "wg0",
      mapRoot: false,
      hidePaths,
      hostname: "client",
      log: log("client"),
      warn: () => {},
    });
    try {
      await clientTunnel.waitForHandshake(10_000);
      say(`client cage up and handshake complete in ${(performance.now() - t0).toFixed(1)} ms`);
      say("client cage interfaces:");
      for (const line of describeInterfaces(clientTunnel)) say(line);
      say("client cage fetches through the tunnel:");
      const status = await clientTunnel.run();
      say(status === 0 ? "demo: ok" : `demo: the client exited with status ${status}`);
      return status;
    } finally {
      await clientTunnel.close();
      serverTunnel.cage.signal("SIGTERM");
      await Promise.race([serverRun.catch(() => 0), new Promise((r) => setTimeout(r, 2000))]);
    }
  } finally {
    await serverTunnel.close();
  }
}
