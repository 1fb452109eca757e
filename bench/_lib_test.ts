import {
  clockTicksPerSecond,
  commOf,
  loadAverage,
  median,
  PeakRssSampler,
  processTree,
  readCpuTicks,
  readPeakRssKiB,
  runSampled,
  TreeCpuMeter,
} from "./_lib.ts";

Deno.test("peak RSS of this process is read from /proc and a dead pid has none", async () => {
  const own = readPeakRssKiB(Deno.pid);
  if (own === undefined || own < 1024) throw new Error(`implausible VmHWM ${own} KiB`);
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  if (readPeakRssKiB(gone.pid) !== undefined) throw new Error("a reaped process has a VmHWM");
});

Deno.test("the sampler reports the peak RSS of a child process and keeps it once stopped", async () => {
  // A shell that grows a string to a few MiB and then waits to be killed.
  const child = new Deno.Command("sh", {
    args: ["-c", 'x=$(head -c 8000000 /dev/zero | tr "\\0" a); echo grown; sleep 30'],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  const sampler = new PeakRssSampler(child.pid, 20);
  const peak = sampler.stop();
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  if (peak === undefined || peak < 8000) throw new Error(`peak ${peak} KiB, expected ≥ 8000`);
  if (sampler.stop() !== peak) throw new Error("the peak changed after stop()");
});

Deno.test("runSampled returns output, exit code and a peak RSS sampled before exit", async () => {
  const r = await runSampled([
    "sh",
    "-c",
    'x=$(head -c 8000000 /dev/zero | tr "\\0" a); sleep 0.3; echo done; exit 3',
  ]);
  if (r.code !== 3 || r.stdout !== "done") throw new Error(`got ${JSON.stringify(r)}`);
  if (r.peakRssKiB === undefined || r.peakRssKiB < 8000) {
    throw new Error(`peak ${r.peakRssKiB} KiB, expected ≥ 8000`);
  }
});

/** A shell that starts a busy child (`sh`) and a busy `yes`; ready once `yes` runs. */
function busyTree(): { child: Deno.ChildProcess; ready: Promise<void> } {
  const child = new Deno.Command("sh", {
    args: ["-c", 'sh -c "while :; do :; done" & yes >/dev/null & wait'],
    stdout: "piped",
  }).spawn();
  const ready = (async () => {
    for (let i = 0; i < 200; i++) {
      const tree = processTree(child.pid);
      if (tree.length === 3 && tree.some((pid) => commOf(pid) === "yes")) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("the busy tree did not start within 2 s");
  })();
  return { child, ready };
}

async function endTree(child: Deno.ChildProcess, pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await child.status;
  await child.stdout.cancel();
}

Deno.test("a process tree is walked through its threads' children, skipped subtrees left out", async () => {
  const { child, ready } = busyTree();
  await ready;
  const tree = processTree(child.pid);
  try {
    if (tree[0] !== child.pid || tree.length !== 3) throw new Error(`tree ${tree}`);
    const comms = tree.map(commOf).sort();
    if (comms.join(" ") !== "sh sh yes") throw new Error(`commands ${comms}`);
    const noYes = processTree(child.pid, (pid) => commOf(pid) === "yes");
    if (noYes.length !== 2 || noYes.some((p) => commOf(p) === "yes")) {
      throw new Error(`without yes: ${noYes}`);
    }
  } finally {
    await endTree(child, tree);
  }
});

Deno.test("the CPU meter counts a tree's CPU time over its window, skipped processes aside", async () => {
  const ticks = await clockTicksPerSecond();
  const { child, ready } = busyTree();
  await ready;
  const tree = processTree(child.pid);
  try {
    const all = new TreeCpuMeter([child.pid], ticks);
    const noYes = new TreeCpuMeter([child.pid], ticks, (pid) => commOf(pid) === "yes");
    all.start();
    noYes.start();
    await new Promise((r) => setTimeout(r, 600));
    const [withYes] = all.stop();
    const [withoutYes] = noYes.stop();
    // Two busy processes on a machine others may load: only loose bounds on the figures.
    const most = 0.6 * navigator.hardwareConcurrency + 0.2;
    if (withYes < 0.03 || withYes > most) throw new Error(`whole tree: ${withYes} s in 0.6 s`);
    if (withoutYes < 0.01) throw new Error(`without yes: ${withoutYes} s in 0.6 s`);
    if (withoutYes >= withYes) throw new Error(`${withoutYes} s without yes, ${withYes} s with`);
  } finally {
    await endTree(child, tree);
  }
  const gone = new TreeCpuMeter([child.pid], ticks);
  let threw = false;
  try {
    gone.start();
  } catch (e) {
    threw = e instanceof Error && e.message.includes("ended");
  }
  if (!threw) throw new Error("an ended root did not make the meter throw");
});

Deno.test("CPU ticks of this process are read from /proc; the load average has three figures", async () => {
  const own = readCpuTicks(Deno.pid);
  if (own === undefined || own < 0) throw new Error(`ticks ${own}`);
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  if (readCpuTicks(gone.pid) !== undefined) throw new Error("a reaped process has CPU ticks");
  if (!/^\d+\.\d+ \d+\.\d+ \d+\.\d+$/.test(loadAverage())) throw new Error(loadAverage());
});

Deno.test("median: the middle value, or the mean of the two middle ones; the input is left as it was", () => {
  const xs = [5, 1, 3];
  const same = (a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`expected ${b}, got ${a}`);
  };
  same(median(xs), 3);
  same(xs, [5, 1, 3]);
  same(median([4, 1, 3, 2]), 2.5);
});
