/**
 * What the relay benchmarks (`bench:forward`, `bench:proxy`) share: their
 * options and tools, one-stream iperf3 figures through a relay's port, and
 * start-up timings taken in interleaved pairs.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Namespace, requireRoot, requireTool } from "../tests/harness/netns.ts";
import { waitUntil } from "../tests/harness/process.ts";

/** `--seconds` of each iperf3 run, `--runs` of each relay, `--startup-runs` pairs. */
export interface RelayOptions {
  readonly seconds: number;
  readonly runs: number;
  readonly startupRuns: number;
}

/** The options of a relay benchmark; `--startup-runs` defaults to `startupRuns`. */
export function relayOptions(argv: readonly string[], startupRuns: number): RelayOptions {
  const args = parseArgs({
    args: [...argv],
    options: {
      seconds: { type: "string", default: "5" },
      runs: { type: "string", default: "3" },
      "startup-runs": { type: "string", default: String(startupRuns) },
    },
  });
  return {
    seconds: Number(args.values.seconds),
    runs: Number(args.values.runs),
    startupRuns: Number(args.values["startup-runs"]),
  };
}

/**
 * What a relay benchmark `bench` needs: root, and wireguard-go, wg, iperf3
 * and socat, then its `extra` tools (each with its Debian package).
 */
export async function requireRelayTools(
  bench: string,
  extra: readonly (readonly [string, string])[],
): Promise<void> {
  requireRoot(bench);
  for (
    const [tool, pkg] of [
      ["wireguard-go", "wireguard-go"],
      ["wg", "wireguard-tools"],
      ["iperf3", "iperf3"],
      ["socat", "socat"],
      ...extra,
    ]
  ) await requireTool(tool, pkg);
}

/** Figures as the benchmarks list them beside a median: `1.23, 4.56`. */
export function showRuns(xs: readonly number[]): string {
  return xs.map((x) => x.toFixed(2)).join(", ");
}

/** One TCP stream of iperf3 to 127.0.0.1:`port` in `ns` for `seconds`: Gbit/s received. */
export async function iperfGbps(ns: Namespace, port: number, seconds: number): Promise<number> {
  const r = await ns.run(
    ["iperf3", "-c", "127.0.0.1", "-p", String(port), "-t", String(seconds), "-J"],
    { allowFailure: true, timeoutMs: (seconds + 30) * 1000 },
  );
  if (r.code !== 0) throw new Error(`iperf3 to port ${port} failed: ${r.stdout} ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return report.end.sum_received.bits_per_second / 1e9;
}

/** Waits (30 s at most) until 1 MB of iperf3 gets through 127.0.0.1:`port` in `ns`. */
export async function waitForIperf(ns: Namespace, port: number, what: string): Promise<void> {
  await waitUntil(
    async () =>
      (await ns.run(["iperf3", "-c", "127.0.0.1", "-p", String(port), "-n", "1M"], {
        allowFailure: true,
      })).code === 0,
    what,
    30_000,
  );
}

/**
 * `pairs` runs of `a` and of `b`, a pair at a time, each of the two going
 * first in turn, so that a host whose load drifts (a shared one) weighs on
 * both alike: their results, in order.
 */
export async function interleavedPairs(
  pairs: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number[], number[]]> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return [as, bs];
}
