/**
 * A live cage made through sudo: its PID 1 is the sudo user, with no
 * capability, under no_new_privs and the terminal filter. `wgcage exec`
 * through sudo under a real terminal (a pty made by `script`, an interactive
 * bash): the joined init runs as the sudo user, never host root, yet Ctrl-Z
 * still stops the job (the init may stop wgcage, whose saved uid is the sudo
 * user's) and fg resumes it.
 *
 * Needs root, wireguard-go, script, bash and /usr/bin/python3.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { liveLab, liveRunner } from "./harness/live.ts";
import { DriverEnv } from "./cage/harness.ts";
import { quote, stopAndResume, underPty } from "./cage/pty.ts";
import { makeTestUser, sudoEnv } from "./cage/test_user.ts";
import { assert } from "./cage/assert.ts";

Deno.test("live cage (sudo): exec'd through sudo, the command is the sudo user; Ctrl-Z stops the job and fg resumes it", async () => {
  requireRoot("The live exec sudo terminal test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("script", "bsdutils");
  const lab = await Lab.open();
  const env = await DriverEnv.create("root");
  const user = await makeTestUser();
  let pty: ReturnType<typeof underPty> | undefined;
  try {
    const { ns, config } = await liveLab(lab, "lsudo", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("ls");
    const sudo = sudoEnv(user);
    const up = await w.wgcage(["up", name, "-d", "--config", config], { env: sudo });
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      // The live cage's PID 1 (it runs no command): the sudo user, no
      // capability, no_new_privs and the terminal filter.
      const ls = await w.wgcage(["ls", "--json"], { env: sudo });
      const record = (JSON.parse(ls.stdout) as { name: string; initPid: number }[])
        .find((r) => r.name === name);
      assert(record !== undefined, `ls --json: ${ls.stdout}`);
      const status = await Deno.readTextFile(`/proc/${record.initPid}/status`);
      const field = (key: string) => status.match(new RegExp(`^${key}:\\s*(.*)$`, "m"))?.[1];
      assert(
        field("Uid")?.split(/\s+/).every((id) => id === String(user.uid)),
        `the held init's uids: ${field("Uid")}`,
      );
      for (const key of ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"]) {
        assert(BigInt(`0x${field(key)}`) === 0n, `the held init's ${key}: ${field(key)}`);
      }
      assert(field("Seccomp") === "2" && field("NoNewPrivs") === "1", status);
      pty = underPty(env, `ip netns exec ${ns} bash --norc --noprofile -i`);
      const { out, type } = pty;
      const job = "import os, time; print('started', os.getuid(), flush=True); time.sleep(1.5); " +
        "print('resumed', flush=True)";
      const line = w.argv(["exec", name, "--", "/usr/bin/python3", "-c", job], sudo)
        .map(quote).join(" ");
      await type(`${line}\n`);
      const started = await out.waitFor(/^started /, 30_000);
      assert(started.trim() === `started ${user.uid}`, `the command runs as: ${started}`);
      await stopAndResume(pty);
      assert((await pty.status).code === 0, `bash: ${out.text()}`);
    } finally {
      await pty?.close();
      await w.wgcage(["down", name], { env: sudo });
    }
  } finally {
    await user.remove();
    await env.close();
    await lab.close();
  }
});
