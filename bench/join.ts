/**
 * Joining a live cage: `wgcage exec NAME -- true` into a cage that `wgcage
 * up -d` holds (a wireguard-go peer on the loopback of a test namespace), run
 * one after another (median, min, max), then 50 at once (all must succeed;
 * the whole batch timed; through the npm package's bin when it is timed).
 * Anchors in the same run: `deno run` of an empty script, the floor of any
 * command that starts Deno, and `nsenter` into the keeper's namespaces
 * running `true`, a native join with none of the checks. Unless --no-npm,
 * the form users install is timed too, interleaved with the others: the npm
 * package packed (`tools/release.ts pack:npm`), installed into a prefix of
 * the run's own, and started through its bin, whose `exec` is the native
 * join (launcher/join_main/).
 *
 *     deno task bench:join [--runs 30] [--concurrent 50] [--no-npm]
 *
 * Target (issue 19): median ≤ 10 ms from the npm package (`npm_join_median_ms`). Needs root,
 * wireguard-go and wg (and npm, with the registry or npm's cache, for the npm
 * form).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Lab, requireRoot, requireTool } from "../tests/harness/netns.ts";
import { run } from "../tests/harness/process.ts";
import { loopbackPeer, wgcageArgv } from "../tests/e2e/wgcage.ts";
import { median } from "./_lib.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "30" },
    concurrent: { type: "string", default: "50" },
    "no-npm": { type: "boolean" },
  },
});
const runs = Number(args.values.runs);
const concurrent = Number(args.values.concurrent);
const withNpm = !args.values["no-npm"];

requireRoot("bench:join");
await requireTool("wireguard-go", "wireguard-go");

async function timed(argv: string[], ns: string): Promise<{ ms: number; code: number }> {
  const t0 = performance.now();
  const r = await run(argv, { ns, allowFailure: true, timeoutMs: 60_000 });
  return { ms: performance.now() - t0, code: r.code };
}

const lab = await Lab.open();
const name = `bj${Deno.pid % 10000}`;
try {
  const ns = await lab.namespace("benchjoin");
  const { config } = await loopbackPeer(lab, ns);
  const up = await run(wgcageArgv(["up", name, "-d", "--config", config]), {
    ns: ns.name,
    allowFailure: true,
  });
  if (up.code !== 0) throw new Error(`up -d failed: ${up.stderr}`);
  try {
    const empty = await Deno.makeTempFile({ suffix: ".ts" });
    lab.defer(() => Deno.remove(empty));
    const anchor: number[] = [];
    const nsenter: number[] = [];
    const record = JSON.parse(await Deno.readTextFile(`/run/wgcage/${name}.json`));
    const enter = ["nsenter", "-t", String(record.initPid), "-U", "-m", "-n", "-u", "-p", "true"];
    const joins: number[] = [];
    const npmJoins: number[] = [];
    const exec = wgcageArgv(["exec", name, "--", "true"]);
    let npmExec: string[] | undefined;
    if (withNpm) {
      const dir = await Deno.makeTempDir({ prefix: "wgc-benchjoin-" });
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      const root = new URL("../", import.meta.url).pathname;
      const version = (await import("../src/version.ts")).VERSION;
      await run(
        [Deno.execPath(), "run", "-A", `${root}tools/release.ts`, "pack:npm", "--out", dir],
        {
          timeoutMs: 120_000,
        },
      );
      await run([
        "npm",
        "install",
        "-g",
        "--prefix",
        `${dir}/npm`,
        "--no-audit",
        "--no-fund",
        `${dir}/wgcage-${version}.tgz`,
      ], { timeoutMs: 300_000 });
      npmExec = [`${dir}/npm/bin/wgcage`, "exec", name, "--", "true"];
    }
    for (let i = 0; i < 3; i++) {
      // warm caches
      await timed(exec, ns.name);
      if (npmExec) await timed(npmExec, ns.name);
    }
    for (let i = 0; i < runs; i++) {
      anchor.push((await timed([Deno.execPath(), "run", "-A", "--quiet", empty], ns.name)).ms);
      nsenter.push((await timed(enter, ns.name)).ms);
      const j = await timed(exec, ns.name);
      if (j.code !== 0) throw new Error(`exec exited ${j.code}`);
      joins.push(j.ms);
      if (npmExec) {
        const n = await timed(npmExec, ns.name);
        if (n.code !== 0) throw new Error(`exec from the npm package exited ${n.code}`);
        npmJoins.push(n.ms);
      }
    }
    const t0 = performance.now();
    const batch = await Promise.all(
      Array.from({ length: concurrent }, () => timed(npmExec ?? exec, ns.name)),
    );
    const batchMs = performance.now() - t0;
    const failed = batch.filter((b) => b.code !== 0).length;
    const f = (x: number) => x.toFixed(1);
    console.log(`deno run of an empty script (anchor): median ${f(median(anchor))} ms`);
    console.log(`nsenter into the cage, true (anchor): median ${f(median(nsenter))} ms`);
    console.log(
      `wgcage exec ${name} -- true (from source): median ${f(median(joins))} ms, ` +
        `min ${f(Math.min(...joins))}, max ${f(Math.max(...joins))} (${runs} runs)`,
    );
    if (npmJoins.length > 0) {
      console.log(
        `wgcage exec ${name} -- true (the npm package, installed): median ${
          f(median(npmJoins))
        } ms, min ${f(Math.min(...npmJoins))}, max ${f(Math.max(...npmJoins))} (${runs} runs)`,
      );
    }
    console.log(
      `${concurrent} concurrent execs (${npmExec ? "npm package" : "from source"}): ${
        concurrent - failed
      } succeeded, ${failed} failed, ` +
        `batch ${f(batchMs)} ms, slowest ${f(Math.max(...batch.map((b) => b.ms)))} ms`,
    );
    console.log(`join_median_ms=${f(median(joins))}`);
    if (npmJoins.length > 0) console.log(`npm_join_median_ms=${f(median(npmJoins))}`);
    if (failed > 0) Deno.exitCode = 1;
  } finally {
    await run(wgcageArgv(["down", name]), { ns: ns.name, allowFailure: true });
  }
} finally {
  await lab.close();
}
