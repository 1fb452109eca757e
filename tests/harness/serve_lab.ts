/**
 * The namespaces `wgcage serve` is tested and measured in (the e2e serve
 * test and `bench:serve`):
 *
 * ```
 *   cli (clients)          exit (the server's host)          inet ("the internet")
 *   veth .2 ── ── ── ── ── veth .1                           lo 192.0.2.10
 *   default via .1         default via inet ── ── ── ── ──── veth
 * ```
 *
 * The internet namespace is reachable only from the exit namespace, which
 * does not forward: a client gets there only through a server in `exit`.
 * The services each user needs in `inet` are its own.
 *
 * @module
 */

import type { Lab, Namespace } from "./netns.ts";
import { generateKeyPair } from "./keys.ts";
import { NOBODY } from "../e2e/wgcage.ts";

/** The "internet" address (a documentation one, on inet's loopback). */
export const INET = "192.0.2.10";
/** Its IPv6 address, with `ipv6` (also a documentation one). */
export const INET6 = "2001:db8::10";

export interface ServeTopology {
  lab: Lab;
  exit: Namespace;
  inet: Namespace;
  cli: Namespace;
  /** The exit host's address towards the internet: what the internet sees. */
  exitAddress: string;
  /** The exit host's address towards the clients: the endpoint and the API. */
  serverAddress: string;
  /** The clients' namespace's address on the link to the exit. */
  clientAddress: string;
  /** With `ipv6`: the exit host's IPv6 address towards the internet. */
  exitAddress6?: string;
}

/** `ipv6`: the exit and the internet also speak IPv6 (INET6), the clients' link does not. */
export async function serveTopology(lab: Lab, o: { ipv6?: boolean } = {}): Promise<ServeTopology> {
  const exit = await lab.namespace("exit");
  const inet = await lab.namespace("inet");
  const cli = await lab.namespace("cli");
  const up = await lab.link(exit, inet, { ipv6: o.ipv6 === true });
  const down = await lab.link(exit, cli, { ipv6: false });
  await inet.ip("addr", "add", `${INET}/32`, "dev", "lo");
  // pasta needs an interface with a default route to take as the way out.
  await exit.ip("route", "add", "default", "via", up.b.ipv4);
  if (o.ipv6) {
    await inet.ip("-6", "addr", "add", `${INET6}/128`, "dev", "lo");
    await exit.ip("-6", "route", "add", "default", "via", up.b.ipv6!);
  }
  await cli.ip("route", "add", "default", "via", down.a.ipv4);
  // pasta answers a client's ping with a ping socket of the server's user.
  await exit.run(["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"]);
  return {
    lab,
    exit,
    inet,
    cli,
    exitAddress: up.a.ipv4,
    serverAddress: down.a.ipv4,
    clientAddress: down.b.ipv4,
    ...(o.ipv6 ? { exitAddress6: up.a.ipv6! } : {}),
  };
}

/** Files of the server's user (`owner`, nobody by default): its key and the API token. */
export async function serverFiles(
  lab: Lab,
  owner = NOBODY,
): Promise<{ dir: string; key: string; token: string }> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-serve-" });
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.chown(dir, owner, owner);
  await Deno.chmod(dir, 0o700);
  const keys = await generateKeyPair();
  const token = crypto.getRandomValues(new Uint8Array(24)).toBase64();
  await Deno.writeTextFile(`${dir}/server.key`, `${keys.privateKey}\n`, { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/token`, `${token}\n`, { mode: 0o600 });
  for (const f of ["server.key", "token"]) await Deno.chown(`${dir}/${f}`, owner, owner);
  return { dir, key: `${dir}/server.key`, token };
}

/**
 * The arguments of `wgcage serve` in these namespaces, with `files`: the
 * endpoint on the server's address, the HTTPS API on 8443 with the token
 * file, the state under `files.dir`.
 */
export function serveArgv(
  t: ServeTopology,
  files: { dir: string; key: string },
): string[] {
  return [
    "serve",
    "--private-key-file",
    files.key,
    "--endpoint",
    `${t.serverAddress}:51820`,
    "--api",
    "0.0.0.0:8443",
    "--token-file",
    `${files.dir}/token`,
    "--state-dir",
    `${files.dir}/state`,
  ];
}
