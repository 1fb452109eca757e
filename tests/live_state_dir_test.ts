/**
 * Live cages without $XDG_RUNTIME_DIR (su, cron, `sudo -u`, containers):
 * they are kept in /tmp/wgcage-UID, which `ls` names and the system `wg`
 * finds (`wgcage wg`, which says so when `unshare` is missing), and a /tmp/wgcage-UID
 * that another user made (or a symlink) is refused in one line, never used.
 * Runs as a throwaway user (its own uid, so its /tmp/wgcage-UID is the
 * test's alone), with an empty environment.
 *
 * Needs root (namespaces, useradd, a private TUN node), wireguard-go and wg.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run, type RunResult } from "./harness/process.ts";
import { livePeer } from "./harness/live.ts";
import { privateTunNode, rootlessArgv, wgcageArgv } from "./e2e/wgcage.ts";
import { makeTestUser } from "./cage/test_user.ts";
import { assert } from "./cage/assert.ts";

Deno.test("live cage without XDG_RUNTIME_DIR: kept in /tmp/wgcage-UID (0700, the user's), named by ls; a squatted or linked one is refused in one line", async () => {
  requireRoot("The state directory test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  const lab = await Lab.open();
  const user = await makeTestUser();
  const dir = `/tmp/wgcage-${user.uid}`;
  const clean = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    await clean();
    const { ns, config } = await livePeer(lab, "livexdg", user.uid, "10.89.0");
    const tunDir = await privateTunNode(lab, 0o666);
    const denoDir = await Deno.makeTempDir({ prefix: "wgc-denodir-" });
    lab.defer(() => Deno.remove(denoDir, { recursive: true }));
    await Deno.chown(denoDir, user.uid, user.gid);
    // No XDG_RUNTIME_DIR: the environment of su, cron or `sudo -u`.
    const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: "/tmp", DENO_DIR: denoDir };
    const as = (args: string[]): Promise<RunResult> =>
      run(rootlessArgv(tunDir, env, wgcageArgv(args), { uid: user.uid, clearEnv: true }), {
        ns: ns.name,
        allowFailure: true,
        timeoutMs: 60_000,
      });
    const name = cageName("lx");

    const up = await as(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d without XDG_RUNTIME_DIR: ${up.code} ${up.stderr}`);
    try {
      const st = await Deno.lstat(dir);
      assert(st.isDirectory && st.uid === user.uid, `${dir}: ${JSON.stringify(st)}`);
      assert(((st.mode ?? 0) & 0o777) === 0o700, `${dir} mode ${(st.mode ?? 0).toString(8)}`);
      const ls = await as(["ls"]);
      assert(ls.code === 0 && ls.stdout.includes(name), `ls: ${ls.code} ${ls.stdout} ${ls.stderr}`);
      assert(ls.stdout.includes(`(kept in ${dir})`), `ls does not say where: ${ls.stdout}`);
      // The system wg, rootless through unshare, finds the cage there too.
      const show = await as(["wg", name, "show"]);
      assert(
        show.code === 0 && show.stdout.includes(`interface: ${name}`),
        `wg show: ${show.stderr}`,
      );
      // A PATH with wg but without unshare: one line naming it, 125.
      const onlyWg = await Deno.makeTempDir({ prefix: "wgc-path-" });
      lab.defer(() => Deno.remove(onlyWg, { recursive: true }));
      await Deno.chmod(onlyWg, 0o755);
      await Deno.symlink((await run(["sh", "-c", "command -v wg"])).stdout.trim(), `${onlyWg}/wg`);
      const noUnshare = await run(
        rootlessArgv(tunDir, { ...env, PATH: onlyWg }, wgcageArgv(["wg", name, "show"]), {
          uid: user.uid,
          clearEnv: true,
        }),
        { ns: ns.name, allowFailure: true },
      );
      assert(noUnshare.code === 125, `wg without unshare: ${noUnshare.code} ${noUnshare.stderr}`);
      assert(
        noUnshare.stderr.trim().split("\n").length === 1 &&
          noUnshare.stderr.includes("needs the system 'unshare'"),
        `wg without unshare: ${noUnshare.stderr}`,
      );
      const inside = await as(["exec", name, "--", "sh", "-c", "id -u"]);
      assert(inside.code === 0, `exec: ${inside.code} ${inside.stderr}`);
      assert(inside.stdout.trim() === String(user.uid), `exec: ${inside.stdout}`);
    } finally {
      const down = await as(["down", name]);
      assert(down.code === 0, `down: ${down.stderr}`);
    }
    const empty = await as(["ls"]);
    assert(empty.stdout.includes(`no live cages (kept in ${dir})`), `ls: ${empty.stdout}`);

    // Made first by someone else (root here, mode 0700), or a symlink to a
    // directory of the user's: refused, by up and by ls, in one line.
    const theirs = await Deno.makeTempDir({ prefix: "wgc-theirs-" });
    lab.defer(() => Deno.remove(theirs, { recursive: true }));
    await Deno.chown(theirs, user.uid, user.gid);
    await Deno.chmod(theirs, 0o700);
    for (const squat of ["root's directory", "a symlink"]) {
      await clean();
      if (squat === "a symlink") {
        await Deno.symlink(theirs, dir);
      } else {
        await Deno.mkdir(dir, { mode: 0o700 });
      }
      for (const args of [["up", name, "-d", "--config", config], ["ls"]]) {
        const r = await as(args);
        assert(r.code === 125, `${args[0]} with ${squat}: exit ${r.code} ${r.stderr}`);
        assert(r.stderr.trim().split("\n").length === 1, `${args[0]}: ${r.stderr}`);
        assert(
          r.stderr.includes(`${dir} is not a directory of yours`),
          `${args[0]} with ${squat}: ${r.stderr}`,
        );
      }
      assert([...Deno.readDirSync(theirs)].length === 0, `something was made in ${theirs}`);
    }
  } finally {
    await clean();
    await lab.close();
    await user.remove();
  }
});
