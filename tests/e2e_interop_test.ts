/**
 * wgcage end to end against a real WireGuard implementation no one here
 * wrote: wireguard-go, in a peer namespace the test makes. Every test runs
 * against both builds of it, each named in the test's name: Debian 12's
 * (0.0.20220316) and bookworm-backports' (0.0.20231211), whose TUN offloads
 * and UDP GSO/GRO send wgcage 64 KB bursts of segments.
 *
 * ```
 *   wgc-…-peer                                   wgc-…-client
 *   wireguard-go 10.99.0.1/24 fd99::1/64          wgcage (host side: UDP socket)
 *   server.ts: data, echo, DNS                      └─ cage: wg0 10.99.0.2/24 fd99::2/64
 *   veth 198.18.n.1/30  ------------------------  veth 198.18.n.2/30
 * ```
 *
 * Needs root (namespaces, veth) and both wireguard-go builds (`.ci/run`
 * installs them), wg, tcpdump, nft; fails with a message naming what is
 * missing.
 *
 * @module
 */

import { Capture } from "./harness/capture.ts";
import { PacketLoss } from "./harness/loss.ts";
import { Lab, type Link, type Namespace, requireRoot, requireTool } from "./harness/netns.ts";
import { assertOnlyWireGuard } from "./harness/pcap.ts";
import type { RunResult } from "./harness/process.ts";
import { clientArgv, parseClientReport, type Services, startServices } from "./harness/services.ts";
import { generateKeyPair, generatePresharedKey, type KeyPair } from "./harness/keys.ts";
import {
  endpointOf,
  requireWireguardGo,
  WgPeer,
  WIREGUARD_GO_BUILDS,
  type WireguardGoBuild,
} from "./harness/wg_peer.ts";
import { NOBODY, runWgcage, wgQuick, writeConfig } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function requirements(build: WireguardGoBuild): Promise<void> {
  requireRoot("The end-to-end test");
  await requireWireguardGo(build);
  await requireTool("wg", "wireguard-tools");
  await requireTool("tcpdump", "tcpdump");
  await requireTool("nft", "nftables");
}

interface Setup {
  lab: Lab;
  peerNs: Namespace;
  clientNs: Namespace;
  link: Link;
  peer: WgPeer;
  services: Services;
  keys: KeyPair;
  psk?: string;
}

const WG_PORT = 51820;
const CAGE_PORT = 51830;

/** The peer namespace with wireguard-go and services, the client namespace, the veth. */
async function setUp(
  lab: Lab,
  build: WireguardGoBuild,
  opts: { psk?: boolean; peerInitiates?: boolean } = {},
): Promise<Setup> {
  const peerNs = await lab.namespace("peer");
  const clientNs = await lab.namespace("client");
  const link = await lab.link(peerNs, clientNs);
  const keys = await generateKeyPair();
  const psk = opts.psk ? await generatePresharedKey() : undefined;
  const peer = await WgPeer.start(lab, peerNs, {
    build,
    listenPort: WG_PORT,
    addresses: ["10.99.0.1/24", "fd99::1/64"],
    peers: [{
      publicKey: keys.publicKey,
      presharedKey: psk,
      allowedIps: ["10.99.0.2/32", "fd99::2/128"],
      ...(opts.peerInitiates
        ? { endpoint: endpointOf(link.b.ipv4, CAGE_PORT), persistentKeepalive: 1 }
        : {}),
    }],
  });
  const services = await startServices(peerNs, {
    binds: ["10.99.0.1", "fd99::1"],
    dnsNames: ["peer.wgcage.test=10.99.0.1", "peer.wgcage.test=fd99::1"],
  });
  return { lab, peerNs, clientNs, link, peer, services, keys, psk };
}

function clientConfig(s: Setup, extra: { endpointHost?: string; listen?: boolean } = {}): string {
  return wgQuick(
    {
      privateKey: s.keys.privateKey,
      addresses: ["10.99.0.2/24", "fd99::2/64"],
      dns: ["10.99.0.1"],
      listenPort: extra.listen ? CAGE_PORT : undefined,
    },
    [{
      publicKey: s.peer.keys.publicKey,
      presharedKey: s.psk,
      allowedIps: ["10.99.0.0/24", "fd99::/64"],
      endpoint: extra.listen ? undefined : endpointOf(extra.endpointHost ?? s.link.a.ipv4, WG_PORT),
    }],
  );
}

function clientReport(r: RunResult, what: string) {
  assert(r.code === 0, `${what}: wgcage exited ${r.code}: ${r.stderr.trim()}`);
  const report = parseClientReport(r);
  assert(report.ok, `${what}: ${JSON.stringify(report)}`);
  return report;
}

async function cageRun(
  s: Setup,
  config: string,
  command: string[],
  opts: { rootless?: boolean; args?: string[]; timeoutMs?: number } = {},
): Promise<RunResult> {
  const path = await writeConfig(s.lab, config, opts.rootless ? NOBODY : 0);
  return await runWgcage(s.lab, {
    ns: s.clientNs,
    rootless: opts.rootless,
    args: [...(opts.args ?? []), "--config", path, "--", ...command],
    timeoutMs: opts.timeoutMs,
  });
}

const TEN_MIB = 10 * 1024 * 1024;

/** Registers every test against one wireguard-go build, its label first in each name. */
function interopTests(build: WireguardGoBuild): void {
  const test = (name: string, fn: () => Promise<void>) => Deno.test(`${build.label}: ${name}`, fn);

  for (const rootless of [true, false]) {
    const who = rootless ? "rootless (uid 65534)" : "as root";
    test(`${who}: 10 MiB through wgcage ↔ wireguard-go, DNS through the tunnel, only WireGuard UDP on the wire`, async () => {
      await requirements(build);
      const lab = await Lab.open();
      try {
        const s = await setUp(lab, build);
        const capture = await Capture.start(lab, s.clientNs, s.link.b.ifname);
        const data = await cageRun(
          s,
          clientConfig(s),
          clientArgv("data", "10.99.0.1", { bytes: TEN_MIB }),
          { rootless },
        );
        clientReport(data, "10 MiB over IPv4");

        const dns = await cageRun(s, clientConfig(s), ["getent", "ahostsv4", "peer.wgcage.test"], {
          rootless,
        });
        assert(dns.code === 0, `getent exited ${dns.code}: ${dns.stderr}`);
        assert(dns.stdout.includes("10.99.0.1"), `name resolved to: ${dns.stdout}`);
        const queries = s.services.dnsQueries();
        assert(
          queries.some((q) => q.name === "peer.wgcage.test" && q.from === "10.99.0.2"),
          `the peer's DNS responder saw no query from the cage: ${JSON.stringify(queries)}`,
        );

        assertOnlyWireGuard(await capture.stop(), WG_PORT);
        const whoami = await cageRun(s, clientConfig(s), ["id", "-u"], { rootless });
        assert(
          whoami.stdout.trim() === String(rootless ? NOBODY : 0),
          `id -u printed ${whoami.stdout}`,
        );
      } finally {
        await lab.close();
      }
    });
  }

  for (const rootless of [true, false]) {
    test(`${rootless ? "rootless" : "as root"}: PresharedKey and IPv6 inside the tunnel`, async () => {
      await requirements(build);
      const lab = await Lab.open();
      try {
        const s = await setUp(lab, build, { psk: true });
        const r = await cageRun(
          s,
          clientConfig(s),
          clientArgv("data", "fd99::1", { bytes: 1 << 20 }),
          {
            rootless,
          },
        );
        clientReport(r, "1 MiB over IPv6 with a preshared key");
        const udp = await cageRun(
          s,
          clientConfig(s),
          clientArgv("udp-echo", "fd99::1", { count: 20 }),
          {
            rootless,
          },
        );
        clientReport(udp, "UDP echo over IPv6");
        const wrong = wgQuick(
          { privateKey: s.keys.privateKey, addresses: ["10.99.0.2/24"] },
          [{
            publicKey: s.peer.keys.publicKey,
            presharedKey: await generatePresharedKey(),
            allowedIps: ["10.99.0.0/24"],
            endpoint: endpointOf(s.link.a.ipv4, WG_PORT),
          }],
        );
        const bad = await cageRun(s, wrong, ["true"], { args: ["--handshake-timeout", "2"] });
        assert(bad.code === 125, `a wrong PSK exited ${bad.code}`);
        assert(bad.stderr.includes("No handshake"), `message: ${bad.stderr}`);
      } finally {
        await lab.close();
      }
    });
  }

  test("two peers routed by AllowedIPs", async () => {
    await requirements(build);
    const lab = await Lab.open();
    try {
      const s = await setUp(lab, build);
      // A second wireguard-go peer in its own namespace, reached over a second veth.
      const ns2 = await lab.namespace("peer2");
      const link2 = await lab.link(ns2, s.clientNs);
      const peer2 = await WgPeer.start(lab, ns2, {
        build,
        listenPort: WG_PORT,
        addresses: ["10.98.0.1/24"],
        peers: [{ publicKey: s.keys.publicKey, allowedIps: ["10.99.0.2/32"] }],
        routes: ["10.99.0.2/32"],
      });
      await startServices(ns2, { binds: ["10.98.0.1"] });
      const config = wgQuick(
        { privateKey: s.keys.privateKey, addresses: ["10.99.0.2/24"] },
        [
          {
            publicKey: s.peer.keys.publicKey,
            allowedIps: ["10.99.0.0/24"],
            endpoint: endpointOf(s.link.a.ipv4, WG_PORT),
          },
          {
            publicKey: peer2.keys.publicKey,
            allowedIps: ["10.98.0.0/24"],
            endpoint: endpointOf(link2.a.ipv4, WG_PORT),
          },
        ],
      );
      const r = await cageRun(s, config, [
        "sh",
        "-c",
        `${clientArgv("data", "10.99.0.1", { bytes: 100000 }).join(" ")} && ${
          clientArgv("data", "10.98.0.1", { bytes: 100000 }).join(" ")
        }`,
      ]);
      assert(r.code === 0, `exit ${r.code}: ${r.stderr}`);
      const reports = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert(reports.length === 2 && reports.every((x) => x.ok), `reports: ${r.stdout}`);
    } finally {
      await lab.close();
    }
  });

  test("a host-name endpoint is resolved with the host's resolver", async () => {
    await requirements(build);
    const lab = await Lab.open();
    try {
      const s = await setUp(lab, build);
      // `ip netns exec` lays /etc/netns/<name>/hosts over /etc/hosts for the client namespace.
      const dir = `/etc/netns/${s.clientNs.name}`;
      await Deno.mkdir(dir, { recursive: true });
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      await Deno.writeTextFile(
        `${dir}/hosts`,
        `127.0.0.1 localhost\n${s.link.a.ipv4} vpn.wgcage.test\n`,
      );
      const r = await cageRun(
        s,
        clientConfig(s, { endpointHost: "vpn.wgcage.test" }),
        clientArgv("tcp-echo", "10.99.0.1", { bytes: 65536 }),
      );
      clientReport(r, "TCP echo with a host-name endpoint");
    } finally {
      await lab.close();
    }
  });

  for (const rootless of [true, false]) {
    test(`${rootless ? "rootless" : "as root"}: the listening side in the cage, wireguard-go initiating`, async () => {
      await requirements(build);
      const lab = await Lab.open();
      try {
        const s = await setUp(lab, build, { peerInitiates: true });
        const r = await cageRun(
          s,
          clientConfig(s, { listen: true }),
          clientArgv("data", "10.99.0.1", { bytes: 1 << 20 }),
          { rootless },
        );
        clientReport(r, "1 MiB with wireguard-go initiating");
      } finally {
        await lab.close();
      }
    });
  }

  test("traffic resumes after the peer restarts", async () => {
    await requirements(build);
    const lab = await Lab.open();
    try {
      const s = await setUp(lab, build, { peerInitiates: true });
      const fetch = clientArgv("data", "10.99.0.1", { bytes: 1 << 20 }).join(" ");
      const path = await writeConfig(lab, clientConfig(s));
      const running = runWgcage(lab, {
        ns: s.clientNs,
        args: [
          "--listen-port",
          String(CAGE_PORT),
          "--config",
          path,
          "--",
          "sh",
          "-c",
          `${fetch} && sleep 4 && ${fetch}`,
        ],
        timeoutMs: 60_000,
      });
      await new Promise((r) => setTimeout(r, 2000));
      await s.peer.restart();
      const r = await running;
      assert(r.code === 0, `exit ${r.code}: ${r.stderr}`);
      const reports = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert(reports.length === 2 && reports.every((x) => x.ok), `reports: ${r.stdout}`);
    } finally {
      await lab.close();
    }
  });

  test("10 MiB survives 5 % random packet loss on the veth", async () => {
    await requirements(build);
    const lab = await Lab.open();
    try {
      const s = await setUp(lab, build);
      const loss = await PacketLoss.add(lab, s.clientNs, s.link.b.ifname, 5);
      // The loss takes handshake messages too: a lost initiation or response
      // is retried after 5 s, and two lost in a row (~1 % of runs) would
      // outlast the default 10 s. Room for a few.
      const r = await cageRun(
        s,
        clientConfig(s),
        clientArgv("data", "10.99.0.1", { bytes: TEN_MIB }),
        { timeoutMs: 120_000, args: ["--handshake-timeout", "30"] },
      );
      clientReport(r, "10 MiB with 5 % loss");
      assert((await loss.dropped()) > 0, "the loss rule dropped nothing");
    } finally {
      await lab.close();
    }
  });

  test("--handshake-timeout against a silent endpoint and a wrong peer key: 125 and a message", async () => {
    await requirements(build);
    const lab = await Lab.open();
    try {
      const s = await setUp(lab, build);
      const silent = wgQuick(
        { privateKey: s.keys.privateKey, addresses: ["10.99.0.2/24"] },
        [{
          publicKey: s.peer.keys.publicKey,
          allowedIps: ["10.99.0.0/24"],
          endpoint: endpointOf(s.link.a.ipv4, 9),
        }],
      );
      const t0 = performance.now();
      const r = await cageRun(s, silent, ["true"], { args: ["--handshake-timeout", "1"] });
      const took = performance.now() - t0;
      assert(r.code === 125, `exit ${r.code}`);
      assert(r.stderr.includes(`${s.link.a.ipv4}:9`), `message names no endpoint: ${r.stderr}`);
      assert(took < 8000, `took ${took} ms`);
      const wrongKey = wgQuick(
        { privateKey: s.keys.privateKey, addresses: ["10.99.0.2/24"] },
        [{
          publicKey: (await generateKeyPair()).publicKey,
          allowedIps: ["10.99.0.0/24"],
          endpoint: endpointOf(s.link.a.ipv4, WG_PORT),
        }],
      );
      const w = await cageRun(s, wrongKey, ["true"], { args: ["--handshake-timeout", "1"] });
      assert(w.code === 125 && w.stderr.includes("No handshake"), `exit ${w.code}: ${w.stderr}`);
    } finally {
      await lab.close();
    }
  });

  test("exit status, stdin and stdout pass through the whole tool", async () => {
    await requirements(build);
    const lab = await Lab.open();
    try {
      const s = await setUp(lab, build);
      const seven = await cageRun(s, clientConfig(s), ["sh", "-c", "exit 7"]);
      assert(seven.code === 7, `exit ${seven.code}: ${seven.stderr}`);
      const missing = await cageRun(s, clientConfig(s), ["no-such-command-wgcage"]);
      assert(missing.code === 127, `missing command exited ${missing.code}`);
      const path = await writeConfig(lab, clientConfig(s));
      const cat = await runWgcage(lab, {
        ns: s.clientNs,
        args: ["--config", path, "--", "tr", "a-z", "A-Z"],
        stdin: "through the cage\n",
      });
      assert(cat.code === 0 && cat.stdout === "THROUGH THE CAGE\n", `got ${JSON.stringify(cat)}`);
      assert(cat.stderr === "", `wgcage printed on success: ${cat.stderr}`);
    } finally {
      await lab.close();
    }
  });
}

for (const build of WIREGUARD_GO_BUILDS) interopTests(build);
