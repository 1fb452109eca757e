/**
 * The terminal passes through: an interactive shell in the cage (under a
 * pseudo-terminal made by `script`) reads its input, Ctrl-C interrupts the
 * command it runs (the command owns the terminal's foreground), and its exit
 * status comes back out.
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv, requireTool, type Who } from "./cage/harness.ts";
import { quote, RESUMABLE_JOB, stopAndResume, underPty } from "./cage/pty.ts";

for (const who of ["nobody", "root"] as Who[]) {
  Deno.test(`cage (${who}): an interactive shell gets the terminal, Ctrl-C and its status`, async () => {
    requireTool("script");
    const env = await DriverEnv.create(who);
    const inner = env.args({}, ["bash", "--norc", "--noprofile", "-i"]).map(quote).join(" ");
    const pty = underPty(env, inner);
    const { out, type } = pty;
    try {
      await type("echo hello-$((6*7))\n");
      await out.waitFor(/^hello-42\r?$/, 15000);
      // The job prints once it owns the terminal's foreground and runs.
      await type("sh -c 'echo sleep-started; exec sleep 30'; echo slept\n");
      await out.waitFor(/^sleep-started\r?$/, 15000);
      await type("\x03");
      await type("echo after-ctrl-c $?\n");
      await out.waitFor(/^after-ctrl-c 130\r?$/, 5000);
      await type("exit 5\n");
      const status = await pty.status;
      await out.done;
      assertEquals(status.code, 5);
      assert(!out.text().split(/\r?\n/).includes("slept"), "Ctrl-C ended the sleep");
      assert(!/no job control|cannot set terminal process group/.test(out.text()), out.text());
    } finally {
      await pty.close();
      await env.close();
    }
  });
}

Deno.test("cage (root): Ctrl-Z does not leave the terminal with a stopped command", async () => {
  requireTool("script");
  const env = await DriverEnv.create("root");
  // One process (no shell forking a child): Ctrl-Z stops the command itself,
  // which its init sees and continues.
  const program = "import time; print('started', flush=True); time.sleep(1); print('resumed')";
  const inner = env.args({}, ["/usr/bin/python3", "-c", program]).map(quote).join(" ");
  const pty = underPty(env, inner);
  const { out, type } = pty;
  try {
    await out.waitFor(/^started\r?$/, 15000);
    await type("\x1a");
    await out.waitFor(/resumed\r?$/, 10000);
    assertEquals((await pty.status).code, 0);
  } finally {
    await pty.close();
    await env.close();
  }
});

// Run by the shell itself, and through `sh script` (as `npm test` runs its
// commands): the job's leader is then sh, wgcage's parent, in wgcage's group.
for (const [who, throughSh] of [["nobody", false], ["root", false], ["root", true]] as const) {
  const how = throughSh ? " through sh" : "";
  Deno.test(`cage (${who}): under a job-control shell${how}, Ctrl-Z stops the job and fg resumes the command`, async () => {
    requireTool("script");
    requireTool("bash");
    const env = await DriverEnv.create(who);
    let line = env.args({}, ["/usr/bin/python3", "-c", RESUMABLE_JOB]).map(quote).join(" ");
    if (throughSh) {
      await Deno.writeTextFile(`${env.dir}/job.sh`, `${line}\necho job-done\n`);
      line = `sh ${quote(`${env.dir}/job.sh`)}`;
    }
    const pty = underPty(env, "bash --norc --noprofile -i");
    const { out, type } = pty;
    try {
      await type(`${line}\n`);
      await out.waitFor(/^started\r?$/, 15000);
      // bash reports its job stopped and gets the terminal back.
      await stopAndResume(pty, throughSh ? /^job-done\r?$/ : undefined);
      assertEquals((await pty.status).code, 0);
    } finally {
      await pty.close();
      await env.close();
    }
  });
}
