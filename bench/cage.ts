/**
 * Cage set-up time, without WireGuard: how long from nothing to the command
 * running in its cage (user, net, mount, PID and UTS namespaces, TUN and
 * netlink fds, lo and the TUN brought up, /etc binds, /proc), against
 * `unshare -Urn true` as the anchor, in one hyperfine run.
 *
 *     deno task bench:cage
 *
 * Rows (hyperfine, process start to exit):
 *   - `unshare -Urn true`                 the anchor
 *   - `deno … bench/cage.ts --once`       Deno start-up and module load only
 *   - `deno … bench/cage.ts --once true`  the same plus a cage running `true`
 * and, measured inside one process, clone → command exec'd (Cage.open,
 * configureLinks, start) over many cages.
 *
 * The last line is `cage_setup_ratio=<cage set-up / anchor>`, where cage
 * set-up is the cage row's median minus the Deno-only row's median.
 *
 * @module
 */

import { Cage } from "../src/cage/mod.ts";
import { configureLinks } from "../src/netlink/configure.ts";
import { median } from "./_lib.ts";

const ETC = {
  resolvConf: "nameserver 10.7.0.53\n",
  hosts: "127.0.0.1 localhost\n::1 localhost\n",
  nsswitchConf: "hosts: files dns\n",
};

/** One cage running argv, as wgcage will set it up; returns its status. */
async function runOnce(argv: string[]): Promise<number> {
  const cage = await Cage.open({ argv, tunName: "wg0", mapRoot: false, etcFiles: ETC });
  try {
    configureLinks(cage.netlink(), { tunName: "wg0", mtu: 1420, addresses: [], routes: [] });
    await cage.start();
    return await cage.wait();
  } finally {
    await cage.close();
  }
}

/** Median of clone → command exec'd, in ms, over `n` cages in this process. */
async function inProcessSetup(n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    const t0 = performance.now();
    const cage = await Cage.open({ argv: ["true"], tunName: "wg0", mapRoot: false, etcFiles: ETC });
    try {
      configureLinks(cage.netlink(), { tunName: "wg0", mtu: 1420, addresses: [], routes: [] });
      await cage.start();
      if (i >= 3) times.push(performance.now() - t0); // 3 warm-ups
      await cage.wait();
    } finally {
      await cage.close();
    }
  }
  return median(times);
}

interface HyperfineResult {
  command: string;
  median: number;
}

async function hyperfine(commands: string[]): Promise<HyperfineResult[]> {
  const json = await Deno.makeTempFile({ prefix: "wgcage-bench-", suffix: ".json" });
  try {
    const run = await new Deno.Command("hyperfine", {
      args: ["-N", "--warmup", "3", "--runs", "30", "--export-json", json, ...commands],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!run.success) {
      throw new Error("hyperfine failed; is it installed (apt-get install hyperfine)?");
    }
    const parsed = JSON.parse(await Deno.readTextFile(json)) as { results: HyperfineResult[] };
    return parsed.results;
  } finally {
    await Deno.remove(json).catch(() => {});
  }
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "--once") return args.length > 1 ? await runOnce(args.slice(1)) : 0;

  const self = new URL(import.meta.url).pathname;
  const deno = `${Deno.execPath()} run -A --quiet ${self} --once`;
  const [anchor, denoOnly, cage] = await hyperfine([
    "unshare -Urn true",
    deno,
    `${deno} true`,
  ]);
  const ms = (s: number) => (s * 1000).toFixed(2);
  const setup = (cage.median - denoOnly.median) * 1000;
  const inside = await inProcessSetup(30);
  console.log(`unshare -Urn true (anchor):         median ${ms(anchor.median)} ms`);
  console.log(`deno start-up only:                 median ${ms(denoOnly.median)} ms`);
  console.log(`deno + cage running true:           median ${ms(cage.median)} ms`);
  console.log(`cage set-up (difference):           median ${setup.toFixed(2)} ms`);
  console.log(`cage clone -> exec, in-process:     median ${inside.toFixed(2)} ms`);
  console.log(`cage_setup_ratio=${(setup / (anchor.median * 1000)).toFixed(2)}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
