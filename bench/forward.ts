/**
 * Published ports: TCP through `-p` next to socat relaying between the same
 * two namespaces, and what `-p` adds to start-up.
 *
 *     deno task bench:forward [--seconds 5] [--runs 3] [--startup-runs 30]
 *
 * Throughput: one wgcage cage runs `iperf3 -s` on its loopback, published
 * with `-p 127.0.0.1:15201:5201`. The anchor is socat relaying to the very
 * same server: it listens on 127.0.0.1:15202 in the host's namespace and, for
 * each connection, execs a second socat inside the cage's network namespace
 * (`nsenter --net`, so that socket is the cage's, as wgcage's is) which joins
 * the connection to 127.0.0.1:5201 there; each side is a single socat process
 * with its default buffer, as socat is usually run. One TCP stream
 * (`iperf3 -c … -J`), the two relays interleaved, `--runs` times each,
 * medians. `iperf3` to a server in the host's own namespace, no relay at all,
 * is shown as the ceiling.
 *
 * Start-up: `wgcage --config … -- true` against a wireguard-go peer on the
 * loopback of a test namespace (as `bench:startup` runs it), without and
 * with `-p`, one run of each in turn, `--startup-runs` pairs.
 *
 * The last lines are the targets: `forward_ratio` (wgcage ÷ socat, ≥ 1.0)
 * and `publish_startup_delta_ms` (the median of the pairs' differences, ≤ 5).
 * Needs root, wireguard-go, wg, iperf3, socat and nsenter.
 *
 * @module
 */

import { Lab } from "../tests/harness/netns.ts";
import { waitUntil } from "../tests/harness/process.ts";
import { loopbackPeer, wgcageArgv } from "../tests/e2e/wgcage.ts";
import { loadAverage, median } from "./_lib.ts";
import {
  interleavedPairs,
  iperfGbps,
  relayOptions,
  requireRelayTools,
  showRuns,
  waitForIperf,
} from "./_relay.ts";

const { seconds, runs, startupRuns } = relayOptions(Deno.args, 30);

await requireRelayTools("bench:forward", [["nsenter", "util-linux"]]);

const WGCAGE_PORT = 15201;
const SOCAT_PORT = 15202;
const DIRECT_PORT = 5301;
const CAGE_IPERF = 5201;

const lab = await Lab.open();
try {
  const ns = await lab.namespace("forward");
  const { config } = await loopbackPeer(lab, ns);
  console.log(`load average: ${loadAverage()}`);

  // ---- throughput -------------------------------------------------------
  const wgcage = ns.spawn(wgcageArgv([
    "-v",
    "--config",
    config,
    "-p",
    `127.0.0.1:${WGCAGE_PORT}:${CAGE_IPERF}`,
    "--",
    "iperf3",
    "-s",
    "-p",
    String(CAGE_IPERF),
  ]));
  await waitUntil(() => /cage made \(\w+, pid \d+\)/.test(wgcage.stderr), "the cage", 20_000);
  const cagePid = Number(/cage made \(\w+, pid (\d+)\)/.exec(wgcage.stderr)![1]);
  // socat splits EXEC's command at spaces; a ':' in it is escaped.
  const inner = `nsenter --net=/proc/${cagePid}/ns/net socat STDIO TCP\\:127.0.0.1\\:${CAGE_IPERF}`;
  ns.spawn([
    "socat",
    `TCP-LISTEN:${SOCAT_PORT},bind=127.0.0.1,fork,reuseaddr`,
    `EXEC:${inner},nofork`,
  ]);
  ns.spawn(["iperf3", "-s", "-p", String(DIRECT_PORT), "-B", "127.0.0.1"]);

  const iperf = (port: number) => iperfGbps(ns, port, seconds);
  // Wait until the cage's server answers through the published port.
  await waitForIperf(ns, WGCAGE_PORT, "iperf3 through -p");

  const results = { wgcage: [] as number[], socat: [] as number[], direct: [] as number[] };
  for (let i = 0; i < runs; i++) {
    results.wgcage.push(await iperf(WGCAGE_PORT));
    results.socat.push(await iperf(SOCAT_PORT));
    results.direct.push(await iperf(DIRECT_PORT));
  }
  console.log(`TCP host → cage, one stream, ${seconds} s, ${runs} runs (Gbit/s):`);
  console.log(
    `  wgcage -p (splice relay):       median ${median(results.wgcage).toFixed(2)}  [${
      showRuns(results.wgcage)
    }]`,
  );
  console.log(
    `  socat between the namespaces:   median ${median(results.socat).toFixed(2)}  [${
      showRuns(results.socat)
    }]`,
  );
  console.log(
    `  no relay (ceiling, one netns):  median ${median(results.direct).toFixed(2)}  [${
      showRuns(results.direct)
    }]`,
  );
  await wgcage.stop("SIGTERM", 10_000);

  // ---- start-up -------------------------------------------------------
  // Interleaved, one run of each in turn, so that a host whose load drifts
  // (this one is shared) weighs on both alike; the figure is the median of
  // the paired differences.
  const plain = ["ip", "netns", "exec", ns.name, ...wgcageArgv(["--config", config, "--", "true"])];
  const published = [
    "ip",
    "netns",
    "exec",
    ns.name,
    ...wgcageArgv(["--config", config, "-p", "127.0.0.1:18080:8080", "--", "true"]),
  ];
  const timeOne = async (argv: string[]): Promise<number> => {
    const t0 = performance.now();
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdout: "null",
      stderr: "piped",
    })
      .output();
    const ms = performance.now() - t0;
    if (!out.success) {
      throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return ms;
  };
  for (let i = 0; i < 3; i++) await timeOne(i % 2 ? plain : published); // warm Deno's cache
  const [without, withP] = await interleavedPairs(
    startupRuns,
    () => timeOne(plain),
    () => timeOne(published),
  );
  const deltas = without.map((w, i) => withP[i] - w);
  const ms = (x: number) => x.toFixed(1);
  console.log(`start-up, ${startupRuns} interleaved pairs (medians):`);
  console.log(`  wgcage --config … -- true:        ${ms(median(without))} ms`);
  console.log(`  wgcage --config … -p … -- true:   ${ms(median(withP))} ms`);

  console.log(`forward_ratio=${(median(results.wgcage) / median(results.socat)).toFixed(2)}`);
  console.log(`publish_startup_delta_ms=${ms(median(deltas))}`);
} finally {
  await lab.close();
}
