/**
 * Taking SIGUSR1 from `deno run` late: when start-up took longer than the
 * runtime's 500 ms grace, its debugger listener is already installed before
 * wgcage's `main` can claim the signal. A SIGUSR1 in that window opens the
 * debugger (these tests show it does), so the claim closes it and refuses
 * to go on; without one the claim holds from then on.
 *
 * Each program runs in a test namespace (port 9229 is its own). Needs root.
 *
 * @module
 */

import { Lab, requireRoot } from "./harness/netns.ts";
import { sleep, waitUntil } from "./harness/process.ts";
import { heldSockets, tcpListenPorts } from "./harness/sockets.ts";

const PROGRAM = new URL("./sigusr1/late_claim.ts", import.meta.url).pathname;
const INSPECTOR_PORT = 9229;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

Deno.test("a SIGUSR1 that opened the debugger before a late claim makes the claim close it and refuse", async () => {
  requireRoot("The SIGUSR1 claim test");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("late");
    const p = ns.spawn([Deno.execPath(), "run", "-A", "--quiet", PROGRAM]);
    await p.waitForLine("past grace", 20_000);
    p.signal("SIGUSR1");
    await waitUntil(
      async () => (await tcpListenPorts(p.pid)).includes(INSPECTOR_PORT),
      `deno run to open its debugger on SIGUSR1 (stderr: ${p.stderr})`,
    );
    p.signal("SIGUSR2");
    const status = await p.status;
    assert(status.code === 125, `exit ${status.code}: ${p.stderr}`);
    assert(/wgcage: Stopped: a SIGUSR1 opened a debugger/.test(p.stderr), p.stderr);
    assert(!p.lines.includes("claimed"), p.stdout);
  } finally {
    await lab.close();
  }
});

Deno.test("a late claim without a SIGUSR1 before it holds: later ones open nothing", async () => {
  requireRoot("The SIGUSR1 claim test");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("late");
    const p = ns.spawn([Deno.execPath(), "run", "-A", "--quiet", PROGRAM]);
    await p.waitForLine("past grace", 20_000);
    p.signal("SIGUSR2");
    await p.waitForLine("claimed", 5_000);
    for (let i = 0; i < 3; i++) {
      p.signal("SIGUSR1");
      await sleep(100);
    }
    await sleep(300);
    assert(!p.exited, `the program ended: ${p.stderr}`);
    const held = await heldSockets(p.pid);
    assert(held.length === 0, `it holds ${JSON.stringify(held)}`);
    const listening = await tcpListenPorts(p.pid);
    assert(!listening.includes(INSPECTOR_PORT), `listening: ${listening.join(", ")}`);
    await p.stop("SIGKILL");
  } finally {
    await lab.close();
  }
});
