/**
 * `wgcage serve`: a WireGuard server in a live cage of its own. Its keeper
 * (live/keeper.ts) holds the cage and serves its control socket, so
 * `wgcage show`, `wgcage wg NAME show` and, as root, the stock `wg` see the
 * server; once the cage is up this adds the way out (egress.ts) and the
 * provisioning API (api.ts), and the registered clients (store.ts) are its
 * peers from the start.
 *
 * The cage maps the server's user to its root: it runs no command, and its
 * root is what may load the cage's nftables rules (in_cage.ts).
 *
 * @module
 */

import { runKeeper } from "../live/keeper.ts";
import { checkName } from "../live/state.ts";
import { flagSite, parseKeyValue } from "../config/values.ts";
import { readFileAtMost } from "../config/read_limited.ts";
import type { Key } from "../config/types.ts";
import { ServeError } from "./error.ts";
import type { ServeOptions } from "./options.ts";
import { ClientStore, defaultStateDir } from "./store.ts";
import { Subnet, Subnet6 } from "./subnet.ts";
import { serverConfig } from "./peers.ts";
import { hostIpv4Addresses, hostIpv6Addresses, startEgress } from "./egress.ts";
import { inCage } from "./in_cage.ts";
import { startApi } from "./api.ts";
import { readToken } from "./token.ts";
import { formatIp } from "../config/ip.ts";
import { relaysOf } from "./forward_spec.ts";
import { ForwardStore, liveRule } from "./forward_store.ts";
import type { Forwarder } from "../forward/forwarder.ts";

/**
 * Puts the API's kept forwards back on the relay; one that cannot be (its
 * client is gone, its port is taken) is said and stays listed, for the
 * operator to DELETE.
 */
function restoreForwards(
  store: ForwardStore,
  clients: ClientStore,
  forwarder: Forwarder,
  say: (line: string) => void,
): void {
  for (const f of store.list()) {
    try {
      forwarder.addLive(relaysOf([f], clients)[0], liveRule(f.id));
    } catch (e) {
      say(
        `wgcage: forward ${f.id} (${f.hostAddress}:${f.hostPort}/${f.protocol}) is not open: ` +
          `${(e as Error).message.replace(/^wgcage: /, "")}; DELETE /v1/forwards/${f.id} drops it`,
      );
    }
  }
}

async function readPrivateKey(path: string): Promise<Key> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileAtMost(path, 1024);
  } catch (e) {
    throw new ServeError(
      `Cannot read --private-key-file '${path}': ${(e as Error).message}; ` +
        "make one with 'wgcage genkey > FILE'",
    );
  }
  const text = new TextDecoder().decode(bytes).trim();
  bytes.fill(0);
  return parseKeyValue(flagSite("--private-key-file"), text, "private");
}

export interface ServeRun {
  readonly options: ServeOptions;
  readonly interruption: { readonly status: Promise<number>; remove(): void };
}

export async function runServe({ options: o, interruption }: ServeRun): Promise<number> {
  checkName(o.name);
  const subnet = new Subnet(o.subnet);
  const subnet6 = o.subnet6 !== undefined ? new Subnet6(o.subnet6) : undefined;
  // A client's IPv6 address: its IPv4 host number in the IPv6 subnet.
  const v6Of = (c: { address: string }) => {
    const n = subnet.hostOf(c.address);
    return subnet6 !== undefined && n !== undefined ? subnet6.address(n) : undefined;
  };
  const stateDir = o.stateDir ?? defaultStateDir(o.name);
  const store = ClientStore.open(stateDir);
  const forwardStore = ForwardStore.open(stateDir);
  // Read before the cage: a missing token fails before anything is made.
  const token = o.api !== undefined ? await readToken(o) : undefined;
  const privateKey = await readPrivateKey(o.privateKeyFile);
  const config = serverConfig({
    privateKey,
    address: subnet.serverAddress,
    ...(subnet6 !== undefined ? { address6: subnet6.serverAddress } : {}),
    listenPort: o.listenPort,
    clients: store.list().filter((c) => subnet.hostOf(c.address) !== undefined),
    v6Of,
  });
  const dropped = store.size - config.peers.length;
  if (dropped > 0) {
    console.error(
      `wgcage: ${dropped} registered client(s) have addresses outside --subnet; ` +
        "they are not served until they register again",
    );
  }
  const tunName = "wg0";
  return await runKeeper({
    name: o.name,
    rmWhenIdle: false,
    interruption,
    config,
    // The server's cage runs no command: what its resolv.conf would lack
    // concerns nobody (clients get their DNS from the API).
    keepWarning: (line) => !/DNS server|resolv\.conf/.test(line),
    run: {
      flags: {},
      handshakeTimeoutMs: 0,
      verbose: o.verbose,
      root: true,
      noUserns: false,
      hideSockets: false,
      keepSockets: [],
      tunName,
      ...(o.forwards.length > 0 ? { localForwards: relaysOf(o.forwards, store) } : {}),
      // The API adds and removes forwards while the server runs.
      liveForwards: true,
    },
    onUp: async (up) => {
      const egress = await startEgress({
        initPid: up.initPid,
        tunName,
        noEgress: o.noEgress,
        inCage: inCage(up.initPid),
        hostAddresses: [...hostIpv4Addresses(), ...(subnet6 ? hostIpv6Addresses() : [])],
        subnet: subnet.network,
        ...(subnet6 !== undefined ? { subnet6: subnet6.network } : {}),
        peers: [
          subnet.address(1),
          ...(subnet6 !== undefined ? [subnet6.address(1)] : []),
          ...config.peers.flatMap((p) => p.allowedIps.map((a) => formatIp(a.address))),
        ],
        log: up.log,
      });
      let api: Awaited<ReturnType<typeof startApi>> | undefined;
      try {
        const forwarder = up.forwarder;
        // A serve always plans its relay (the API's and the forwards'): a bug if not.
        if (forwarder === undefined) throw new Error("the server's relay did not start");
        restoreForwards(forwardStore, store, forwarder, up.say);
        if (o.api !== undefined && token !== undefined) {
          api = await startApi({
            listen: o.api,
            token,
            options: o,
            stateDir,
            store,
            subnet,
            v6Of,
            ...(subnet6 !== undefined ? { subnet6 } : {}),
            device: up.device,
            say: up.say,
            onPeer: egress.peer,
            forwards: { store: forwardStore, forwarder },
          });
        }
      } catch (e) {
        await egress.close();
        throw e;
      }
      return {
        ended: egress.ended,
        close: async () => {
          await api?.close();
          await egress.close();
          token?.fill(0);
        },
      };
    },
  });
}
