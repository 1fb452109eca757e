/**
 * Runs the wgcage CLI as a user would, inside a test namespace, as root or
 * rootless (uid 65534 with /dev/net/tun made accessible for the run).
 *
 * @module
 */

import type { Lab, Link, Namespace } from "../harness/netns.ts";
import { run, type RunResult } from "../harness/process.ts";
import { generateKeyPair, type KeyPair } from "../harness/keys.ts";
import { endpointOf, WgPeer, type WireguardGoBuild } from "../harness/wg_peer.ts";

export const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
export const NOBODY = 65534;

/** A config file wgcage can read as `owner`, mode 0600. */
export async function writeConfig(
  lab: Lab,
  text: string,
  owner: number = 0,
  name = "wg0.conf",
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-e2e-" });
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.chmod(dir, 0o755);
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
  if (owner !== 0) await Deno.chown(path, owner, owner);
  return path;
}

/** A DENO_DIR the unprivileged user can write, removed by the lab. */
export async function nobodyDenoDir(lab: Lab): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-denodir-" });
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.chown(dir, NOBODY, NOBODY);
  return dir;
}

/**
 * A TUN node of the given mode, in a temp dir the lab removes. The rootless run
 * sees it over /dev/net/tun in a private mount namespace, so the machine's
 * own node is never changed (tests may run in parallel).
 */
export async function privateTunNode(lab: Lab, mode: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-tun-" });
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.chmod(dir, 0o755);
  const mk = await new Deno.Command("mknod", { args: [`${dir}/tun`, "c", "10", "200"] }).output();
  if (!mk.success) {
    throw new Error(`Cannot make a TUN node: ${new TextDecoder().decode(mk.stderr)}`);
  }
  await Deno.chmod(`${dir}/tun`, mode);
  return dir;
}

/** How {@link rootlessArgv} runs a command. */
export interface RootlessOptions {
  /** The user and group it runs as; 65534 unless given. */
  uid?: number;
  /** Starts from an empty environment (`env -i`) instead of root's. */
  clearEnv?: boolean;
  /**
   * Shell run first, as root in the private mount namespace; `$0` is the TUN
   * node's directory.
   */
  prelude?: string;
}

/**
 * `argv` as nobody, in root's namespaces and with root's environment, but
 * with `denoDir` (from {@link nobodyDenoDir}) as its Deno cache and /tmp as
 * its home.
 */
export function nobodyArgv(denoDir: string, argv: readonly string[]): string[] {
  return [
    "setpriv",
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    "--clear-groups",
    "env",
    `DENO_DIR=${denoDir}`,
    "HOME=/tmp",
    ...argv,
  ];
}

/**
 * `argv` as an unprivileged user with `env` added, seeing the TUN node of
 * `tunDir` (from {@link privateTunNode}) over /dev/net/tun in a private mount
 * namespace.
 */
export function rootlessArgv(
  tunDir: string,
  env: Record<string, string>,
  argv: readonly string[],
  opts: RootlessOptions = {},
): string[] {
  const uid = opts.uid ?? NOBODY;
  const steps = opts.prelude === undefined ? [] : [opts.prelude];
  steps.push('mount --bind "$0/tun" /dev/net/tun', 'exec "$@"');
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    steps.join(" && "),
    tunDir,
    "setpriv",
    `--reuid=${uid}`,
    `--regid=${uid}`,
    "--clear-groups",
    "env",
    ...(opts.clearEnv ? ["-i"] : []),
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ];
}

export interface WgcageRun {
  ns?: Namespace;
  args: string[];
  rootless?: boolean;
  /** Mode of the TUN node a rootless run sees; 0o666 unless a test wants a refusal. */
  tunMode?: number;
  stdin?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** The argv of wgcage itself, from source. */
export function wgcageArgv(args: readonly string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--quiet", MAIN, ...args];
}

export async function runWgcage(lab: Lab, r: WgcageRun): Promise<RunResult> {
  let argv = wgcageArgv(r.args);
  const env: Record<string, string> = { ...r.env };
  if (r.rootless) {
    const tunDir = await privateTunNode(lab, r.tunMode ?? 0o666);
    env.DENO_DIR = await nobodyDenoDir(lab);
    env.HOME = "/tmp";
    argv = rootlessArgv(tunDir, env, argv);
  } else if (Object.keys(env).length > 0) {
    argv = ["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
  }
  return await run(argv, {
    ns: r.ns?.name,
    stdin: r.stdin,
    allowFailure: true,
    timeoutMs: r.timeoutMs ?? 60_000,
  });
}

/** A wg-quick config text. */
export function wgQuick(
  iface: {
    privateKey: string;
    addresses: string[];
    dns?: string[];
    listenPort?: number;
    mtu?: number;
  },
  peers: {
    publicKey: string;
    presharedKey?: string;
    allowedIps: string[];
    endpoint?: string;
    keepalive?: number;
  }[],
): string {
  const lines = ["[Interface]", `PrivateKey = ${iface.privateKey}`];
  lines.push(`Address = ${iface.addresses.join(", ")}`);
  if (iface.dns) lines.push(`DNS = ${iface.dns.join(", ")}`);
  if (iface.listenPort) lines.push(`ListenPort = ${iface.listenPort}`);
  if (iface.mtu) lines.push(`MTU = ${iface.mtu}`);
  for (const p of peers) {
    lines.push("", "[Peer]", `PublicKey = ${p.publicKey}`);
    if (p.presharedKey) lines.push(`PresharedKey = ${p.presharedKey}`);
    lines.push(`AllowedIPs = ${p.allowedIps.join(", ")}`);
    if (p.endpoint) lines.push(`Endpoint = ${p.endpoint}`);
    if (p.keepalive) lines.push(`PersistentKeepalive = ${p.keepalive}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * A wireguard-go peer listening on 51820 in `ns`, and a config for a wgcage
 * in the same namespace that reaches it over that namespace's loopback: the
 * peer at NET.1, the cage at NET.2, where NET is `opts.net` (the first three
 * bytes of a /24, 10.99.0 unless given); the config is `opts.owner`'s (root's
 * unless given).
 */
export async function loopbackPeer(
  lab: Lab,
  ns: Namespace,
  opts: { net?: string; owner?: number } = {},
): Promise<{ peer: WgPeer; config: string; keys: KeyPair }> {
  const net = opts.net ?? "10.99.0";
  const keys = await generateKeyPair();
  const peer = await WgPeer.start(lab, ns, {
    listenPort: 51820,
    addresses: [`${net}.1/24`],
    peers: [{ publicKey: keys.publicKey, allowedIps: [`${net}.2/32`] }],
  });
  const config = await writeConfig(
    lab,
    wgQuick({ privateKey: keys.privateKey, addresses: [`${net}.2/24`] }, [{
      publicKey: peer.keys.publicKey,
      allowedIps: [`${net}.0/24`],
      endpoint: "127.0.0.1:51820",
    }]),
    opts.owner,
  );
  return { peer, config, keys };
}

/** What {@linkcode peerOverVeth} made. */
export interface VethPeer {
  readonly peerNs: Namespace;
  readonly clientNs: Namespace;
  readonly link: Link;
  readonly peer: WgPeer;
  /** A config for a wgcage in `clientNs` that reaches the peer over the veth. */
  readonly config: string;
}

/**
 * A `build` of wireguard-go listening on 51820 in a namespace of its own
 * (10.99.0.1, and fd99::1 with `ipv6`), joined by a veth to a client
 * namespace, and a config for a wgcage there (10.99.0.2, fd99::2).
 */
export async function peerOverVeth(
  lab: Lab,
  build: WireguardGoBuild,
  opts: { ipv6?: boolean } = {},
): Promise<VethPeer> {
  const peerNs = await lab.namespace("peer");
  const clientNs = await lab.namespace("client");
  const link = await lab.link(peerNs, clientNs);
  const keys = await generateKeyPair();
  const v6 = opts.ipv6 ?? false;
  const peer = await WgPeer.start(lab, peerNs, {
    build,
    listenPort: 51820,
    addresses: v6 ? ["10.99.0.1/24", "fd99::1/64"] : ["10.99.0.1/24"],
    peers: [{
      publicKey: keys.publicKey,
      allowedIps: v6 ? ["10.99.0.2/32", "fd99::2/128"] : ["10.99.0.2/32"],
    }],
  });
  const config = await writeConfig(
    lab,
    wgQuick(
      {
        privateKey: keys.privateKey,
        addresses: v6 ? ["10.99.0.2/24", "fd99::2/64"] : ["10.99.0.2/24"],
      },
      [{
        publicKey: peer.keys.publicKey,
        allowedIps: v6 ? ["10.99.0.0/24", "fd99::/64"] : ["10.99.0.0/24"],
        endpoint: endpointOf(link.a.ipv4, 51820),
      }],
    ),
  );
  return { peerNs, clientNs, link, peer, config };
}
