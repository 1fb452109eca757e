/**
 * Start-up time: `wgcage --config … -- true` against a listening wireguard-go
 * peer on the loopback of a test namespace, next to its anchors in the same
 * run: Deno's own start-up (`deno run` of an empty script) and the anchor, a
 * shell script that brings up what a run needs with the usual tools: `ip netns
 * add`, wireguard-go in it, `wg set` with the key and the peer, the address
 * and the link up, then all of it removed (no handshake). wgcage runs in the
 * peer's namespace (`ip netns exec`, ~2–3 ms), and so does the anchor's
 * script, so that the wrapper weighs on both alike. Beside
 * the from-source form it times the installed npm form: the package packed
 * (`tools/release.ts pack:npm`) and installed into a prefix of the run's own
 * (npm, with the registry or npm's cache), started through its bin.
 *
 * The commands run in rounds, each once a round, in turn (after 3 rounds of
 * warm-up), so that a shared host whose load drifts weighs on all of them
 * alike; each figure is the median of its runs, with their standard deviation.
 *
 *     deno task bench:startup [--runs 20] [--no-npm] [-v] [--idle 0.4]
 *
 * The last lines are `key=value`: `source_startup_ms` from source,
 * `startup_ms`, the form users run: the installed npm package (from source
 * with --no-npm), and `startup_ratio`, that form's median over the anchor's.
 * `-v` then runs that form `--runs` more times with its own `-v` and prints
 * the median of each phase of its start-up breakdown (src/startup_breakdown.ts):
 * where the time goes. `--idle F` starts each round (and each -v run) only
 * once the host's CPUs were idle at least that fraction of 0.4 s (waiting at
 * most 30 s): on a shared machine whose load comes in bursts, the figures
 * then describe the rounds that ran between them, anchor and wgcage alike;
 * how often it waited is printed. Every command runs with a DENO_DIR of the
 * run's own (made warm by the warm-up rounds), as a user's is: not the shared
 * one that every other Deno process on a busy host writes. The load average before and after the runs is printed too
 * (other work on a small machine moves every figure). From source, `deno task
 * bench:startup` runs build.ts first, so wgcage starts from its bundle (see
 * src/main.ts). Needs root (namespaces, /dev/net/tun), wireguard-go and wg.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Lab, requireRoot, requireTool } from "../tests/harness/netns.ts";
import { run } from "../tests/harness/process.ts";
import { loopbackPeer, wgcageArgv } from "../tests/e2e/wgcage.ts";
import { generateKeyPair } from "../tests/harness/keys.ts";
import { loadAverage, median } from "./_lib.ts";
import { installNpmPackage } from "./_npm_package.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "20" },
    "no-npm": { type: "boolean" },
    verbose: { type: "boolean", short: "v" },
    idle: { type: "string" },
  },
});
const runs = Number(args.values.runs);
const withNpm = !args.values["no-npm"];
const idle = args.values.idle === undefined ? undefined : Number(args.values.idle);
if (idle !== undefined && !(idle > 0 && idle < 1)) {
  throw new Error(`--idle ${args.values.idle}: give a fraction between 0 and 1, e.g. 0.4`);
}

requireRoot("bench:startup");
await requireTool("wireguard-go", "wireguard-go");
await requireTool("wg", "wireguard-tools");

/**
 * Deno's caches (the code cache of wgcage's module among them) for every
 * command timed: a directory of this run's own, set once the lab is open.
 * The default one is shared with every other Deno process of the user, and
 * on a machine where others run tests it is being written all the time.
 */
const env: Record<string, string> = {};

/** Wall time of one run of `argv` in ms; throws when it fails. */
async function timeOne(argv: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "piped",
    env,
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

/** One phase of a `-v` breakdown: its duration and its span, ms from the process's start. */
interface PhaseTimes {
  took: number;
  from: number;
  to: number;
}

/** The `start-up: PHASE: D ms (A–B…)` lines of a `wgcage -v` run, by phase, in order. */
function parseBreakdown(stderr: string): Map<string, PhaseTimes> {
  const phases = new Map<string, PhaseTimes>();
  for (const m of stderr.matchAll(/start-up: ([^:\n]+): ([\d.]+) ms \(([\d.]+)–([\d.]+)/g)) {
    phases.set(m[1], { took: Number(m[2]), from: Number(m[3]), to: Number(m[4]) });
  }
  return phases;
}

/** Runs `argv` with `-v` after its program; the breakdown it printed. */
async function breakdownOf(argv: readonly string[]): Promise<Map<string, PhaseTimes>> {
  const at = argv.indexOf("--config");
  const verbose = [...argv.slice(0, at), "-v", ...argv.slice(at)];
  const out = await new Deno.Command(verbose[0], {
    args: verbose.slice(1),
    stdout: "null",
    stderr: "piped",
    env,
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${verbose.join(" ")} failed: ${stderr}`);
  const phases = parseBreakdown(stderr);
  if (phases.size === 0) throw new Error(`no start-up breakdown in: ${stderr}`);
  return phases;
}

/** The host's CPU time so far, idle and in all (jiffies, /proc/stat's first line). */
function cpuTimes(): { idle: number; total: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
}

let idleWaits = 0;

/** With --idle: returns once the CPUs were idle that fraction of 0.4 s (at most 30 s). */
async function untilIdle(): Promise<void> {
  if (idle === undefined) return;
  const giveUp = performance.now() + 30_000;
  while (performance.now() < giveUp) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 400));
    const b = cpuTimes();
    if ((b.idle - a.idle) / Math.max(1, b.total - a.total) >= idle) return;
    idleWaits++;
  }
}

interface Timing {
  median: number;
  stddev: number;
}

function timing(xs: readonly number[]): Timing {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const stddev = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { median: median(xs), stddev };
}

const lab = await Lab.open();
try {
  const ns = await lab.namespace("startup");
  const { config, peer } = await loopbackPeer(lab, ns);
  const dir = await lab.tempDir();
  env.DENO_DIR = await lab.tempDir();
  const anchorKey = `${dir}/anchor.key`;
  await Deno.writeTextFile(anchorKey, (await generateKeyPair()).privateKey + "\n", { mode: 0o600 });
  const empty = `${dir}/empty.ts`;
  await Deno.writeTextFile(empty, "");
  // The anchor: what a shell script does to bring up the same tunnel with
  // wireguard-go (the peer and its endpoint set, no handshake), and undo it.
  const bringUp = `${dir}/bring-up.sh`;
  await Deno.writeTextFile(
    bringUp,
    [
      "set -e",
      "n=wgcb$$",
      "ip netns add $n",
      "ip netns exec $n wireguard-go -f wgb0 >/dev/null 2>&1 &",
      "pid=$!",
      "until ip netns exec $n ip link show wgb0 >/dev/null 2>&1; do sleep 0.001; done",
      `ip netns exec $n wg set wgb0 private-key ${anchorKey} peer ${peer.keys.publicKey} ` +
      "allowed-ips 10.99.0.0/24 endpoint 127.0.0.1:51820",
      "ip -n $n address add 10.99.0.2/24 dev wgb0",
      "ip -n $n link set wgb0 up",
      "kill $pid; wait $pid 2>/dev/null || true",
      "ip netns del $n",
    ].join("\n"),
  );
  const commands: string[][] = [
    [Deno.execPath(), "run", "-A", "--quiet", empty],
    // Through the same `ip netns exec` as wgcage, which needs it to reach its
    // peer on the lab namespace's loopback: neither side pays it alone.
    ["ip", "netns", "exec", ns.name, "sh", bringUp],
    ["ip", "netns", "exec", ns.name, ...wgcageArgv(["--config", config, "--", "true"])],
  ];
  // Warm Deno's module cache first, so the runs measure start-up, not transpiling.
  await run(["ip", "netns", "exec", ns.name, ...wgcageArgv(["--config", config, "--", "true"])]);
  if (withNpm) {
    const npmArgv = [
      "ip",
      "netns",
      "exec",
      ns.name,
      await installNpmPackage(dir),
      "--config",
      config,
      "--",
      "true",
    ];
    await run(npmArgv);
    commands.push(npmArgv);
  }
  const loadBefore = loadAverage();
  const times: number[][] = commands.map(() => []);
  for (let round = -3; round < runs; round++) {
    if (round >= 0) await untilIdle();
    // Each round starts with the next command, so none always runs first.
    for (let k = 0; k < commands.length; k++) {
      const i = (k + Math.max(round, 0)) % commands.length;
      const ms = await timeOne(commands[i]);
      if (round >= 0) times[i].push(ms);
    }
  }
  const results = times.map(timing);
  const ms = (x: number) => x.toFixed(1);
  console.log(`load average: ${loadBefore} before the runs, ${loadAverage()} after`);
  if (idle !== undefined) {
    console.log(`--idle ${idle}: waited ${idleWaits} times 0.4 s for a quieter host`);
  }
  const [deno, anchor, source, npm] = results;
  console.log(`deno run (empty script): median ${ms(deno.median)} ms`);
  console.log(
    `anchor (ip netns + wireguard-go + wg set + address and link up, no handshake; in the peer's namespace as wgcage is): ` +
      `median ${ms(anchor.median)} ms`,
  );
  console.log(
    `wgcage from source (deno run -A src/main.ts --config … -- true, handshake with ` +
      `wireguard-go on loopback): median ${ms(source.median)} ms ± ${ms(source.stddev)}`,
  );
  if (npm) {
    console.log(
      `wgcage as installed from the npm package (same command): median ${ms(npm.median)} ms ± ${
        ms(npm.stddev)
      }`,
    );
  }
  // The headline is the form users run: the installed package (from source without it).
  const wgcage = npm ?? source;
  console.log(`source_startup_ms=${ms(source.median)}`);
  console.log(`startup_ratio=${(wgcage.median / anchor.median).toFixed(2)} (wgcage / anchor)`);
  console.log(`startup_ms=${ms(wgcage.median)}${npm ? "" : " (from source: --no-npm)"}`);
  if (args.values.verbose) {
    // The form users run, with -v: where its start-up goes, phase by phase.
    const runsOf = new Map<string, PhaseTimes[]>();
    for (let i = 0; i < runs; i++) {
      await untilIdle();
      for (const [phase, t] of await breakdownOf(commands[npm ? 3 : 2])) {
        runsOf.set(phase, [...runsOf.get(phase) ?? [], t]);
      }
    }
    console.log(
      `start-up breakdown of ${npm ? "the npm package" : "wgcage from source"} ` +
        `(wgcage -v, median of ${runs} runs; ms from the process's start; ` +
        `phases overlap where the run overlaps them):`,
    );
    for (const [phase, ts] of runsOf) {
      const took = median(ts.map((t) => t.took));
      const from = median(ts.map((t) => t.from));
      const to = median(ts.map((t) => t.to));
      console.log(`  ${phase}: ${ms(took)} ms (${ms(from)}–${ms(to)})`);
    }
    console.log(`load average after the breakdown runs: ${loadAverage()}`);
  }
} finally {
  await lab.close();
}
