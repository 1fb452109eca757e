/**
 * A real WireGuard peer for interop tests: `wireguard-go -f <ifname>` inside
 * a test namespace, configured with `wg set` and `ip`.
 *
 * Two builds of wireguard-go are run, each by its path (`.ci/run` installs
 * both): Debian 12's, the default, and bookworm-backports', whose TUN
 * offloads and UDP GSO/GRO make it the anchor of `bench:throughput` and an
 * offload-capable peer for the interop tests.
 *
 * wireguard-go always runs with `-f` (foreground) so the pid we keep is the
 * daemon's own; without it, it re-forks itself and the pid is lost. Key files
 * for `wg set` live in a 0700 temporary directory that is removed right after
 * use; keys never appear on a command line.
 *
 * @module
 */

import { generateKeyPair, type KeyPair } from "./keys.ts";
import { interfaceName, tempDirPrefix } from "./names.ts";
import type { Lab, Namespace } from "./netns.ts";
import { type NsProcess, run, waitUntil } from "./process.ts";

/** One build of wireguard-go, run by its path. */
export interface WireguardGoBuild {
  /** Short name for row labels and `--only`, e.g. `backports`. */
  readonly id: "debian12" | "backports";
  /** What it is, for test names and messages. */
  readonly label: string;
  /** The executable. */
  readonly path: string;
  /** A file holding its Debian package version, where dpkg does not know it. */
  readonly versionFile?: string;
}

/** Debian 12's wireguard-go (0.0.20220316): the `wireguard-go` package, under dpkg. */
export const WIREGUARD_GO_DEBIAN12: WireguardGoBuild = {
  id: "debian12",
  label: "Debian 12's wireguard-go",
  path: "/usr/bin/wireguard-go",
};

/**
 * bookworm-backports' wireguard-go (0.0.20231211: TUN offloads, UDP GSO/GRO),
 * unpacked beside Debian 12's by `.ci/run` with its package version in a file.
 */
export const WIREGUARD_GO_BACKPORTS: WireguardGoBuild = {
  id: "backports",
  label: "bookworm-backports' wireguard-go (offloads)",
  path: "/usr/local/lib/wgcage-bench/wireguard-go-backports/wireguard-go",
  versionFile: "/usr/local/lib/wgcage-bench/wireguard-go-backports/version",
};

/** Both builds, the older first. */
export const WIREGUARD_GO_BUILDS: readonly WireguardGoBuild[] = [
  WIREGUARD_GO_DEBIAN12,
  WIREGUARD_GO_BACKPORTS,
];

/** Throws, naming how to install it, unless `build`'s executable is there. */
export async function requireWireguardGo(build: WireguardGoBuild): Promise<void> {
  try {
    const info = await Deno.stat(build.path);
    if (info.isFile && (info.mode ?? 0) & 0o111) return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const how = build === WIREGUARD_GO_DEBIAN12
    ? "apt-get install wireguard-go"
    : "run .ci/run, which unpacks it from bookworm-backports";
  throw new Error(`Cannot find ${build.label} at ${build.path}; install it (${how})`);
}

/**
 * The Debian package version of `build`, e.g. `0.0.20231211-1~bpo12+1`: from
 * its version file, else from dpkg, else what the binary reports.
 */
export async function wireguardGoVersion(build: WireguardGoBuild): Promise<string> {
  if (build.versionFile !== undefined) {
    try {
      return (await Deno.readTextFile(build.versionFile)).trim();
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const dpkg = await run(["dpkg-query", "-S", build.path], { allowFailure: true });
  const pkg = /^([^:\s]+)(?::\S+)?: /.exec(dpkg.stdout)?.[1];
  if (dpkg.code === 0 && pkg !== undefined) {
    const v = await run(["dpkg-query", "-W", "-f", "${Version}", pkg], { allowFailure: true });
    if (v.code === 0 && v.stdout.trim() !== "") return v.stdout.trim();
  }
  const self = await run([build.path, "--version"], { allowFailure: true });
  const reported = /wireguard-go v?(\S+)/.exec(self.stdout)?.[1];
  if (reported === undefined) throw new Error(`Cannot tell the version of ${build.path}`);
  return reported;
}

/** One peer of a wireguard-go device. */
export interface WgPeerSpec {
  /** Base64 public key. */
  readonly publicKey: string;
  /** Base64 preshared key. */
  readonly presharedKey?: string;
  /** CIDRs, e.g. `["10.99.0.2/32", "fd99::2/128"]`. */
  readonly allowedIps: readonly string[];
  /** `host:port` or `[v6]:port`. */
  readonly endpoint?: string;
  /** Seconds; 0 or absent is off. */
  readonly persistentKeepalive?: number;
}

/** How to set up a wireguard-go device. */
export interface WgPeerOptions {
  /** Keys of this device; generated when absent. */
  readonly keys?: KeyPair;
  /** UDP port; wireguard-go picks one when absent (kept across restarts). */
  readonly listenPort?: number;
  /** Tunnel addresses with prefix, e.g. `["10.99.0.1/24", "fd99::1/64"]`. */
  readonly addresses: readonly string[];
  /** Tunnel MTU; default 1420. */
  readonly mtu?: number;
  /** Its peers. */
  readonly peers?: readonly WgPeerSpec[];
  /** Extra routes through the tunnel, e.g. `["10.98.0.0/16"]`. */
  readonly routes?: readonly string[];
  /** Log every handshake and keepalive (`LOG_LEVEL=verbose`); read it from `log`. */
  readonly verbose?: boolean;
  /** Which wireguard-go runs; Debian 12's when absent. */
  readonly build?: WireguardGoBuild;
}

/** What `wg show <if> transfer` reports for one peer. */
export interface PeerTransfer {
  readonly publicKey: string;
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** Formats `host:port` for `wg set … endpoint`, bracketing IPv6 hosts. */
export function endpointOf(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A running wireguard-go device in a test namespace. */
export class WgPeer {
  /** Namespace it runs in. */
  readonly ns: Namespace;
  /** Interface name (unique on the machine: `wgc<pid>w<n>`). */
  readonly ifname: string;
  /** Its key pair. */
  readonly keys: KeyPair;
  /** Tunnel MTU. */
  readonly mtu: number;
  /** The wireguard-go build it runs. */
  readonly build: WireguardGoBuild;
  readonly #lab: Lab;
  readonly #addresses: readonly string[];
  readonly #routes: readonly string[];
  readonly #verbose: boolean;
  #peers: WgPeerSpec[];
  #listenPort: number | undefined;
  #process: NsProcess | undefined;

  private constructor(lab: Lab, ns: Namespace, keys: KeyPair, options: WgPeerOptions) {
    this.#lab = lab;
    this.ns = ns;
    this.ifname = interfaceName("w");
    this.keys = keys;
    this.mtu = options.mtu ?? 1420;
    this.build = options.build ?? WIREGUARD_GO_DEBIAN12;
    this.#addresses = [...options.addresses];
    this.#routes = [...(options.routes ?? [])];
    this.#verbose = options.verbose ?? false;
    this.#peers = [...(options.peers ?? [])];
    this.#listenPort = options.listenPort;
  }

  /**
   * Starts wireguard-go in `ns`, configures keys, peers, addresses and
   * routes, and brings the interface up. The lab stops it on close.
   */
  static async start(lab: Lab, ns: Namespace, options: WgPeerOptions): Promise<WgPeer> {
    const keys = options.keys ?? await generateKeyPair();
    const peer = new WgPeer(lab, ns, keys, options);
    await requireWireguardGo(peer.build);
    lab.track(peer);
    await peer.#bringUp();
    return peer;
  }

  /** The UDP port it listens on. */
  get listenPort(): number {
    if (this.#listenPort === undefined) throw new Error(`${this.ifname} is not running`);
    return this.#listenPort;
  }

  /** Pid of the running wireguard-go, or undefined when stopped. */
  get pid(): number | undefined {
    return this.#process && !this.#process.exited ? this.#process.pid : undefined;
  }

  /** What wireguard-go printed (its log, with `verbose` every handshake), for messages. */
  get log(): string {
    const p = this.#process;
    return p ? `${p.stdout}\n${p.stderr}`.trim() : "";
  }

  /**
   * Waits for a line of wireguard-go's log (stdout; needs `verbose` for
   * handshake lines such as `Received handshake initiation`).
   */
  async waitForLog(match: string | RegExp, timeoutMs = 10_000): Promise<string> {
    const process = this.#process;
    if (process === undefined) throw new Error(`${this.ifname} is not running`);
    const test = typeof match === "string" ? (l: string) => l.includes(match) : match;
    return await process.waitForLine(test, timeoutMs);
  }

  /** The peers it is configured with. */
  get peers(): readonly WgPeerSpec[] {
    return this.#peers;
  }

  /** Adds a peer, or replaces the one with the same public key, live. */
  async setPeer(spec: WgPeerSpec): Promise<void> {
    this.#peers = this.#peers.filter((p) => p.publicKey !== spec.publicKey);
    this.#peers.push(spec);
    if (this.pid !== undefined) await this.#wgSet([spec], false);
  }

  /** Removes a peer live. */
  async removePeer(publicKey: string): Promise<void> {
    this.#peers = this.#peers.filter((p) => p.publicKey !== publicKey);
    if (this.pid !== undefined) {
      await this.ns.run(["wg", "set", this.ifname, "peer", publicKey, "remove"]);
    }
  }

  /** Kills wireguard-go and starts it again with the same configuration and port. */
  async restart(): Promise<void> {
    await this.#kill();
    await this.#bringUp();
  }

  /** Stops wireguard-go (its interface goes with it). Safe to call twice. */
  async stop(): Promise<void> {
    await this.#kill();
    this.#lab.untrack(this);
  }

  /**
   * Unix time in seconds of the latest handshake with `publicKey` (the first
   * peer when absent), or 0 when there was none.
   */
  async latestHandshake(publicKey = this.#firstPeerKey()): Promise<number> {
    const { stdout } = await this.ns.run(["wg", "show", this.ifname, "latest-handshakes"]);
    for (const line of stdout.trim().split("\n")) {
      const [key, when] = line.split("\t");
      if (key === publicKey) return Number(when);
    }
    throw new Error(`${this.ifname} has no peer ${publicKey}`);
  }

  /** Waits until a handshake with `publicKey` happened after `since` (unix seconds). */
  async waitForHandshake(
    publicKey = this.#firstPeerKey(),
    timeoutMs = 10_000,
    since = 0,
  ): Promise<number> {
    let when = 0;
    await waitUntil(
      async () => (when = await this.latestHandshake(publicKey)) > since,
      `handshake on ${this.ifname} with ${publicKey}; wireguard-go log: ${this.log.slice(-1000)}`,
      timeoutMs,
      100,
    );
    return when;
  }

  /** Bytes received from and sent to each peer (`wg show <if> transfer`). */
  async transfer(): Promise<PeerTransfer[]> {
    const { stdout } = await this.ns.run(["wg", "show", this.ifname, "transfer"]);
    return stdout.trim().split("\n").filter((l) => l !== "").map((line) => {
      const [publicKey, rx, tx] = line.split("\t");
      return { publicKey, rxBytes: Number(rx), txBytes: Number(tx) };
    });
  }

  toString(): string {
    return `WgPeer(${this.ifname} in ${this.ns.name}, ${this.build.id}, public ${this.keys.publicKey})`;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  #firstPeerKey(): string {
    const first = this.#peers[0];
    if (!first) throw new Error(`${this.ifname} has no peers`);
    return first.publicKey;
  }

  async #bringUp(): Promise<void> {
    const socket = `/var/run/wireguard/${this.ifname}.sock`;
    const process = this.ns.spawn([this.build.path, "-f", this.ifname], {
      WG_PROCESS_FOREGROUND: "1",
      LOG_LEVEL: this.#verbose ? "verbose" : "error",
    });
    this.#process = process;
    this.#lab.untrack(process); // stopped through this peer, with its interface
    await waitUntil(
      () => {
        if (process.exited) {
          throw new Error(
            `${this.build.path} ${this.ifname} exited at start: ${process.stdout} ${process.stderr}`,
          );
        }
        try {
          return Deno.statSync(socket).isSocket === true;
        } catch {
          return false;
        }
      },
      `wireguard-go control socket ${socket}`,
      5_000,
    );
    await this.#wgSet(this.#peers, true);
    const port = await this.ns.run(["wg", "show", this.ifname, "listen-port"]);
    this.#listenPort = Number(port.stdout.trim());
    await this.ns.ip("link", "set", this.ifname, "mtu", String(this.mtu));
    for (const address of this.#addresses) {
      const extra = address.includes(":") ? ["nodad"] : [];
      await this.ns.ip("addr", "add", address, "dev", this.ifname, ...extra);
    }
    await this.ns.ip("link", "set", this.ifname, "up");
    for (const route of this.#routes) {
      await this.ns.ip("route", "add", route, "dev", this.ifname);
    }
  }

  async #wgSet(peers: readonly WgPeerSpec[], withInterface: boolean): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: tempDirPrefix("keys") });
    try {
      await Deno.chmod(dir, 0o700);
      const writeSecret = async (name: string, value: string) => {
        const path = `${dir}/${name}`;
        await Deno.writeTextFile(path, value + "\n", { mode: 0o600 });
        return path;
      };
      const args = ["wg", "set", this.ifname];
      if (withInterface) {
        args.push("private-key", await writeSecret("private", this.keys.privateKey));
        if (this.#listenPort !== undefined) args.push("listen-port", String(this.#listenPort));
      }
      for (const [i, peer] of peers.entries()) {
        args.push("peer", peer.publicKey);
        if (peer.presharedKey !== undefined) {
          args.push("preshared-key", await writeSecret(`psk${i}`, peer.presharedKey));
        }
        args.push("allowed-ips", peer.allowedIps.join(","));
        if (peer.endpoint !== undefined) args.push("endpoint", peer.endpoint);
        if (peer.persistentKeepalive) {
          args.push("persistent-keepalive", String(peer.persistentKeepalive));
        }
      }
      await this.ns.run(args);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }

  async #kill(): Promise<void> {
    const process = this.#process;
    this.#process = undefined;
    if (process === undefined) return;
    await process.stop("SIGTERM", 3_000);
    await waitUntil(
      () => {
        try {
          Deno.statSync(`/var/run/wireguard/${this.ifname}.sock`);
          return false;
        } catch {
          return true;
        }
      },
      `wireguard-go ${this.ifname} removing its control socket`,
      3_000,
    ).catch(() => Deno.remove(`/var/run/wireguard/${this.ifname}.sock`).catch(() => {}));
  }
}
