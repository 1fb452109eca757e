/**
 * `-L` to a name: each connection waits while the name is resolved with the
 * cage's DNS (at every connection, as a client in the cage would), then goes
 * to its first address through the tunnel. Bytes the client sent meanwhile
 * follow. A name that does not resolve resets the client; -v says why.
 *
 * @module
 */

import { describeErrno } from "../launcher/errno.ts";
import type { ProxyContext } from "./socks.ts";
import { formatLocalForward, type LocalForwardSpec } from "./spec.ts";
import type { SteeredConnection, SteerSession } from "./steering.ts";

export function localForwardSession(
  c: SteeredConnection,
  ctx: ProxyContext,
  spec: LocalForwardSpec,
): SteerSession {
  const name = spec.target.kind === "name" ? spec.target.name : "";
  const refuse = (why: string) => {
    ctx.log?.(`-L ${formatLocalForward(spec)}: ${why}; the client was closed`);
    c.close();
  };
  ctx.resolve(name).then(
    (addresses) => c.connect(addresses[0], spec.targetPort, { consumed: 0 }),
    (e: Error) => refuse(`cannot resolve ${e.message} in the cage`),
  );
  return {
    failed(errno) {
      refuse(`${name}:${spec.targetPort} did not take the connection (${describeErrno(errno)})`);
    },
  };
}
