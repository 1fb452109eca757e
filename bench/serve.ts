/**
 * `wgcage serve` as an exit, and as a server of a thousand clients.
 *
 *     deno task bench:serve [--seconds 5] [--runs 3] [--clients 1000]
 *
 * In the e2e serve test's namespaces (tests/harness/serve_lab.ts): clients in
 * `cli`, the server's host in `exit`, "the internet" (iperf3 -s on
 * 192.0.2.10) in `inet`.
 *
 * Throughput: one TCP stream from a wgcage cage in `cli` to the internet
 * through `wgcage serve`, rootless (as nobody) in `exit`: client cage →
 * WireGuard → the server's core → its cage's forwarding and nftables
 * masquerade → pasta → `inet`. The anchor is the same path built as root the
 * usual way, in a fourth namespace joined to `cli` and `inet` alike:
 * bookworm-backports' wireguard-go on a kernel TUN, the kernel's forwarding
 * and an nftables masquerade, no pasta. The same client cage drives both,
 * the two interleaved, `--runs` pairs, medians; the CPU seconds of the
 * server's keeper and of pasta during one run say where the time goes.
 *
 * Clients: `--clients` fresh keys registered through the API, then the
 * first handshake of each through the server's UDP port
 * (bench/_serve_clients.ts), timed; the server's resident memory before and
 * after, per 1,000 clients; `wg show latest-handshakes` on the server
 * confirms every handshake.
 *
 * The last lines: `serve_throughput_ratio` (wgcage serve ÷ wireguard-go as
 * root, target ≥ 0.5), `serve_register_1000_s` (registration and first
 * handshake of 1,000 clients) and `serve_rss_mib_per_1000_clients`.
 * Needs root, wireguard-go (bookworm-backports' build), wg, iperf3, socat,
 * pasta (passt), nft (nftables) and curl.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Lab } from "../tests/harness/netns.ts";
import { inNamespace, waitUntil } from "../tests/harness/process.ts";
import { generateKeyPair } from "../tests/harness/keys.ts";
import { liveRunner } from "../tests/harness/live.ts";
import { WgPeer, WIREGUARD_GO_BACKPORTS } from "../tests/harness/wg_peer.ts";
import { wgcageArgv, wgQuick, writeConfig } from "../tests/e2e/wgcage.ts";
import { INET, serveArgv, serverFiles, serveTopology } from "../tests/harness/serve_lab.ts";
import {
  clockTicksPerSecond,
  commOf,
  loadAverage,
  median,
  processTree,
  TreeCpuMeter,
} from "./_lib.ts";
import { interleavedPairs, requireRelayTools, showRuns } from "./_relay.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    runs: { type: "string", default: "3" },
    clients: { type: "string", default: "1000" },
  },
});
const seconds = Number(args.values.seconds);
const runs = Number(args.values.runs);
const clientCount = Number(args.values.clients);

await requireRelayTools("bench:serve", [["pasta", "passt"], ["nft", "nftables"], [
  "curl",
  "curl",
]]);

/** Source addresses the crowd of clients comes from (see _serve_clients.ts). */
const SOURCES = Array.from({ length: 40 }, (_, i) => `10.77.0.${i + 1}`);

const lab = await Lab.open();
try {
  const t = await serveTopology(lab);
  console.log(`load average: ${loadAverage()}`);
  t.inet.spawn(["iperf3", "-s", "-B", INET, "-p", "5201"]);

  // ---- wgcage serve, rootless ---------------------------------------------
  const files = await serverFiles(lab);
  const runner = await liveRunner(lab, t.exit.name, true);
  const serve = t.exit.spawn(runner.argv([
    ...serveArgv(t, files),
    // Room for the crowd: 4,093 clients.
    "--subnet",
    "10.200.0.0/20",
  ]));
  await serve.waitForLine((l) => l.startsWith("wgcage: api "), 60_000);
  const register = async (publicKey: string) => {
    const r = await t.cli.run([
      "curl",
      "-sk",
      "-m",
      "10",
      "-H",
      `Authorization: Bearer ${files.token}`,
      "--data-binary",
      JSON.stringify({ public_key: publicKey }),
      `https://${t.serverAddress}:8443/v1/clients`,
    ]);
    return JSON.parse(r.stdout) as { address: string; server_public_key: string };
  };
  const clientConfig = async (
    keys: { privateKey: string },
    address: string,
    serverKey: string,
    endpoint: string,
    name: string,
  ) =>
    await writeConfig(
      lab,
      wgQuick({
        privateKey: keys.privateKey,
        addresses: [address],
        // The server's tunnel address: no advice about the host's resolver.
        dns: [address.replace(/\.[0-9]+\/32$/, ".1")],
      }, [{ publicKey: serverKey, allowedIps: ["0.0.0.0/0"], endpoint }]),
      0,
      name,
    );
  const wgcageClient = await generateKeyPair();
  const reg = await register(wgcageClient.publicKey);
  const serveConfig = await clientConfig(
    wgcageClient,
    reg.address,
    reg.server_public_key,
    `${t.serverAddress}:51820`,
    "serve.conf",
  );

  // ---- the anchor: wireguard-go as root, kernel forwarding and masquerade --
  const root = await lab.namespace("rootexit");
  const rootUp = await lab.link(root, t.inet, { ipv6: false });
  const rootDown = await lab.link(root, t.cli, { ipv6: false });
  await root.ip("route", "add", "default", "via", rootUp.b.ipv4);
  await root.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  await root.run(["nft", "-f", "-"], {
    stdin: "table ip benchexit {\n" +
      "  chain post { type nat hook postrouting priority srcnat; policy accept;\n" +
      `    ip saddr 10.201.0.0/24 oifname "${rootUp.a.ifname}" masquerade\n  }\n}\n`,
  });
  const anchorClient = await generateKeyPair();
  const anchor = await WgPeer.start(lab, root, {
    build: WIREGUARD_GO_BACKPORTS,
    addresses: ["10.201.0.1/24"],
    listenPort: 51821,
    peers: [{ publicKey: anchorClient.publicKey, allowedIps: ["10.201.0.2/32"] }],
  });
  const anchorConfig = await clientConfig(
    anchorClient,
    "10.201.0.2/32",
    anchor.keys.publicKey,
    `${rootDown.a.ipv4}:51821`,
    "anchor.conf",
  );

  // ---- throughput ---------------------------------------------------------
  let lastRetransmits: number | undefined;
  const iperfThrough = async (config: string): Promise<number> => {
    const r = await t.cli.run(
      wgcageArgv(["--config", config, "--", "iperf3", "-c", INET, "-t", String(seconds), "-J"]),
      { allowFailure: true, timeoutMs: (seconds + 60) * 1000 },
    );
    if (r.code !== 0) throw new Error(`iperf3 through ${config} failed: ${r.stdout} ${r.stderr}`);
    const report = JSON.parse(r.stdout) as {
      error?: string;
      end: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } };
    };
    lastRetransmits = report.end.sum_sent?.retransmits;
    const received = report.end.sum_received;
    if (received === undefined) {
      throw new Error(`iperf3 through ${config}: ${report.error ?? "no result"}; ${r.stderr}`);
    }
    return received.bits_per_second / 1e9;
  };
  // Both ways work before anything is timed (pasta and the handshakes are up).
  await waitUntil(
    async () => (await iperfThrough(serveConfig).catch(() => 0)) > 0,
    "iperf3 through wgcage serve",
    60_000,
  );
  await iperfThrough(anchorConfig);

  const [served, anchored] = await interleavedPairs(
    runs,
    () => iperfThrough(serveConfig),
    () => iperfThrough(anchorConfig),
  );
  // Where the time goes, over one more run through the server (after the
  // pairs: the first runs after the server starts are the least steady).
  const tree = processTree(serve.pid);
  const keeper = tree.find((p) => commOf(p) === "deno") ?? serve.pid;
  // pasta is passt under another name; Debian runs its build for the CPU (passt.avx2).
  const pasta = tree.find((p) => /^pas(ta|st)/.test(commOf(p) ?? ""));
  const ticks = await clockTicksPerSecond();
  const keeperMeter = new TreeCpuMeter([keeper], ticks, (p) => p === pasta);
  const pastaMeter = pasta === undefined ? undefined : new TreeCpuMeter([pasta], ticks);
  keeperMeter.start();
  pastaMeter?.start();
  const metered = await iperfThrough(serveConfig);
  const [keeperCpu] = keeperMeter.stop();
  const pastaCpu = pastaMeter?.stop()[0];
  const meteredRetransmits = lastRetransmits;

  console.log(`TCP client cage → the internet, one stream, ${seconds} s, ${runs} runs (Gbit/s):`);
  console.log(
    `  wgcage serve (rootless, pasta):            median ${median(served).toFixed(2)}  [${
      showRuns(served)
    }]`,
  );
  console.log(
    `  wireguard-go backports as root (kernel NAT): median ${median(anchored).toFixed(2)}  [${
      showRuns(anchored)
    }]`,
  );
  console.log(
    `  CPU over one ${seconds} s run through the server (${metered.toFixed(2)} Gbit/s): ` +
      `keeper (core, TUN, UDP) ${keeperCpu.toFixed(2)} s, pasta ${
        pastaCpu?.toFixed(2) ?? "n/a"
      } s; ` +
      `${meteredRetransmits ?? "?"} TCP retransmissions`,
  );

  // ---- a thousand clients -------------------------------------------------
  for (const a of SOURCES) await t.cli.ip("addr", "add", `${a}/32`, "dev", "lo");
  await t.exit.ip("route", "add", "10.77.0.0/24", "via", t.clientAddress);
  const rssKiB = () =>
    Number(/^VmRSS:\s+(\d+)/m.exec(Deno.readTextFileSync(`/proc/${keeper}/status`))![1]);
  const rssBefore = rssKiB();
  // Its progress goes to our stderr as it comes; its figures to stdout.
  const [crowdCmd, ...crowdArgs] = inNamespace(t.cli.name, [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    "--unstable-net",
    "--unsafely-ignore-certificate-errors",
    new URL("./_serve_clients.ts", import.meta.url).pathname,
    "--api",
    `https://${t.serverAddress}:8443`,
    "--endpoint",
    `${t.serverAddress}:51820`,
    "--count",
    String(clientCount),
    "--sources",
    SOURCES.join(","),
    "--token-file",
    `${files.dir}/token`,
  ]);
  const crowd = await new Deno.Command(crowdCmd, {
    args: crowdArgs,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!crowd.success) throw new Error(`the clients failed (exit ${crowd.code})`);
  const figures = JSON.parse(new TextDecoder().decode(crowd.stdout).trim().split("\n").at(-1)!) as {
    registerS: number;
    handshakeS: number;
    cookies: number;
    lost: number;
    failures: number;
  };
  if (figures.failures > 0) throw new Error(`${figures.failures} clients failed (see above)`);
  const rssAfter = rssKiB();
  const shown = await runner.wgcage(["wg", "serve", "show", "latest-handshakes"]);
  const handshaken = shown.stdout.trim().split("\n").filter((l) => !/\t0$/.test(l)).length;
  console.log(
    `${clientCount} clients: registered in ${figures.registerS.toFixed(2)} s, first handshakes ` +
      `in ${figures.handshakeS.toFixed(2)} s (${figures.cookies} cookie replies, ` +
      `${figures.lost} lost, ${figures.failures} failed); the server shows ${handshaken} peers ` +
      `with a handshake; keeper RSS ${(rssBefore / 1024).toFixed(1)} → ` +
      `${(rssAfter / 1024).toFixed(1)} MiB`,
  );
  await serve.stop("SIGTERM", 20_000);

  const scale = 1000 / clientCount;
  console.log(`serve_throughput_ratio=${(median(served) / median(anchored)).toFixed(2)}`);
  console.log(
    `serve_register_1000_s=${((figures.registerS + figures.handshakeS) * scale).toFixed(2)}`,
  );
  console.log(
    `serve_rss_mib_per_1000_clients=${(((rssAfter - rssBefore) / 1024) * scale).toFixed(1)}`,
  );
} finally {
  await lab.close();
}
