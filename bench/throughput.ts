/**
 * TCP throughput through WireGuard tunnels, measured with iperf3 between two
 * test namespaces joined by veth on this machine, with the CPU time and peak
 * memory of the tunnel's processes:
 *
 *     deno task bench:throughput [--seconds 5] [--runs 3] [--only NAME]… [--from-source]
 *
 * wgcage is the form users run: the npm package packed from this tree and
 * installed into a temporary prefix (bench/_npm_package.ts); with
 * --from-source, `deno run -A src/main.ts` instead.
 *
 * Each row is a scenario that builds its two ends in a fresh lab and tears
 * them down after: `iperf3 -s -1` on the server end's tunnel address,
 * `iperf3 -c … -J` (one TCP stream) on the client end, MTU 1420 everywhere.
 * Rows are measured `--runs` times, interleaved, and report their median.
 *
 * The anchor is bookworm-backports' wireguard-go (TUN offloads, UDP GSO/GRO)
 * on both ends; Debian 12's build is a second row. Both are run by path (see
 * `tests/harness/wg_peer.ts`; `.ci/run` installs them). The last lines are
 * the targets, `key=value`:
 *
 * - `anchor=wireguard-go <Debian package version>`
 * - `throughput_ratio` wgcage↔wgcage ÷ the anchor
 * - `interop_ratio` wgcage↔backports wireguard-go ÷ the anchor
 * - `cpu_ratio` CPU seconds per GB received of wgcage's processes at both
 *   ends ÷ those of wireguard-go's in the anchor (medians over the runs)
 * - `rss_mib` the highest peak RSS (`VmHWM`) of a wgcage process moving data
 *
 * CPU time is read from `/proc/PID/stat` (utime + stime of every thread, and
 * cutime + cstime) for each tunnel process and its children but iperf3,
 * between the ends of the server's first and next-to-last one-second
 * intervals (so start-up and the slow start are left out); the bytes are the
 * server's bitrate over those intervals times that window.
 *
 * Needs root (namespaces, veth, /dev/net/tun), both wireguard-go builds, wg
 * and iperf3.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Lab, requireRoot, requireTool } from "../tests/harness/netns.ts";
import type { NsProcess } from "../tests/harness/process.ts";
import {
  requireWireguardGo,
  WIREGUARD_GO_BACKPORTS,
  WIREGUARD_GO_BUILDS,
  WIREGUARD_GO_DEBIAN12,
  wireguardGoVersion,
} from "../tests/harness/wg_peer.ts";
import {
  clockTicksPerSecond,
  commOf,
  formatKiB,
  loadAverage,
  PeakRssSampler,
  round1,
  TreeCpuMeter,
} from "./_lib.ts";
import {
  buildTag,
  MTU,
  type ThroughputScenario,
  type TunnelKind,
  wireguardGoPair,
} from "./_scenario.ts";
import { runWgcageAs, wgcagePair, wgcageToWireguardGo } from "./_wgcage_scenarios.ts";
import { installNpmPackage } from "./_npm_package.ts";

/** What one tunnel process used in one run. */
export interface TunnelFigures {
  readonly label: string;
  readonly kind: TunnelKind;
  /** Peak RSS (`VmHWM`), KiB. */
  readonly peakRssKiB: number | undefined;
  /** CPU seconds in the window, its children but iperf3 included. */
  readonly cpuSeconds: number | undefined;
}

/** What one run of a row measured. */
export interface ThroughputResult {
  readonly name: string;
  /** Received goodput over the whole test, Mbit/s. */
  readonly mbitPerSecond: number;
  /** TCP retransmissions reported by the sender. */
  readonly retransmits: number;
  /** Bytes the server received in the CPU window, when there was one. */
  readonly windowBytes?: number;
  readonly tunnel: readonly TunnelFigures[];
}

/** A row over all its runs. */
export interface RowSummary {
  readonly name: string;
  /** The run with the median throughput. */
  readonly median: ThroughputResult;
  readonly runs: readonly ThroughputResult[];
}

/** The anchor row's name: the backports build on both ends. */
export const ANCHOR = `${buildTag(WIREGUARD_GO_BACKPORTS)}<->${buildTag(WIREGUARD_GO_BACKPORTS)}`;
/** The row `throughput_ratio` compares with the anchor. */
export const WGCAGE_PAIR = "wgcage<->wgcage";
/** The row `interop_ratio` compares with the anchor. */
export const INTEROP = `wgcage<->${buildTag(WIREGUARD_GO_BACKPORTS)}`;

/** Every row, in print order: the anchor first. */
export const SCENARIOS: readonly ThroughputScenario[] = [
  wireguardGoPair(WIREGUARD_GO_BACKPORTS),
  wireguardGoPair(WIREGUARD_GO_DEBIAN12),
  wgcageToWireguardGo(WIREGUARD_GO_BACKPORTS),
  wgcageToWireguardGo(WIREGUARD_GO_DEBIAN12),
  wgcagePair,
];

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

/** One interval line of `iperf3 -s -f k`: `[  5]   1.00-2.00   sec  100 MBytes  838860 Kbits/sec`. */
export interface ServerInterval {
  readonly start: number;
  readonly end: number;
  readonly kbitPerSecond: number;
}

/** Reads a server's per-second line; undefined for any other line, the summary too. */
export function parseServerInterval(line: string): ServerInterval | undefined {
  const m =
    /^\[\s*\d+\]\s+(\d+\.\d+)-(\d+\.\d+)\s+sec\s+\S+\s+\S+\s+(\d+(?:\.\d+)?)\s+Kbits\/sec\s*$/
      .exec(line);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), kbitPerSecond: Number(m[3]) };
}

/** True for a server's interval line ending at second `at` or later. */
function intervalEndingAt(at: number): (line: string) => boolean {
  return (line) => (parseServerInterval(line)?.end ?? -1) >= at - 0.005;
}

/**
 * Bytes per second the server received between second `from` and second
 * `to`, from its interval lines (weighted by their lengths).
 */
export function bytesPerSecondBetween(lines: readonly string[], from: number, to: number): number {
  let bits = 0;
  let seconds = 0;
  for (const interval of lines.map(parseServerInterval)) {
    if (!interval || interval.start < from - 0.005 || interval.end > to + 0.005) continue;
    const length = interval.end - interval.start;
    bits += interval.kbitPerSecond * 1000 * length;
    seconds += length;
  }
  if (seconds === 0) {
    throw new Error(`Cannot find the server's intervals from ${from} s to ${to} s`);
  }
  return bits / 8 / seconds;
}

const isIperf3 = (pid: number) => commOf(pid) === "iperf3";

/** Waits for a line of the server's, failing early with the client's output when it ends first. */
async function serverLine(
  server: NsProcess,
  client: NsProcess,
  match: (line: string) => boolean,
  timeoutMs: number,
): Promise<void> {
  const clientEnded = client.status.then((s) => {
    throw new Error(
      `the client exited ${s.code} before the server's interval line: ${
        (client.stderr + client.stdout).trim().slice(-500)
      }`,
    );
  });
  const line = server.waitForLine(match, timeoutMs);
  // Whichever loses the race may still fail later; that is no longer news.
  clientEnded.catch(() => {});
  line.catch(() => {});
  await Promise.race([line, clientEnded]);
}

/** Runs one scenario in its own lab and measures it. */
export async function measureScenario(
  scenario: ThroughputScenario,
  seconds: number,
  ticksPerSecond: number,
): Promise<ThroughputResult> {
  const lab = await Lab.open();
  try {
    const ends = await scenario.setup(lab);
    const timeoutMs = (seconds + 30) * 1000;
    const server = ends.spawnServer(
      ["iperf3", "-s", "-1", "--forceflush", "-f", "k", "-B", ends.serverAddress],
    );
    await server.waitForLine(/Server listening/, 10_000);
    const client = ends.spawnClient(
      ["iperf3", "-c", ends.serverAddress, "-t", String(seconds), "-J"],
    );
    const tunnel = ends.tunnel(server, client);
    const rss = tunnel.map((p) => new PeakRssSampler(p.pid));
    const meter = new TreeCpuMeter(tunnel.map((p) => p.pid), ticksPerSecond, isIperf3);
    let cpuSeconds: number[] | undefined;
    let windowBytes: number | undefined;
    try {
      // The window: from the end of the first second to the end of the
      // next-to-last one, while every process of both ends is running.
      if (seconds >= 3) {
        await serverLine(server, client, intervalEndingAt(1), timeoutMs);
        meter.start();
        const t0 = performance.now();
        await serverLine(server, client, intervalEndingAt(seconds - 1), timeoutMs);
        cpuSeconds = meter.stop();
        const windowSeconds = (performance.now() - t0) / 1000;
        windowBytes = bytesPerSecondBetween(server.lines, 1, seconds - 1) * windowSeconds;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        client.status,
        new Promise<undefined>((resolve) =>
          timer = setTimeout(() => resolve(undefined), timeoutMs)
        ),
      ]);
      clearTimeout(timer);
      if (status === undefined) throw new Error(`${scenario.name}: the client ran over time`);
    } finally {
      for (const sampler of rss) sampler.stop();
    }
    if (client.stdout.trim() === "") {
      throw new Error(`${scenario.name}: the client printed nothing: ${client.stderr.trim()}`);
    }
    return {
      name: scenario.name,
      ...parseIperfJson(client.stdout),
      windowBytes,
      tunnel: tunnel.map((p, i) => ({
        label: p.label,
        kind: p.kind,
        peakRssKiB: rss[i].peakKiB,
        cpuSeconds: cpuSeconds?.[i],
      })),
    };
  } finally {
    await lab.close();
  }
}

/**
 * CPU seconds per GB (10⁹ bytes) received of the row's `kind` processes at
 * both ends, or undefined when the run had no window.
 */
export function cpuSecondsPerGB(result: ThroughputResult, kind: TunnelKind): number | undefined {
  const of = result.tunnel.filter((p) => p.kind === kind);
  if (!result.windowBytes || of.length === 0 || of.some((p) => p.cpuSeconds === undefined)) {
    return undefined;
  }
  return of.reduce((sum, p) => sum + p.cpuSeconds!, 0) / (result.windowBytes / 1e9);
}

/** The median of some numbers (the lower middle one for an even count); undefined for none. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The row's median CPU seconds per GB of its `kind` processes over its runs. */
export function medianCpuPerGB(row: RowSummary, kind: TunnelKind): number | undefined {
  const perRun = row.runs.map((r) => cpuSecondsPerGB(r, kind));
  return perRun.includes(undefined) ? undefined : median(perRun as number[]);
}

/** The run with the median throughput (the lower middle one for an even count). */
export function medianRun(runs: readonly ThroughputResult[]): ThroughputResult {
  if (runs.length === 0) throw new RangeError("Cannot take the median of no runs");
  const sorted = [...runs].sort((x, y) => x.mbitPerSecond - y.mbitPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The row's line: `<name>: <Mbit/s> Mbit/s`, the median run's. */
export function formatResult(row: RowSummary): string {
  return `${row.name}: ${row.median.mbitPerSecond} Mbit/s`;
}

/**
 * The row's detail line: every run's figure, the median run's retransmissions,
 * CPU seconds per GB (median over runs, both ends) and each process's peak RSS
 * (highest over runs).
 */
export function formatDetails(row: RowSummary): string {
  const parts = [
    `runs ${row.runs.map((r) => r.mbitPerSecond).join(", ")}`,
    `retransmits ${row.median.retransmits}`,
  ];
  const cpu = (["wgcage", "wireguard-go"] as const)
    .map((kind) => [kind, medianCpuPerGB(row, kind)] as const)
    .filter(([, perGB]) => perGB !== undefined)
    .map(([kind, perGB]) => `${kind} ${perGB!.toFixed(2)}`);
  if (cpu.length > 0) parts.push(`CPU s/GB: ${cpu.join(", ")}`);
  const rss = row.median.tunnel.map((p, i) =>
    `${p.label} ${formatKiB(peak(row.runs.map((r) => r.tunnel[i]?.peakRssKiB)))}`
  );
  if (rss.length > 0) parts.push(`peak RSS: ${rss.join(", ")}`);
  return `  ${parts.join("; ")}`;
}

function peak(xs: readonly (number | undefined)[]): number | undefined {
  const known = xs.filter((x): x is number => x !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}

/**
 * The targets' lines, `key=value`, for the rows measured: `anchor=` when the
 * anchor row is there (with its build's version), then `throughput_ratio`,
 * `interop_ratio`, `cpu_ratio` and `rss_mib` where their rows are.
 */
export function formatTargets(rows: readonly RowSummary[], anchorVersion: string): string[] {
  const find = (name: string) => rows.find((r) => r.name === name);
  const anchor = find(ANCHOR);
  const lines: string[] = [];
  if (anchor) {
    lines.push(`anchor=wireguard-go ${anchorVersion}`);
    const ratio = (key: string, rowName: string) => {
      const row = find(rowName);
      if (row) {
        lines.push(`${key}=${(row.median.mbitPerSecond / anchor.median.mbitPerSecond).toFixed(2)}`);
      }
    };
    ratio("throughput_ratio", WGCAGE_PAIR);
    ratio("interop_ratio", INTEROP);
    const pair = find(WGCAGE_PAIR);
    const ours = pair && medianCpuPerGB(pair, "wgcage");
    const theirs = medianCpuPerGB(anchor, "wireguard-go");
    if (ours !== undefined && theirs !== undefined) {
      lines.push(`cpu_ratio=${(ours / theirs).toFixed(2)}`);
    }
  }
  const wgcage = peak(
    rows.flatMap((r) => r.runs.flatMap((run) => run.tunnel))
      .filter((p) => p.kind === "wgcage")
      .map((p) => p.peakRssKiB),
  );
  if (wgcage !== undefined) lines.push(`rss_mib=${(wgcage / 1024).toFixed(1)}`);
  return lines;
}

/**
 * Measures every scenario `runs` times, interleaved (all rows once, then
 * again) so that a change in machine load hits every row alike.
 */
export async function measureAll(
  scenarios: readonly ThroughputScenario[],
  seconds: number,
  runs: number,
): Promise<RowSummary[]> {
  const ticksPerSecond = await clockTicksPerSecond();
  const all = scenarios.map(() => [] as ThroughputResult[]);
  for (let round = 0; round < runs; round++) {
    for (const [i, scenario] of scenarios.entries()) {
      all[i].push(await measureScenario(scenario, seconds, ticksPerSecond));
    }
  }
  return all.map((rowRuns, i) => ({
    name: scenarios[i].name,
    median: medianRun(rowRuns),
    runs: rowRuns,
  }));
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string", default: "5" },
      runs: { type: "string", default: "3" },
      only: { type: "string", multiple: true },
      "from-source": { type: "boolean" },
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
  const only = values.only;
  const chosen = SCENARIOS.filter((s) => only === undefined || only.includes(s.name));
  const unknown = (only ?? []).filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0 || chosen.length === 0) {
    console.error(
      `throughput: No scenario named "${unknown.join('", "')}"; the rows are: ${
        SCENARIOS.map((s) => s.name).join(", ")
      }`,
    );
    return 2;
  }
  requireRoot("The throughput benchmark");
  for (const build of WIREGUARD_GO_BUILDS) await requireWireguardGo(build);
  await requireTool("wg", "wireguard-tools");
  await requireTool("iperf3", "iperf3");
  await requireTool("getconf", "libc-bin");

  const anchorVersion = await wireguardGoVersion(WIREGUARD_GO_BACKPORTS);
  const cores = navigator.hardwareConcurrency;
  console.log(`machine: ${cores} cores; load average at start ${loadAverage()}`);
  for (const build of WIREGUARD_GO_BUILDS) {
    console.log(
      `${buildTag(build)}: ${build.label} ${await wireguardGoVersion(build)} (${build.path})`,
    );
  }
  let installed: string | undefined;
  if (!values["from-source"] && chosen.some((s) => s.name.includes("wgcage"))) {
    const dir = await Deno.makeTempDir({ prefix: "wgc-bench-npm-" });
    const bin = await installNpmPackage(dir).catch(async (e) => {
      await Deno.remove(dir, { recursive: true });
      throw e;
    });
    installed = dir;
    runWgcageAs((args) => [bin, ...args]);
  }
  console.log(
    `wgcage: ${
      installed ? "the npm package packed from this tree, installed" : "from source (src/main.ts)"
    }`,
  );
  console.log(`iperf3, one TCP stream, ${seconds} s, MTU ${MTU}, median of ${runs}:`);
  const rows = await measureAll(chosen, seconds, runs).finally(() =>
    installed ? Deno.remove(installed, { recursive: true }) : undefined
  );
  for (const row of rows) {
    console.log(formatResult(row));
    console.log(formatDetails(row));
  }
  console.log(`load average at end ${loadAverage()}`);
  for (const line of formatTargets(rows, anchorVersion)) console.log(line);
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
