import { PeakRssSampler, readPeakRssKiB, runSampled } from "./_lib.ts";

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
