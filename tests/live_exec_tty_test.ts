/**
 * `wgcage exec` under a real terminal (a pty made by `script`, an
 * interactive bash): what a joined command leaves behind ends with it, so a
 * background process that ignores SIGTTOU cannot take the terminal from the
 * user's shell once exec returned; Ctrl-Z stops the job and fg resumes it.
 *
 * Needs root, wireguard-go, script, bash and /usr/bin/python3.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run } from "./harness/process.ts";
import { liveLab, liveRunner } from "./harness/live.ts";
import { DriverEnv } from "./cage/harness.ts";
import { quote, RESUMABLE_JOB, stopAndResume, underPty } from "./cage/pty.ts";
import { assert } from "./cage/assert.ts";

/** Ignores SIGTTOU and SIGHUP, then after 2 s takes the terminal and reads a line of it. */
const LEFTOVER = `
import os, signal, sys, time
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
time.sleep(2)
fd = os.open("/dev/tty", os.O_RDWR)
os.tcsetpgrp(fd, os.getpgrp())
data = os.read(fd, 200)
with open(sys.argv[1], "w") as f:
    f.write("stole " + data.decode(errors="replace"))
`;

Deno.test("live cage (root): under a pty, exec's leftovers end with its command (the shell keeps the terminal); Ctrl-Z and fg", async () => {
  requireRoot("The live exec terminal test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("script", "bsdutils");
  const lab = await Lab.open();
  const env = await DriverEnv.create("root");
  let pty: ReturnType<typeof underPty> | undefined;
  try {
    const { ns, config } = await liveLab(lab, "ltty", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("lt");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      const program = `${env.dir}/leftover.py`;
      const stolen = `${env.dir}/stolen`;
      await Deno.writeTextFile(program, LEFTOVER);
      pty = underPty(env, `ip netns exec ${ns} bash --norc --noprofile -i`);
      const { out, type } = pty;
      const exec = (argv: string[]) => w.argv(["exec", name, "--", ...argv]).map(quote).join(" ");

      const leaving = `/usr/bin/python3 ${program} ${stolen} & echo bg-started`;
      await type(`${exec(["sh", "-c", leaving])}; echo exec-returned $?\n`);
      await out.waitFor(/^bg-started\r?$/, 30_000);
      await out.waitFor(/^exec-returned 0\r?$/, 30_000);
      // Past the leftover's 2 s: alive, it would hold the terminal and read this.
      await new Promise((r) => setTimeout(r, 3000));
      await type("echo shell-reads-$((40+2))\n");
      await out.waitFor(/^shell-reads-42\r?$/, 10_000);
      const left = await run(["pgrep", "-f", program], { allowFailure: true });
      assert(left.stdout.trim() === "", `the leftover still runs: ${left.stdout}`);
      const took = await Deno.readTextFile(stolen).catch(() => "");
      assert(took === "", `the leftover read the terminal: ${took}`);

      await type(`${exec(["/usr/bin/python3", "-c", RESUMABLE_JOB])}\n`);
      await out.waitFor(/^started\r?$/, 30_000);
      await stopAndResume(pty);
      assert((await pty.status).code === 0, `bash: ${out.text()}`);
    } finally {
      await pty?.close();
      await w.wgcage(["down", name]);
    }
  } finally {
    await env.close();
    await lab.close();
  }
});
