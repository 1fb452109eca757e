/**
 * Once the command runs, wgcage holds few of the runtime's code pages: those
 * its start-up used go back (launcher/startup_code.c), so while the command
 * runs wgcage's resident memory is well below its start-up peak, `-v` says
 * how much went, and the tunnel still carries traffic (its code comes back
 * as it runs). A command that ends within a quarter of a second never has
 * them go: a short run would only fault back what its exit needs.
 *
 * Needs root (a namespace with a wireguard-go peer on its loopback).
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { loopbackPeer, wgcageArgv } from "./e2e/wgcage.ts";
import { clientArgv, parseClientReport, startServices } from "./harness/services.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** KiB of `pid`'s status field `name` (VmRSS, VmHWM). */
function statusKiB(pid: number, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(
    Deno.readTextFileSync(`/proc/${pid}/status`),
  );
  if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** KiB resident in `pid`'s executable code mappings (r-xp of /proc/PID/exe). */
function codeKiB(pid: number): number {
  const exe = Deno.readLinkSync(`/proc/${pid}/exe`);
  let inCode = false;
  let kib = 0;
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s+(.*)$/.exec(line);
    if (head) inCode = head[1] === "r-xp" && head[2] === exe;
    else if (inCode && line.startsWith("Rss:")) kib += Number(line.split(/\s+/)[1]);
  }
  return kib;
}

Deno.test("wgcage gives back its start-up code pages once the command runs, and the tunnel still works", async () => {
  requireRoot("The start-up code test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("code");
    const { config } = await loopbackPeer(lab, ns);
    await startServices(ns, { binds: ["10.99.0.1"] });
    // The command waits, then downloads 1 MiB from the peer through the tunnel.
    const wgcage = ns.spawn(wgcageArgv([
      "-v",
      "--config",
      config,
      "--",
      "sh",
      "-c",
      'sleep 3; exec "$@"',
      "sh",
      ...clientArgv("data", "10.99.0.1", { bytes: 1 << 20 }),
    ]));
    // Measured while the command sleeps: from -v's line on, for at most 3 s.
    for (let i = 0; i < 1000 && !wgcage.stderr.includes("start-up code pages given back"); i++) {
      if (wgcage.exited) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(
      wgcage.stderr.includes("start-up code pages given back"),
      `-v never said it: ${wgcage.stderr}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    const pid = wgcage.pid;
    const code = codeKiB(pid);
    const rss = statusKiB(pid, "VmRSS");
    const peak = statusKiB(pid, "VmHWM");
    const status = await wgcage.status;
    assert(status.code === 0, `wgcage or the download failed (${status.code}): ${wgcage.stderr}`);
    const report = parseClientReport({ code: status.code, stdout: wgcage.stdout, stderr: "" });
    assert(report.ok, `the download: ${JSON.stringify(report)}`);
    const said = /start-up code pages given back: (\d+) KiB/.exec(wgcage.stderr);
    assert(said && Number(said[1]) > 4096, `-v said: ${wgcage.stderr}`);
    // Start-up maps some 20 MiB of the runtime's code; an idle cage needs a few.
    assert(code < 12 * 1024, `${code} KiB of code still resident while the command runs`);
    assert(rss < peak - 8 * 1024, `resident ${rss} KiB, start-up peak ${peak} KiB`);
  } finally {
    await lab.close();
  }
});

Deno.test("a command that ends at once keeps the start-up code; one that runs on gives it back", async () => {
  requireRoot("The start-up code test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("codeq");
    const { config } = await loopbackPeer(lab, ns);
    const quick = await ns.run(wgcageArgv(["-v", "--config", config, "--", "true"]), {
      allowFailure: true,
    });
    assert(quick.code === 0, `wgcage -- true exited ${quick.code}: ${quick.stderr}`);
    assert(quick.stderr.includes("starting the command"), `the command never ran: ${quick.stderr}`);
    assert(!quick.stderr.includes("code pages given back"), `gave back at once: ${quick.stderr}`);
    const longer = await ns.run(wgcageArgv(["-v", "--config", config, "--", "sleep", "0.6"]), {
      allowFailure: true,
    });
    assert(longer.code === 0, `wgcage -- sleep exited ${longer.code}: ${longer.stderr}`);
    assert(
      /start-up code pages given back: \d+ KiB/.test(longer.stderr),
      `never gave back: ${longer.stderr}`,
    );
  } finally {
    await lab.close();
  }
});
