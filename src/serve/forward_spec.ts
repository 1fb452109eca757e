/**
 * `serve --forward [ADDR:]PORT:CLIENT_PUBLIC_KEY:PORT[/udp]`: a port of the
 * server's host relayed to a port on one client's tunnel address
 * (ngrok-style). It is the relay `-L` uses (src/forward/): the host port is
 * wgcage's own socket on the host, and each connection or flow is made
 * from inside the server's cage, so it reaches the client only through the
 * tunnel. ADDR defaults to 0.0.0.0: the point is a public port.
 *
 * @module
 */

import { parseIp } from "../config/ip.ts";
import type { LocalForwardSpec } from "../forward/spec.ts";
import { ServeError } from "./error.ts";
import type { ClientStore } from "./store.ts";

export interface ServeForward {
  readonly protocol: "tcp" | "udp";
  readonly hostAddress: string;
  readonly hostPort: number;
  readonly publicKey: string;
  readonly clientPort: number;
}

const KEY_RE = /^[A-Za-z0-9+/]{43}=$/;

function port(text: string, what: string, spec: string): number {
  const n = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || n < 1 || n > 65535) {
    throw new ServeError(`--forward '${spec}': ${what} '${text}' is not a port (1-65535)`);
  }
  return n;
}

export function parseServeForward(spec: string): ServeForward {
  let rest = spec;
  let protocol: "tcp" | "udp" = "tcp";
  const suffix = /\/(tcp|udp)$/.exec(rest);
  if (suffix) {
    protocol = suffix[1] as "tcp" | "udp";
    rest = rest.slice(0, -suffix[0].length);
  }
  const fields = rest.split(":");
  if (fields.length !== 3 && fields.length !== 4) {
    throw new ServeError(
      `--forward '${spec}' is not [ADDR:]PORT:CLIENT_PUBLIC_KEY:PORT[/udp]; ` +
        "e.g. --forward 8080:KEY=:80",
    );
  }
  const [addr, hostPort, key, clientPort] = fields.length === 4 ? fields : ["0.0.0.0", ...fields];
  try {
    if (parseIp(addr).family !== 4) throw new Error();
  } catch {
    throw new ServeError(`--forward '${spec}': '${addr}' is not an IPv4 address to listen on`);
  }
  if (!KEY_RE.test(key)) {
    throw new ServeError(
      `--forward '${spec}': the client's public key is not 44 characters of base64`,
    );
  }
  return {
    protocol,
    hostAddress: addr,
    hostPort: port(hostPort, "the host port", spec),
    publicKey: key,
    clientPort: port(clientPort, "the client's port", spec),
  };
}

/** The relays for `forwards`, each to its client's address; a client not registered is refused. */
export function relaysOf(
  forwards: readonly ServeForward[],
  store: ClientStore,
): LocalForwardSpec[] {
  return forwards.map((f) => {
    const client = store.get(f.publicKey);
    if (client === undefined) {
      throw new ServeError(
        `--forward to ${f.publicKey.slice(0, 8)}…: no client has this key; register it first`,
      );
    }
    return {
      protocol: f.protocol,
      hostAddress: parseIp(f.hostAddress),
      hostPort: f.hostPort,
      target: { kind: "address", address: parseIp(client.address) },
      targetPort: f.clientPort,
    };
  });
}
