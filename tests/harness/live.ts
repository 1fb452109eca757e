/**
 * Live cages in tests: how one test runs wgcage (as root, or as nobody with a
 * private TUN node and a runtime directory of its own), and a namespace with
 * a wireguard-go peer and the cage's config: 10.97.0.1 with DNS and 10.97.0.2
 * ({@linkcode liveLab}), or without DNS in a /24 of the test's
 * ({@linkcode livePeer}).
 *
 * @module
 */

import type { Lab, Namespace } from "./netns.ts";
import { run, type RunResult } from "./process.ts";
import { generateKeyPair, type KeyPair } from "./keys.ts";
import { WgPeer } from "./wg_peer.ts";
import { startServices } from "./services.ts";
import {
  loopbackPeer,
  NOBODY,
  nobodyDenoDir,
  privateTunNode,
  rootlessArgv,
  wgcageArgv,
  wgQuick,
  writeConfig,
} from "../e2e/wgcage.ts";

/** How one test runs wgcage: as root, or as nobody with a private TUN node. */
export interface LiveRunner {
  wgcage(
    args: string[],
    opts?: { timeoutMs?: number; env?: Record<string, string> },
  ): Promise<RunResult>;
  /** The argv that runs wgcage `args` so (for a spawn or a pty). */
  argv(args: string[], env?: Record<string, string>): string[];
  /** The state directory this runner's cages are recorded in. */
  readonly stateDir: string;
}

export async function liveRunner(
  lab: Lab,
  ns: string,
  rootless: boolean,
  uid = NOBODY,
): Promise<LiveRunner> {
  if (!rootless) {
    const argv = (args: string[], env?: Record<string, string>) =>
      env === undefined ? wgcageArgv(args) : [
        "env",
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ...wgcageArgv(args),
      ];
    return runnerOf(ns, "/run/wgcage", argv);
  }
  const tunDir = await privateTunNode(lab, 0o666);
  const denoDir = await nobodyDenoDir(lab);
  const runtime = await Deno.makeTempDir({ prefix: "wgc-xdg-" });
  lab.defer(() => Deno.remove(runtime, { recursive: true }));
  await Deno.chown(runtime, uid, uid);
  await Deno.chmod(runtime, 0o700);
  const base = { HOME: "/tmp", DENO_DIR: denoDir, XDG_RUNTIME_DIR: runtime };
  const argv = (args: string[], env?: Record<string, string>) =>
    rootlessArgv(tunDir, { ...base, ...env }, wgcageArgv(args), { uid });
  return runnerOf(ns, `${runtime}/wgcage`, argv);
}

/** A runner whose wgcage runs `argv` in `ns`; a run may take a minute unless told. */
function runnerOf(
  ns: string,
  stateDir: string,
  argv: (args: string[], env?: Record<string, string>) => string[],
): LiveRunner {
  return {
    stateDir,
    argv,
    wgcage: (args, opts) =>
      run(argv(args, opts?.env), { ns, allowFailure: true, timeoutMs: opts?.timeoutMs ?? 60_000 }),
  };
}

/** A namespace with a wireguard-go peer at 10.97.0.1 (DNS too) and the cage's config for `owner`. */
export async function liveLab(
  lab: Lab,
  role: string,
  owner: number,
): Promise<{ ns: string; namespace: Namespace; peer: WgPeer; config: string; configText: string }> {
  const ns = await lab.namespace(role);
  const keys = await generateKeyPair();
  const peer = await WgPeer.start(lab, ns, {
    listenPort: 51820,
    addresses: ["10.97.0.1/24"],
    peers: [{ publicKey: keys.publicKey, allowedIps: ["10.97.0.2/32"] }],
  });
  await startServices(ns, { binds: ["10.97.0.1"], dnsNames: ["peer.live.test=10.97.0.1"] });
  const configText = wgQuick(
    { privateKey: keys.privateKey, addresses: ["10.97.0.2/24"], dns: ["10.97.0.1"] },
    [{
      publicKey: peer.keys.publicKey,
      allowedIps: ["10.97.0.0/24"],
      endpoint: "127.0.0.1:51820",
    }],
  );
  const config = await writeConfig(lab, configText, owner);
  return { ns: ns.name, namespace: ns, peer, config, configText };
}

/**
 * A namespace with a wireguard-go peer at NET.1 (UDP 51820 over its
 * loopback, no DNS) and the config of a cage at NET.2 for `owner`; NET is
 * `net`, the first three bytes of a /24 (10.94.0 unless given).
 */
export async function livePeer(
  lab: Lab,
  role: string,
  owner: number,
  net = "10.94.0",
): Promise<{ ns: Namespace; keys: KeyPair; a: WgPeer; config: string }> {
  const ns = await lab.namespace(role);
  const { peer, config, keys } = await loopbackPeer(lab, ns, { net, owner });
  return { ns, keys, a: peer, config };
}
