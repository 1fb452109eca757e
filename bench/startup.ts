/**
 * Start-up time: `wgcage --config … -- true` against a listening wireguard-go
 * peer on the loopback of a test namespace, next to its anchors in the same
 * run: Deno's own start-up (`deno run` of an empty
 * script) and bringing up a namespace with wireguard-go (no handshake). Beside
 * the from-source form it times the installed npm form: the package packed
 * (`tools/release.ts pack:npm`) and installed into a prefix of the run's own
 * (npm, with the registry or npm's cache), started through its bin.
 *
 * The commands run in rounds, each once a round, in turn (after 3 rounds of
 * warm-up), so that a shared host whose load drifts weighs on all of them
 * alike; each figure is the median of its runs, with their standard deviation.
 *
 *     deno task bench:startup [--runs 20] [--no-npm]
 *
 * The last lines are `key=value`: `source_startup_ms` from source, and
 * `startup_ms`, the form users run: the installed npm package (from source
 * with --no-npm). The load average before and after the runs is printed too
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
import { loadAverage } from "./_lib.ts";
import { installNpmPackage } from "./_npm_package.ts";

const args = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "20" }, "no-npm": { type: "boolean" } },
});
const runs = Number(args.values.runs);
const withNpm = !args.values["no-npm"];

requireRoot("bench:startup");
await requireTool("wireguard-go", "wireguard-go");
await requireTool("wg", "wireguard-tools");

/** Wall time of one run of `argv` in ms; throws when it fails. */
async function timeOne(argv: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

interface Timing {
  median: number;
  stddev: number;
}

function timing(xs: readonly number[]): Timing {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const stddev = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { median, stddev };
}

const lab = await Lab.open();
try {
  const ns = await lab.namespace("startup");
  const { config } = await loopbackPeer(lab, ns);
  const dir = await lab.tempDir();
  const empty = `${dir}/empty.ts`;
  await Deno.writeTextFile(empty, "");
  // The anchor: a namespace with wireguard-go up, no handshake.
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
      "ip -n $n link set wgb0 up",
      "kill $pid; wait $pid 2>/dev/null || true",
      "ip netns del $n",
    ].join("\n"),
  );
  const commands: string[][] = [
    [Deno.execPath(), "run", "-A", "--quiet", empty],
    ["sh", bringUp],
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
  const [deno, anchor, source, npm] = results;
  console.log(`deno run (empty script): median ${ms(deno.median)} ms`);
  console.log(`netns + wireguard-go bring-up (anchor): median ${ms(anchor.median)} ms`);
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
} finally {
  await lab.close();
}
