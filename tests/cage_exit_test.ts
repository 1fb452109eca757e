/**
 * Exit statuses, signals and clean-up of the cage: the command's status as a
 * shell reports it, 127/126 with their one-line messages, signals sent to
 * wgcage reaching the command, and nothing left running afterwards — also
 * when wgcage itself is killed with SIGKILL.
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv, lineWatcher, processesWith, type Who } from "./cage/harness.ts";

/** A number no other process has on its command line. */
function uniqueSleep(): string {
  return `1000.${Math.floor(Math.random() * 1e9)}`;
}

async function eventually(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out after ${ms} ms waiting until ${what}`);
}

async function killAll(needle: string): Promise<void> {
  for (const pid of await processesWith(needle)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

for (const who of ["nobody", "root"] as Who[]) {
  Deno.test(`cage (${who}): exit statuses are the command's, as a shell reports them`, async () => {
    const env = await DriverEnv.create(who);
    try {
      await Deno.writeTextFile(`${env.dir}/not-executable`, "#!/bin/sh\necho hi\n", {
        mode: 0o644,
      });
      const cases: [string[], number, string | undefined][] = [
        [["sh", "-c", "exit 7"], 7, undefined],
        [["true"], 0, undefined],
        [["sh", "-c", "kill -TERM $$"], 143, undefined],
        [["sh", "-c", "kill -KILL $$"], 137, undefined],
        [
          ["no-such-command-wgcage"],
          127,
          "wgcage: Cannot run 'no-such-command-wgcage': command not found",
        ],
        [
          [`${env.dir}/missing/file`],
          127,
          `wgcage: Cannot run '${env.dir}/missing/file': command not found`,
        ],
        [
          [`${env.dir}/not-executable`],
          126,
          `wgcage: Cannot run '${env.dir}/not-executable': permission denied`,
        ],
      ];
      for (const [argv, code, message] of cases) {
        const r = await env.run({}, argv);
        assertEquals(r.code, code, `${argv.join(" ")}: ${r.stderr}`);
        if (message !== undefined) {
          const line = r.stderr.split("\n").find((l) => l.startsWith("wgcage: "));
          assert(line?.startsWith(message), `${argv.join(" ")}: ${r.stderr}`);
          assertEquals(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
        }
      }
      assertEquals(await env.leftovers(), [], "every cage removed its temp files");
    } finally {
      await env.close();
    }
  });

  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.test(`cage (${who}): ${sig} sent to wgcage reaches the command`, async () => {
      const env = await DriverEnv.create(who);
      const script = `trap 'echo got-signal; exit 3' ${sig.slice(3)}; echo ready; ` +
        "while :; do sleep 0.05; done";
      const child = env.spawn({}, ["sh", "-c", script]);
      try {
        const out = lineWatcher(child.stdout);
        await out.waitFor(/^ready$/, 10000);
        child.kill(sig);
        const status = await child.status;
        await out.done;
        assertEquals(out.text().trim().split("\n"), ["ready", "got-signal"]);
        assertEquals(status.code, 3);
        assertEquals(await env.leftovers(), [], "the cage removed its temp files");
      } finally {
        try {
          child.kill("SIGKILL");
        } catch {
          // ended
        }
        await child.stderr.cancel().catch(() => {});
        await env.close();
      }
    });
  }

  Deno.test(`cage (${who}): what the command leaves running ends with it`, async () => {
    const env = await DriverEnv.create(who);
    const tag = uniqueSleep();
    try {
      const r = await env.run({}, ["sh", "-c", `sleep ${tag} & sleep ${tag} & exit 0`]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(await processesWith(tag), [], "no sleep is left behind");
    } finally {
      await killAll(tag);
      await env.close();
    }
  });

  Deno.test(`cage (${who}): SIGKILL of wgcage leaves no process of the cage behind`, async () => {
    const env = await DriverEnv.create(who);
    const tag = uniqueSleep();
    const child = env.spawn({}, ["sh", "-c", `sleep ${tag} & echo ready; exec sleep ${tag}`]);
    try {
      const out = lineWatcher(child.stdout);
      await out.waitFor(/^ready$/, 10000);
      await eventually("both sleeps run", async () => (await processesWith(tag)).length === 2);
      child.kill("SIGKILL");
      await child.status;
      await eventually("no sleep is left", async () => (await processesWith(tag)).length === 0);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // ended
      }
      await child.stderr.cancel().catch(() => {});
      await killAll(tag);
      await env.close();
    }
  });
}
