/**
 * The tunnel for host programs: one TCP stream host → `-L` → tunnel → peer,
 * and the same through `--socks`, against what Debian's tools give, in the
 * same run; and the start-up of `wgcage up NAME -d --socks`.
 *
 *     deno task bench:proxy [--seconds 5] [--runs 3] [--startup-runs 10]
 *
 * The peer is wireguard-go on the loopback of a test namespace (as
 * `bench:throughput`'s loopback peer), its tunnel address 10.99.0.1 running
 * `iperf3 -s`. Two wgcage runs against it, side by side:
 *
 *   - `-L 127.0.0.1:15301:10.99.0.1:5201` and `--socks 127.0.0.1:15380`
 *     (the command only sleeps);
 *   - the anchor: `socat TCP-LISTEN:5202,fork TCP:10.99.0.1:5201` as the
 *     cage's command, published with `-p 127.0.0.1:15302:5202` — how a host
 *     program reached the tunnel before -L.
 *
 * `iperf3 -c` through each, one stream, interleaved, `--runs` times, medians:
 * `local_forward_ratio` = -L ÷ the socat anchor (target ≥ 1.0). iperf3 cannot
 * speak SOCKS, so the SOCKS figure comes from a small python3 sender (SOCKS5
 * handshake, then `--seconds` of 128 KiB writes) to a socat sink at the peer,
 * shown beside the same sender through -L (`socks_ratio`: after its
 * handshake a SOCKS connection is spliced as -L's is, so ~1.0).
 *
 * Start-up: `wgcage up NAME -d --config … [--socks P]` until it returns (the
 * handshake done, the proxy listening), then `down`; `--startup-runs` pairs,
 * interleaved: `up_socks_startup_ms` and its difference from a plain `up -d`.
 * Needs root, wireguard-go, wg, iperf3, socat and python3.
 *
 * @module
 */

import { Lab } from "../tests/harness/netns.ts";
import { cageName } from "../tests/harness/names.ts";
import { wgcageArgv, wgQuick, writeConfig } from "../tests/e2e/wgcage.ts";
import { generateKeyPair } from "../tests/harness/keys.ts";
import { WgPeer } from "../tests/harness/wg_peer.ts";
import { loadAverage, median } from "./_lib.ts";
import {
  interleavedPairs,
  iperfGbps,
  relayOptions,
  requireRelayTools,
  showRuns,
  waitForIperf,
} from "./_relay.ts";

const { seconds, runs, startupRuns } = relayOptions(Deno.args, 10);

await requireRelayTools("bench:proxy", [["/usr/bin/python3", "python3"]]);

const PEER = "10.99.0.1";
const IPERF = 5201;
const SINK = 5210;
const LOCAL_PORT = 15301;
const ANCHOR_PORT = 15302;
const SINK_PORT = 15303;
const SOCKS_PORT = 15380;
const ANCHOR_CAGE_PORT = 5202;

/** A SOCKS5 or direct sender: prints the Gbit/s it wrote for `seconds`. */
const SENDER = `
import socket, struct, sys, time
mode, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
if mode == "socks":
    s.sendall(b"\\x05\\x01\\x00")
    assert s.recv(2) == b"\\x05\\x00"
    s.sendall(b"\\x05\\x01\\x00\\x01" + socket.inet_aton("${PEER}") + struct.pack(">H", ${SINK}))
    reply = b""
    while len(reply) < 10: reply += s.recv(10 - len(reply))
    assert reply[1] == 0, reply
buf = b"x" * (128 << 10)
sent, t0 = 0, time.monotonic()
while time.monotonic() - t0 < seconds:
    s.sendall(buf); sent += len(buf)
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
print(sent * 8 / (time.monotonic() - t0) / 1e9)
`;

const lab = await Lab.open();
try {
  const ns = await lab.namespace("proxy");
  // Two wgcage runs at once, so two keys (and tunnel addresses) at the peer.
  const keys = [await generateKeyPair(), await generateKeyPair()];
  const peer = await WgPeer.start(lab, ns, {
    listenPort: 51820,
    addresses: [`${PEER}/24`],
    peers: keys.map((k, i) => ({ publicKey: k.publicKey, allowedIps: [`10.99.0.${i + 2}/32`] })),
  });
  const [config, anchorConfig] = await Promise.all(keys.map((k, i) =>
    writeConfig(
      lab,
      wgQuick({ privateKey: k.privateKey, addresses: [`10.99.0.${i + 2}/24`], dns: [PEER] }, [{
        publicKey: peer.keys.publicKey,
        allowedIps: ["10.99.0.0/24"],
        endpoint: "127.0.0.1:51820",
      }]),
    )
  ));
  console.log(`load average: ${loadAverage()}`);
  ns.spawn(["iperf3", "-s", "-p", String(IPERF), "-B", PEER]);
  ns.spawn([
    "socat",
    "-u",
    "-b",
    "131072",
    `TCP-LISTEN:${SINK},bind=${PEER},fork,reuseaddr`,
    "OPEN:/dev/null",
  ]);

  // ---- throughput -------------------------------------------------------
  const proxied = ns.spawn(wgcageArgv([
    "--config",
    config,
    "-L",
    `127.0.0.1:${LOCAL_PORT}:${PEER}:${IPERF}`,
    "-L",
    `127.0.0.1:${SINK_PORT}:${PEER}:${SINK}`,
    "--socks",
    `127.0.0.1:${SOCKS_PORT}`,
    "--",
    "sleep",
    "100000",
  ]));
  const anchor = ns.spawn(wgcageArgv([
    "--config",
    anchorConfig,
    "--tun-name",
    "wg1",
    "-p",
    `127.0.0.1:${ANCHOR_PORT}:${ANCHOR_CAGE_PORT}`,
    "--",
    "socat",
    `TCP-LISTEN:${ANCHOR_CAGE_PORT},bind=127.0.0.1,fork,reuseaddr`,
    `TCP:${PEER}:${IPERF}`,
  ]));
  void proxied;
  void anchor;

  const iperf = (port: number, t: number) => iperfGbps(ns, port, t);
  const send = async (mode: "socks" | "direct", port: number): Promise<number> => {
    const r = await ns.run(
      ["/usr/bin/python3", "-c", SENDER, mode, String(port), String(seconds)],
      { allowFailure: true, timeoutMs: (seconds + 30) * 1000 },
    );
    if (r.code !== 0) throw new Error(`the ${mode} sender failed: ${r.stderr}`);
    return Number(r.stdout.trim());
  };
  for (const port of [LOCAL_PORT, ANCHOR_PORT]) {
    await waitForIperf(ns, port, `iperf3 through port ${port}`).catch((e) => {
      throw new Error(`${e.message}; wgcage said: ${proxied.stderr} ${anchor.stderr}`);
    });
  }

  const results = {
    local: [] as number[],
    anchor: [] as number[],
    socks: [] as number[],
    localSender: [] as number[],
  };
  for (let i = 0; i < runs; i++) {
    results.local.push(await iperf(LOCAL_PORT, seconds));
    results.anchor.push(await iperf(ANCHOR_PORT, seconds));
    results.socks.push(await send("socks", SOCKS_PORT));
    results.localSender.push(await send("direct", SINK_PORT));
  }
  const row = (label: string, xs: number[]) =>
    console.log(`  ${label.padEnd(44)} median ${median(xs).toFixed(2)}  [${showRuns(xs)}]`);
  console.log(`TCP host → tunnel → peer, one stream, ${seconds} s, ${runs} runs (Gbit/s):`);
  row("iperf3 through -L (splice relay):", results.local);
  row("iperf3 through socat in a cage (-p):", results.anchor);
  row("python3 sender through --socks:", results.socks);
  row("python3 sender through -L:", results.localSender);
  await proxied.stop("SIGTERM", 10_000);
  await anchor.stop("SIGTERM", 10_000);

  // ---- start-up of a live cage ------------------------------------------
  const wgcage = async (extra: string[]): Promise<number> => {
    const name = cageName("bp");
    const t0 = performance.now();
    const up = await ns.run(wgcageArgv(["up", name, "-d", "--config", config, ...extra]), {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    const ms = performance.now() - t0;
    await ns.run(wgcageArgv(["down", name]), { allowFailure: true, timeoutMs: 30_000 });
    if (up.code !== 0) throw new Error(`up ${extra.join(" ")} failed: ${up.stderr}`);
    return ms;
  };
  const socks = ["--socks", `127.0.0.1:${SOCKS_PORT}`];
  for (let i = 0; i < 2; i++) await wgcage(i % 2 ? socks : []); // warm Deno's cache
  const [plain, withSocks] = await interleavedPairs(
    startupRuns,
    () => wgcage([]),
    () => wgcage(socks),
  );
  const deltas = plain.map((p, i) => withSocks[i] - p);
  console.log(`start-up of 'up NAME -d', ${startupRuns} interleaved pairs (medians):`);
  console.log(`  up -d:            ${median(plain).toFixed(1)} ms`);
  console.log(`  up -d --socks:    ${median(withSocks).toFixed(1)} ms`);

  console.log(`local_forward_ratio=${(median(results.local) / median(results.anchor)).toFixed(2)}`);
  console.log(
    `socks_ratio=${(median(results.socks) / median(results.localSender)).toFixed(2)}`,
  );
  console.log(`up_socks_startup_ms=${median(withSocks).toFixed(1)}`);
  console.log(`up_socks_startup_delta_ms=${median(deltas).toFixed(1)}`);
} finally {
  await lab.close();
}
