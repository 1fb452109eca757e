/**
 * TCP throughput through WireGuard tunnels, measured with iperf3 between two
 * test namespaces joined by veth on this machine:
 *
 *     deno task bench:throughput [--seconds 5] [--runs 1] [--only NAME]
 *
 * Each row is a scenario that builds its two ends in a fresh lab and tears
 * them down after: `iperf3 -s -1` on the server end's tunnel address,
 * `iperf3 -c … -J` on the client end. The anchor row is wireguard-go on both
 * sides; rows for wgcage go in `SCENARIOS`, and `formatThroughputRatio`
 * prints the line comparing them with the anchor.
 *
 * Needs root (namespaces, veth, /dev/net/tun), wireguard-go, wg and iperf3.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Lab, type Namespace, requireRoot, requireTool } from "../tests/harness/netns.ts";
import type { NsProcess, RunResult } from "../tests/harness/process.ts";
import { endpointOf, WgPeer } from "../tests/harness/wg_peer.ts";
import { formatKiB, PeakRssSampler, round1 } from "./_lib.ts";
import { wgcagePair, wgcageToWireguardGo } from "./_wgcage_scenarios.ts";

/** Where iperf3's two ends run in one scenario. */
export interface IperfEnds {
  /** Address the server binds and the client connects to (a tunnel address). */
  readonly serverAddress: string;
  /** Starts a long-lived command where the server end lives. */
  spawnServer(argv: string[]): NsProcess;
  /**
   * Runs a command to completion where the client end lives (for example
   * wrapped in `wgcage … --`). It may report peak RSS of what it ran, e.g.
   * with `runSampled` from `_lib.ts`.
   */
  runClient(argv: string[], timeoutMs: number): Promise<ClientRun>;
  /** Processes whose peak RSS the row reports, by label. */
  readonly watch?: readonly { readonly label: string; readonly pid: number }[];
}

/** What the client end's command printed, and optionally its peak RSS by label. */
export interface ClientRun extends RunResult {
  readonly peakRssKiB?: Readonly<Record<string, number | undefined>>;
}

/** One row of the benchmark. */
export interface ThroughputScenario {
  /** Printed as the row's label, e.g. `wireguard-go<->wireguard-go`. */
  readonly name: string;
  /**
   * Builds both ends in `lab` (namespaces, peers, anything else); the lab is
   * closed after the measurement. Register extra teardown with `lab.defer`.
   */
  setup(lab: Lab): Promise<IperfEnds>;
}

/** What one row measured. */
export interface ThroughputResult {
  readonly name: string;
  /** Received goodput, Mbit/s. */
  readonly mbitPerSecond: number;
  /** TCP retransmissions reported by the sender. */
  readonly retransmits: number;
  /** Peak RSS of each watched process, KiB. */
  readonly peakRssKiB: Readonly<Record<string, number | undefined>>;
}

/** The anchor row's name. */
export const ANCHOR = "wireguard-go<->wireguard-go";

/** Tunnel addresses of the two ends. */
const SERVER_TUNNEL = { v4: "10.99.0.1", cidrs: ["10.99.0.1/24", "fd99::1/64"] };
const CLIENT_TUNNEL = { v4: "10.99.0.2", cidrs: ["10.99.0.2/24", "fd99::2/64"] };
const WG_PORT = 51820;

/** Two namespaces over veth; returns both and the server's underlay address. */
export async function twoNamespaces(
  lab: Lab,
): Promise<{ server: Namespace; client: Namespace; serverUnderlay: string }> {
  const server = await lab.namespace("server");
  const client = await lab.namespace("client");
  const link = await lab.link(server, client, { ipv6: false });
  return { server, client, serverUnderlay: link.a.ipv4 };
}

/** iperf3 ends living in two plain namespaces. */
export function namespaceEnds(
  server: Namespace,
  client: Namespace,
  watch: IperfEnds["watch"],
): IperfEnds {
  return {
    serverAddress: SERVER_TUNNEL.v4,
    spawnServer: (argv) => server.spawn(argv),
    runClient: (argv, timeoutMs) => client.run(argv, { timeoutMs, allowFailure: true }),
    watch,
  };
}

/** The anchor: wireguard-go on both sides, MTU 1420. */
export const wireguardGoPair: ThroughputScenario = {
  name: ANCHOR,
  async setup(lab) {
    const { server, client, serverUnderlay } = await twoNamespaces(lab);
    const serverPeer = await WgPeer.start(lab, server, {
      listenPort: WG_PORT,
      addresses: SERVER_TUNNEL.cidrs,
      mtu: 1420,
    });
    const clientPeer = await WgPeer.start(lab, client, {
      addresses: CLIENT_TUNNEL.cidrs,
      mtu: 1420,
      peers: [{
        publicKey: serverPeer.keys.publicKey,
        allowedIps: ["10.99.0.0/24", "fd99::/64"],
        endpoint: endpointOf(serverUnderlay, WG_PORT),
        persistentKeepalive: 25,
      }],
    });
    await serverPeer.setPeer({
      publicKey: clientPeer.keys.publicKey,
      allowedIps: ["10.99.0.2/32", "fd99::2/128"],
    });
    await clientPeer.waitForHandshake();
    return namespaceEnds(server, client, [
      { label: "wireguard-go server", pid: serverPeer.pid! },
      { label: "wireguard-go client", pid: clientPeer.pid! },
    ]);
  },
};

/** Every row, in print order. Add wgcage rows here. */
export const SCENARIOS: ThroughputScenario[] = [wireguardGoPair, wgcageToWireguardGo, wgcagePair];

/** The part of `iperf3 -J` output we read. */
interface IperfJson {
  readonly error?: string;
  readonly end?: {
    readonly sum_sent?: { readonly bits_per_second: number; readonly retransmits?: number };
    readonly sum_received?: { readonly bits_per_second: number };
  };
}

/** Reads goodput and retransmissions from `iperf3 -c … -J` output. */
export function parseIperfJson(text: string): { mbitPerSecond: number; retransmits: number } {
  let json: IperfJson;
  try {
    json = JSON.parse(text) as IperfJson;
  } catch {
    throw new Error(`Cannot parse iperf3 output as JSON: ${text.slice(0, 200)}`);
  }
  if (json.error) throw new Error(`iperf3 failed: ${json.error}`);
  const received = json.end?.sum_received?.bits_per_second;
  if (received === undefined) throw new Error("Cannot find end.sum_received in iperf3 output");
  return {
    mbitPerSecond: round1(received / 1e6),
    retransmits: json.end?.sum_sent?.retransmits ?? 0,
  };
}

/** Runs one scenario in its own lab and measures it. */
export async function measureScenario(
  scenario: ThroughputScenario,
  seconds: number,
): Promise<ThroughputResult> {
  const lab = await Lab.open();
  try {
    const ends = await scenario.setup(lab);
    const samplers = (ends.watch ?? []).map((w) => ({
      label: w.label,
      sampler: new PeakRssSampler(w.pid),
    }));
    const server = ends.spawnServer([
      "iperf3",
      "-s",
      "-1",
      "--forceflush",
      "-B",
      ends.serverAddress,
    ]);
    await server.waitForLine(/Server listening/, 10_000);
    const client = await ends.runClient(
      ["iperf3", "-c", ends.serverAddress, "-t", String(seconds), "-J"],
      (seconds + 30) * 1000,
    );
    const peakRssKiB: Record<string, number | undefined> = { ...client.peakRssKiB };
    for (const { label, sampler } of samplers) peakRssKiB[label] = sampler.stop();
    if (client.code !== 0 && client.stdout.trim() === "") {
      throw new Error(
        `${scenario.name}: the client exited ${client.code}: ${client.stderr.trim()}`,
      );
    }
    return { name: scenario.name, ...parseIperfJson(client.stdout), peakRssKiB };
  } finally {
    await lab.close();
  }
}

/** The row's line: `<name>: <Mbit/s> Mbit/s`. */
export function formatResult(result: ThroughputResult): string {
  return `${result.name}: ${result.mbitPerSecond} Mbit/s`;
}

/** The row's detail line: retransmissions and peak RSS per watched process. */
export function formatDetails(result: ThroughputResult): string {
  const rss = Object.entries(result.peakRssKiB)
    .map(([label, kib]) => `${label} ${formatKiB(kib)}`)
    .join(", ");
  return `  retransmits ${result.retransmits}${rss ? `; peak RSS: ${rss}` : ""}`;
}

/**
 * `throughput_ratio=<wgcage<->wgcage / wireguard-go<->wireguard-go>` from
 * the results (two decimals); throws when either row is missing.
 */
export function formatThroughputRatio(
  results: readonly ThroughputResult[],
  rowName = "wgcage<->wgcage",
): string {
  const anchor = results.find((r) => r.name === ANCHOR);
  const row = results.find((r) => r.name === rowName);
  if (!anchor || !row) {
    throw new Error(`Cannot compute throughput_ratio: need rows "${rowName}" and "${ANCHOR}"`);
  }
  return `throughput_ratio=${(row.mbitPerSecond / anchor.mbitPerSecond).toFixed(2)}`;
}

/** The run with the median throughput (the lower middle one for an even count). */
export function medianRun(runs: readonly ThroughputResult[]): ThroughputResult {
  if (runs.length === 0) throw new RangeError("Cannot take the median of no runs");
  const sorted = [...runs].sort((x, y) => x.mbitPerSecond - y.mbitPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Measures every scenario `runs` times, interleaved (all rows once, then
 * again) so that a change in machine load hits every row alike, and returns
 * each row's median run with every run's figure in `runs`.
 */
export async function measureAll(
  scenarios: readonly ThroughputScenario[],
  seconds: number,
  runs: number,
): Promise<(ThroughputResult & { readonly runs: readonly number[] })[]> {
  const all = scenarios.map(() => [] as ThroughputResult[]);
  for (let round = 0; round < runs; round++) {
    for (const [i, scenario] of scenarios.entries()) {
      all[i].push(await measureScenario(scenario, seconds));
    }
  }
  return all.map((rowRuns) => ({
    ...medianRun(rowRuns),
    runs: rowRuns.map((r) => r.mbitPerSecond),
  }));
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string", default: "5" },
      runs: { type: "string", default: "1" },
      only: { type: "string" },
    },
    strict: true,
  });
  const seconds = Number(values.seconds);
  const runs = Number(values.runs);
  for (const [flag, n] of [["seconds", seconds], ["runs", runs]] as const) {
    if (!Number.isInteger(n) || n < 1) {
      console.error(`throughput: Cannot use --${flag} ${values[flag]}: give a whole number ≥ 1`);
      return 2;
    }
  }
  requireRoot("The throughput benchmark");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  await requireTool("iperf3", "iperf3");
  const chosen = SCENARIOS.filter((s) => values.only === undefined || s.name === values.only);
  if (chosen.length === 0) {
    console.error(`throughput: No scenario named "${values.only}"`);
    return 2;
  }
  const results = await measureAll(chosen, seconds, runs);
  for (const result of results) {
    console.log(formatResult(result));
    console.log(formatDetails(result) + (runs > 1 ? `; runs ${result.runs.join(", ")}` : ""));
  }
  if (results.some((r) => r.name === ANCHOR) && results.some((r) => r.name === wgcagePair.name)) {
    console.log(formatThroughputRatio(results));
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`throughput: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
