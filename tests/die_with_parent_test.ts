/**
 * wgcage ends when the process that started it ends, and the cage with it:
 *
 * - by default under the npm package's `wgcage` command, started the way npm
 *   starts a bin (a Node process that runs `sh -c "'wgcage' …"` with
 *   npm_lifecycle_event set, from the package as `pack:npm` packs it), when
 *   that Node process is killed with SIGKILL (its shell stays) or with
 *   SIGTERM, which npm passes on to the shell;
 * - with `--die-with-parent`, run from source, when its parent shell is
 *   killed.
 *
 * In each case no wgcage and no caged command remain; with the default
 * turned off (WGCAGE_DIE_WITH_PARENT=0) or without the flag, both remain,
 * as before (the test kills them then).
 *
 * The cage's config has no peer that answers (`--handshake-timeout 0`); its
 * traffic goes to 127.0.0.1 of a namespace the test makes. Needs root and
 * node.
 *
 * @module
 */

import { Lab, type Namespace, requireRoot, requireTool } from "./harness/netns.ts";
import { run } from "./harness/process.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { MAIN, wgQuick, writeConfig } from "./e2e/wgcage.ts";
import { VERSION } from "../src/version.ts";
import { cageName } from "./harness/names.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Which processes a check looks for, by their arguments. */
type Match = (argv: string[]) => boolean;

/** Pids of the processes whose arguments `match`. */
async function pidsOf(match: Match): Promise<number[]> {
  const pids = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      const argv = (await Deno.readTextFile(`/proc/${e.name}/cmdline`)).split("\0");
      if (match(argv.slice(0, -1))) pids.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Waits until `check` holds, up to `ms`; returns whether it did. */
async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return await check();
}

/** A config whose peer is 127.0.0.1:9 (discard: nobody answers). */
async function silentPeerConfig(lab: Lab): Promise<string> {
  const own = await generateKeyPair();
  const peer = await generateKeyPair();
  return await writeConfig(
    lab,
    wgQuick({ privateKey: own.privateKey, addresses: ["10.98.0.2/24"], dns: ["10.98.0.1"] }, [{
      publicKey: peer.publicKey,
      allowedIps: ["10.98.0.0/24"],
      endpoint: "127.0.0.1:9",
    }]),
  );
}

/** A caged command that can be told apart from every other process, and how to find it. */
function cagedSleep(): { argv: string[]; match: Match } {
  const argv = ["sleep", String(1_000_000 + Math.floor(Math.random() * 8_999_999))];
  return { argv, match: (a) => a.length === 2 && a[0] === argv[0] && a[1] === argv[1] };
}

/**
 * npm's way of running a package's bin, in small: Node spawns
 * `sh -c "'wgcage' ARGS"` with the bin directory on PATH, passes SIGTERM on
 * to that shell (npm's run-script does) and exits with it. It prints the
 * shell's pid.
 */
const NPM_LIKE = `
const { spawn } = require("node:child_process");
const quoted = process.argv.slice(2).map((a) => "'" + a + "'").join(" ");
const child = spawn("sh", ["-c", quoted], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, npm_lifecycle_event: "npx" },
});
console.log(child.pid);
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? 128));
`;

/** The npm package as npm lays it out in a project: node_modules/{wgcage,deno,.bin}. */
async function installedPackage(dir: string): Promise<string> {
  await run([Deno.execPath(), "run", "-A", `${ROOT}tools/release.ts`, "pack:npm", "--out", dir], {
    timeoutMs: 120_000,
  });
  const modules = `${dir}/node_modules`;
  await Deno.mkdir(`${modules}/wgcage`, { recursive: true });
  await run([
    "tar",
    "-xzf",
    `${dir}/wgcage-${VERSION}.tgz`,
    "-C",
    `${modules}/wgcage`,
    "--strip-components=1",
  ]);
  // The runtime the `deno` dependency would bring: this one, the same version.
  await Deno.mkdir(`${modules}/deno`);
  await Deno.symlink(Deno.execPath(), `${modules}/deno/deno`);
  await Deno.mkdir(`${modules}/.bin`);
  await Deno.symlink("../wgcage/bin/wgcage", `${modules}/.bin/wgcage`);
  return modules;
}

interface Started {
  /** The process the test started (Node, or the shell). */
  readonly top: Deno.ChildProcess;
  /** wgcage's parent shell. */
  readonly shell: number;
  /** wgcage itself and the caged command. */
  readonly wgcage: number[];
  readonly caged: number[];
}

/** The argv that runs wgcage `args` from source. */
function fromSource(args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--quiet", MAIN, ...args];
}

/**
 * Starts `argv` under a shell that stays its parent (`; exit` keeps the shell:
 * no exec of its last command) and prints its PID first, as {@linkcode start}.
 */
function startUnderShell(
  ns: Namespace,
  argv: string[],
  isWgcage: Match,
  isCaged: Match,
): Promise<Started> {
  return start(
    ns,
    ["sh", "-c", 'echo $$; "$0" "$@"; exit $?', ...argv],
    { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    isWgcage,
    isCaged,
  );
}

/** Starts `argv` in `ns`, waits for wgcage and the caged command, each found by its `Match`. */
async function start(
  ns: Namespace,
  argv: string[],
  env: Record<string, string>,
  isWgcage: Match,
  isCaged: Match,
): Promise<Started> {
  const top = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns.name,
      "env",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...argv,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = top.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  while (!printed.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += value;
  }
  reader.releaseLock();
  top.stdout.cancel().catch(() => {});
  const shell = Number(printed.trim());
  assert(shell > 0, `no shell pid printed: '${printed}'`);
  const up = await waitFor(async () => (await pidsOf(isCaged)).length > 0, 30_000);
  assert(up, "the caged command did not start in 30 s");
  return { top, shell, wgcage: await pidsOf(isWgcage), caged: await pidsOf(isCaged) };
}

/** Waits up to 5 s for no process to match either; returns what still matches. */
async function survivors(isWgcage: Match, isCaged: Match) {
  await waitFor(
    async () => (await pidsOf(isWgcage)).length + (await pidsOf(isCaged)).length === 0,
    5_000,
  );
  return { wgcage: await pidsOf(isWgcage), caged: await pidsOf(isCaged) };
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/**
 * Runs `body` as root with a fresh lab. Whatever happens, the PIDs it put in
 * `leftovers` are killed, then `cleanup` runs, then the lab closes.
 */
async function inLab(
  body: (lab: Lab, leftovers: number[]) => Promise<void>,
  cleanup: () => Promise<void> = async () => {},
): Promise<void> {
  requireRoot("The die-with-parent test");
  const lab = await Lab.open();
  const leftovers: number[] = [];
  try {
    await body(lab, leftovers);
  } finally {
    killAll(leftovers);
    await cleanup();
    await lab.close();
  }
}

Deno.test({
  name:
    "the npm package's wgcage ends, and its cage with it, when npm is killed with SIGKILL or SIGTERM",
  sanitizeResources: false,
  fn: () =>
    inLab(async (lab, leftovers) => {
      await requireTool("node", "nodejs");
      const dir = await Deno.makeTempDir({ prefix: "wgc-dwp-" });
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      const modules = await installedPackage(dir);
      await Deno.writeTextFile(`${dir}/npm_like.cjs`, NPM_LIKE);
      const ns = await lab.namespace("dwp");
      const config = await silentPeerConfig(lab);
      // Deno running the package's module, exec'd by its bin script.
      const isWgcage: Match = (a) => a.includes(`${modules}/wgcage/wgcage.js`);

      const cases: [string, Deno.Signal | undefined, string | undefined][] = [
        ["SIGKILL", "SIGKILL", undefined],
        ["SIGTERM", "SIGTERM", undefined],
        ["SIGKILL with WGCAGE_DIE_WITH_PARENT=0", "SIGKILL", "0"],
      ];
      for (const [what, signal, setting] of cases) {
        const caged = cagedSleep();
        const env: Record<string, string> = {
          PATH: `${modules}/.bin:${Deno.env.get("PATH")}`,
          HOME: Deno.env.get("HOME") ?? "/root",
        };
        if (setting !== undefined) env.WGCAGE_DIE_WITH_PARENT = setting;
        const s = await start(
          ns,
          [
            "node",
            `${dir}/npm_like.cjs`,
            "wgcage",
            "--config",
            config,
            "--handshake-timeout",
            "0",
            "--",
            ...caged.argv,
          ],
          env,
          isWgcage,
          caged.match,
        );
        leftovers.push(s.shell, ...s.wgcage, ...s.caged);
        assert(s.wgcage.length === 1, `${what}: wgcage processes: ${s.wgcage}`);
        s.top.kill(signal);
        await s.top.status;
        const left = await survivors(isWgcage, caged.match);
        if (setting === "0") {
          // The control: nothing ends wgcage, so the check can fail.
          assert(left.wgcage.length === 1, `${what}: wgcage ended without the default`);
          killAll([s.shell, ...s.wgcage]);
          const after = await survivors(isWgcage, caged.match);
          assert(after.caged.length === 0, `${what}: the cage outlived wgcage`);
        } else {
          assert(
            left.wgcage.length === 0 && left.caged.length === 0,
            `${what}: left wgcage ${left.wgcage} and the caged command ${left.caged}`,
          );
        }
        killAll([s.shell]);
      }
    }),
});

Deno.test({
  name: "--die-with-parent ends wgcage and its cage when the shell that started it is killed",
  sanitizeResources: false,
  fn: () =>
    inLab(async (lab, leftovers) => {
      const ns = await lab.namespace("dwp");
      const config = await silentPeerConfig(lab);
      for (const flag of [true, false]) {
        const caged = cagedSleep();
        const args = [
          ...(flag ? ["--die-with-parent"] : []),
          "--config",
          config,
          "--handshake-timeout",
          "0",
          "--",
          ...caged.argv,
        ];
        // The shell is wgcage's parent.
        const argv = fromSource(args);
        // Deno running wgcage from source with this config (not the shell, whose
        // arguments hold the same words after "sh -c SCRIPT").
        const isWgcage: Match = (a) => a[0] === argv[0] && a.includes(config);
        const s = await startUnderShell(ns, argv, isWgcage, caged.match);
        leftovers.push(...s.wgcage, ...s.caged);
        assert(s.wgcage.length === 1, `wgcage processes: ${s.wgcage}`);
        s.top.kill("SIGKILL");
        await s.top.status;
        const left = await survivors(isWgcage, caged.match);
        const gone = left.wgcage.length === 0 && left.caged.length === 0;
        assert(
          gone === flag,
          flag ? `left ${JSON.stringify(left)}` : "wgcage ended without the flag",
        );
        killAll(s.wgcage);
        if (!flag) {
          const after = await survivors(isWgcage, caged.match);
          assert(after.caged.length === 0, "the cage outlived wgcage");
        }
      }
    }),
});

/** Whether the live cage `name` (root's) still has its record and keeper. */
async function liveCageListed(ns: Namespace, name: string): Promise<boolean> {
  const r = await run(fromSource(["ls", "--json"]), {
    ns: ns.name,
  });
  return r.stdout.includes(`"${name}"`);
}

Deno.test({
  name:
    "the npm package's 'wgcage exec' and foreground 'wgcage up' end, with their commands, when npm is killed with SIGTERM",
  sanitizeResources: false,
  fn: () => {
    const names: string[] = [];
    const wgcageFromSource = (args: string[]) =>
      run(fromSource(args), {
        ns: ns?.name,
        allowFailure: true,
        timeoutMs: 60_000,
      });
    let ns!: Namespace;
    return inLab(async (lab, leftovers) => {
      await requireTool("node", "nodejs");
      const dir = await Deno.makeTempDir({ prefix: "wgc-dwp-" });
      lab.defer(() => Deno.remove(dir, { recursive: true }));
      const modules = await installedPackage(dir);
      await Deno.writeTextFile(`${dir}/npm_like.cjs`, NPM_LIKE);
      ns = await lab.namespace("dwp");
      const config = await silentPeerConfig(lab);
      const env = {
        PATH: `${modules}/.bin:${Deno.env.get("PATH")}`,
        HOME: Deno.env.get("HOME") ?? "/root",
      };
      const npmLike = ["node", `${dir}/npm_like.cjs`, "wgcage"];

      // exec into a cage that a detached up (from source) holds.
      const held = cageName("dwe");
      names.push(held);
      const up = await wgcageFromSource([
        "up",
        held,
        "-d",
        "--config",
        config,
        "--handshake-timeout",
        "0",
      ]);
      assert(up.code === 0, `up -d: ${up.code} ${up.stderr}`);
      const caged = cagedSleep();
      const isExec: Match = (a) =>
        a.includes(`${modules}/wgcage/wgcage.js`) && a.includes("exec") && a.includes(held);
      const e = await start(
        ns,
        [...npmLike, "exec", held, "--", ...caged.argv],
        env,
        isExec,
        caged.match,
      );
      leftovers.push(e.shell, ...e.wgcage, ...e.caged);
      assert(e.wgcage.length === 1, `exec: wgcage processes: ${e.wgcage}`);
      e.top.kill("SIGTERM");
      await e.top.status;
      const leftExec = await survivors(isExec, caged.match);
      assert(
        leftExec.wgcage.length === 0 && leftExec.caged.length === 0,
        `exec: left wgcage ${leftExec.wgcage} and the joined command ${leftExec.caged}`,
      );
      assert(await liveCageListed(ns, held), "exec's end took the cage with it");

      // A foreground up: its keeper is wgcage itself.
      const fg = cageName("dwu");
      names.push(fg);
      const isUp: Match = (a) =>
        a.includes(`${modules}/wgcage/wgcage.js`) && a.includes("up") && a.includes(fg);
      const u = await start(
        ns,
        [...npmLike, "up", fg, "--config", config, "--handshake-timeout", "0"],
        env,
        isUp,
        isUp,
      );
      leftovers.push(u.shell, ...u.wgcage);
      assert(
        await waitFor(() => liveCageListed(ns, fg), 30_000),
        "the foreground up's cage was not listed in 30 s",
      );
      u.top.kill("SIGTERM");
      await u.top.status;
      const leftUp = await survivors(isUp, isUp);
      assert(leftUp.wgcage.length === 0, `up: left wgcage ${leftUp.wgcage}`);
      assert(!(await liveCageListed(ns, fg)), "up: its cage is still listed");
    }, async () => {
      for (const name of names) await wgcageFromSource(["down", name]).catch(() => {});
    });
  },
});

Deno.test({
  name: "a foreground 'up --die-with-parent' ends, and its cage with it, when its parent is killed",
  sanitizeResources: false,
  fn: () => {
    const names: string[] = [];
    let ns!: Namespace;
    return inLab(async (lab, leftovers) => {
      ns = await lab.namespace("dwp");
      const config = await silentPeerConfig(lab);
      for (const flag of [true, false]) {
        const name = cageName("dwf");
        names.push(name);
        const argv = fromSource([
          "up",
          name,
          "--config",
          config,
          "--handshake-timeout",
          "0",
          ...(flag ? ["--die-with-parent"] : []),
        ]);
        const isUp: Match = (a) => a[0] === argv[0] && a.includes(name);
        const s = await startUnderShell(ns, argv, isUp, isUp);
        leftovers.push(...s.wgcage);
        assert(await waitFor(() => liveCageListed(ns, name), 30_000), "no cage listed in 30 s");
        s.top.kill("SIGKILL");
        await s.top.status;
        const left = await survivors(isUp, isUp);
        assert(
          (left.wgcage.length === 0) === flag,
          flag ? `left ${JSON.stringify(left)}` : "wgcage up ended without the flag",
        );
        assert((await liveCageListed(ns, name)) === !flag, `the cage's listing (flag ${flag})`);
        killAll(s.wgcage);
      }
    }, async () => {
      for (const name of names) {
        await run(fromSource(["down", name]), {
          ns: ns?.name,
          allowFailure: true,
        }).catch(() => {});
      }
    });
  },
});
