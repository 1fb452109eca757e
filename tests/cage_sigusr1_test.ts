/**
 * SIGUSR1 through the cage, as root and rootless: the launcher's handler
 * (launcher/sigusr1.c) sends it to the cage's init over a pidfd, also when
 * the init lives in a user namespace of its own, and the init passes it to
 * the command. The driver holds no TCP or UDP socket afterwards (`deno run`
 * would otherwise have opened its debugger on 127.0.0.1:9229).
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv, lineWatcher, type Who } from "./cage/harness.ts";
import { heldSockets } from "./harness/sockets.ts";

for (const who of ["nobody", "root"] as Who[]) {
  Deno.test(`cage (${who}): SIGUSR1 reaches the command three times, and opens no socket`, async () => {
    const env = await DriverEnv.create(who);
    const script = "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done";
    const child = env.spawn({}, ["sh", "-c", script]);
    try {
      const out = lineWatcher(child.stdout);
      await out.waitFor(/^ready$/, 10_000);
      // Past the 500 ms after which `deno run` would open its debugger.
      await new Promise((r) => setTimeout(r, 1000));
      for (let n = 1; n <= 3; n++) {
        child.kill("SIGUSR1");
        const end = Date.now() + 5000;
        while (out.text().split("\n").filter((l) => l === "got-usr1").length < n) {
          assert(Date.now() < end, `SIGUSR1 number ${n} did not arrive: ${out.text()}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      // The driver is the process spawned (unshare, sh and setpriv exec it).
      const held = await heldSockets(child.pid);
      assertEquals(held, [], "the driver holds no TCP or UDP socket");
      child.kill("SIGTERM");
      const status = await child.status;
      await out.done;
      assertEquals(status.code, 143);
      assertEquals(out.text().trim().split("\n"), ["ready", "got-usr1", "got-usr1", "got-usr1"]);
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
