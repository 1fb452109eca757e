/**
 * The server cage's forwarding and its way out.
 *
 * Inside the cage: the kernel forwards between clients (wg0 to wg0, the hub)
 * and, unless `--no-egress`, from wg0 to pasta's interface, masqueraded by
 * nftables to the address pasta gave the cage (the host's). Outside: pasta
 * (Debian's `passt`, the rootless network podman uses) attached to the
 * cage's namespaces relays that interface's traffic through ordinary sockets
 * of the host, so what leaves has the host's address as its source. That is
 * the maintained rootless path, as podman chose it over slirp4netns; a NAT
 * of our own would have to redo its TCP, UDP and ICMP handling.
 *
 * What a client must not reach: pasta runs with `--no-map-gw` (by default it
 * maps the gateway's address to the host's loopback) and forwards no port in
 * either direction (`-t/-u/-T/-U none`; the default `auto` would mirror bound
 * ports); forwarding to any of the host's own addresses is dropped, so a
 * client cannot reach the host's services through pasta's sockets. The
 * cage's own copy of the host's address is local to the cage, where nothing
 * listens.
 *
 * @module
 */

import { ServeError } from "./error.ts";
import { findOnPath, SBIN_DIRS } from "../cage/find_on_path.ts";
import type { InCage } from "./in_cage.ts";

export interface EgressOptions {
  readonly initPid: number;
  readonly tunName: string;
  readonly noEgress: boolean;
  readonly inCage: InCage;
  /** The host's own addresses, IPv4 and IPv6: forwarding to them is dropped. */
  readonly hostAddresses: readonly string[];
  /** The clients' subnet, e.g. 10.200.0.0/24. */
  readonly subnet: string;
  /** The IPv6 subnet beside it, if any, e.g. fd00:200::/64. */
  readonly subnet6?: string;
  /** The server's addresses and the registered clients' (the `peers` and `peers6` sets). */
  readonly peers: readonly string[];
  readonly log?: (line: string) => void;
}

/** The nftables ruleset of the server cage (the whole `inet wgcage` table). */
export function ruleset(
  o: {
    tunName: string;
    noEgress: boolean;
    hostAddresses: readonly string[];
    subnet: string;
    subnet6?: string;
    peers: readonly string[];
  },
): string {
  const tun = JSON.stringify(o.tunName);
  const v6 = (a: string) => a.includes(":");
  const peers4 = o.peers.filter((a) => !v6(a));
  const peers6 = o.peers.filter(v6);
  const host4 = o.hostAddresses.filter((a) => !v6(a));
  const host6 = o.hostAddresses.filter(v6);
  // An address of the subnet that no client has (removed, or never
  // registered): a connection to it, from a forward's relay (output) or
  // another client (forward), is refused at once, where the core, which
  // has no peer for it, would drop it and leave it to time out.
  const gone = [
    `    ip daddr ${o.subnet} ip daddr != @peers meta l4proto tcp reject with tcp reset`,
    `    ip daddr ${o.subnet} ip daddr != @peers reject with icmpx type host-unreachable`,
    ...(o.subnet6 === undefined ? [] : [
      `    ip6 daddr ${o.subnet6} ip6 daddr != @peers6 meta l4proto tcp reject with tcp reset`,
      `    ip6 daddr ${o.subnet6} ip6 daddr != @peers6 reject with icmpx type host-unreachable`,
    ]),
  ];
  const lines = [
    "table inet wgcage {",
    "  set peers {",
    "    type ipv4_addr;",
    ...(peers4.length > 0 ? [`    elements = { ${peers4.join(", ")} }`] : []),
    "  }",
    ...(o.subnet6 === undefined ? [] : [
      "  set peers6 {",
      "    type ipv6_addr;",
      ...(peers6.length > 0 ? [`    elements = { ${peers6.join(", ")} }`] : []),
      "  }",
    ]),
    "  chain output {",
    "    type filter hook output priority filter; policy accept;",
    ...gone,
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy drop;",
    "    ct state established,related accept",
    ...gone,
    `    iifname ${tun} oifname ${tun} accept`,
  ];
  if (!o.noEgress) {
    if (host4.length > 0) lines.push(`    ip daddr { ${host4.join(", ")} } drop`);
    if (host6.length > 0) lines.push(`    ip6 daddr { ${host6.join(", ")} } drop`);
    lines.push(`    iifname ${tun} oifname != ${tun} meta nfproto ipv4 accept`);
    // IPv6 goes out only for clients that have IPv6 addresses, through pasta.
    if (o.subnet6 !== undefined) {
      lines.push(`    iifname ${tun} oifname != ${tun} meta nfproto ipv6 accept`);
    }
  }
  lines.push("  }");
  if (!o.noEgress) {
    lines.push(
      "  chain postrouting {",
      "    type nat hook postrouting priority srcnat; policy accept;",
      `    iifname ${tun} oifname != ${tun} masquerade`,
      "  }",
    );
  }
  lines.push("}", "");
  return lines.join("\n");
}

/** The host's IPv4 addresses, loopback excluded (127/8 is never forwarded). */
export function hostIpv4Addresses(): string[] {
  return [
    ...new Set(
      Deno.networkInterfaces()
        .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
        .map((i) => i.address),
    ),
  ];
}

/** The host's IPv6 addresses but loopback and link-local ones (never forwarded to). */
export function hostIpv6Addresses(): string[] {
  return [
    ...new Set(
      Deno.networkInterfaces()
        .filter((i) => i.family === "IPv6" && i.address !== "::1" && !/^fe[89ab]/i.test(i.address))
        .map((i) => i.address.replace(/%.*$/, "")),
    ),
  ];
}

export interface Egress {
  /** Resolves with a one-line reason if pasta ends while the server runs. */
  readonly ended: Promise<string>;
  /** A client's address joins or leaves the `peers` set. */
  peer(address: string, present: boolean): Promise<void>;
  close(): Promise<void>;
}

const PASTA_WAIT_MS = 10_000;

/** The interface of the default route in `pid`'s network namespace (pasta's), if any. */
function defaultRouteInterface(pid: number): string | undefined {
  try {
    const table = Deno.readTextFileSync(`/proc/${pid}/net/route`);
    return table.split("\n").slice(1).map((l) => l.split("\t")).find((f) => f[1] === "00000000")
      ?.[0];
  } catch {
    return undefined;
  }
}

/**
 * The transmit queue of pasta's interface in the cage, in packets. What the
 * cage forwards to it comes from the tunnel as large coalesced packets that
 * the kernel cuts into MTU-sized segments as it queues them on the tap
 * (which takes no segmentation offload), dozens at once; a forwarded
 * packet, unlike a local socket's, gets no back-pressure from a full queue,
 * only a drop. At the default 1,000 a single TCP stream from a client loses
 * segments every few milliseconds while pasta is still reading and falls to
 * a tenth of its rate; 10,000 (about 14 MB of full segments at most) holds a
 * window's burst.
 */
const PASTA_TXQUEUE = 10_000;

/** Starts pasta on the cage (unless `--no-egress`), then forwarding and the ruleset. */
export async function startEgress(o: EgressOptions): Promise<Egress> {
  let pasta: Deno.ChildProcess | undefined;
  let stderr = "";
  let closing = false;
  let ended: Promise<string> = new Promise(() => {});
  // nft is in /usr/sbin, which an ordinary user's PATH often lacks.
  const nft = findOnPath("nft", SBIN_DIRS);
  if (nft === undefined) {
    throw new ServeError(
      "Cannot find nft, which sets the server cage's forwarding rules; install it " +
        "(apt-get install nftables)",
    );
  }
  if (!o.noEgress) {
    const path = findOnPath("pasta", SBIN_DIRS);
    if (path === undefined) {
      throw new ServeError(
        "Cannot find pasta, the way out for clients; install it (apt-get install passt), " +
          "or serve a hub only with --no-egress",
      );
    }
    try {
      // pasta keeps the cage's network namespace alive: it must end with the
      // keeper even when that is killed (-9), as the cage's init does, so it
      // gets a parent-death signal (the keeper's main thread spawns it).
      pasta = new Deno.Command("setpriv", {
        args: [
          "--pdeathsig",
          "KILL",
          path,
          // As root, pasta would drop to nobody, who may not enter the
          // cage's namespaces (root's): it stays the server's user.
          ...(Deno.uid() === 0 ? ["--runas", "0"] : []),
          "-q",
          "-f",
          "--config-net",
          "--no-map-gw",
          // IPv6 too when the clients have it (pasta leaves it off when
          // the host has no IPv6 route).
          ...(o.subnet6 === undefined ? ["-4"] : []),
          "-t",
          "none",
          "-u",
          "none",
          "-T",
          "none",
          "-U",
          "none",
          String(o.initPid),
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new ServeError(
          "Cannot find setpriv on PATH; install it (apt-get install util-linux)",
        );
      }
      throw e;
    }
    const child = pasta;
    // Its messages, kept for a failure (pasta also tries syslog and says so).
    const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({
        write(chunk) {
          stderr = (stderr + chunk).split("\n").filter((l) => !/syslog/.test(l)).join("\n")
            .slice(-2000);
        },
      }),
    ).catch(() => {});
    const lastLine = () => stderr.trim().split("\n").at(-1) ?? "";
    ended = child.status.then(async (s) => {
      await reading;
      return closing ? "" : `pasta ended (status ${s.code}${lastLine() ? `: ${lastLine()}` : ""})`;
    });
    const deadline = Date.now() + PASTA_WAIT_MS;
    let exited: string | undefined;
    void ended.then((why) => exited = why);
    while (defaultRouteInterface(o.initPid) === undefined) {
      if (exited !== undefined) {
        throw new ServeError(
          `pasta cannot give the server's cage a way out: ${lastLine() || exited}; the host ` +
            "needs an interface with a default route (or serve a hub only with --no-egress)",
        );
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new ServeError(
          `pasta did not configure the server's cage within ${PASTA_WAIT_MS / 1000} s; ` +
            "check that pasta runs here (pasta --version), or serve with --no-egress",
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    o.log?.("pasta attached (the way out)");
  }
  const ip = findOnPath("ip", SBIN_DIRS);
  const close = async () => {
    closing = true;
    if (pasta !== undefined) {
      try {
        pasta.kill("SIGTERM");
      } catch {
        // ended already
      }
      await pasta.status;
    }
  };
  try {
    await o.inCage.run(
      [
        "sh",
        "-c",
        "echo 1 > /proc/sys/net/ipv4/ip_forward" +
        (o.subnet6 === undefined ? "" : " && echo 1 > /proc/sys/net/ipv6/conf/all/forwarding"),
      ],
      undefined,
      "turn forwarding on",
    );
    await o.inCage.run([nft, "-f", "-"], ruleset(o), "load the nftables ruleset");
    const out = pasta === undefined ? undefined : defaultRouteInterface(o.initPid);
    if (out !== undefined && ip === undefined) {
      o.log?.("Warning: cannot find ip (iproute2): clients' TCP through pasta stays slow");
    } else if (out !== undefined && ip !== undefined) {
      await o.inCage.run(
        [ip, "link", "set", out, "txqueuelen", String(PASTA_TXQUEUE)],
        undefined,
        "lengthen the transmit queue of pasta's interface",
      );
    }
    o.log?.(`forwarding on; nftables: hub${o.noEgress ? " only" : " and masquerade"}`);
  } catch (e) {
    await close();
    throw e;
  }
  const peer = async (address: string, present: boolean) => {
    await o.inCage.run(
      [
        nft,
        present ? "add" : "delete",
        "element",
        "inet",
        "wgcage",
        address.includes(":") ? "peers6" : "peers",
        `{ ${address} }`,
      ],
      undefined,
      `${present ? "add" : "remove"} a client in the nftables set`,
    );
  };
  return { ended, peer, close };
}
