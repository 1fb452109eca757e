/**
 * Helpers shared by the benchmarks: peak memory of a process (sampled while
 * it runs), CPU time of a process tree over a window, the machine's load,
 * medians and number formatting.
 *
 * @module
 */

import { NsProcess } from "../tests/harness/process.ts";

/**
 * The peak resident set size (`VmHWM`) of a live process in KiB, or
 * undefined when the process is gone or has no memory (a zombie).
 */
export function readPeakRssKiB(pid: number): number | undefined {
  let status: string;
  try {
    status = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

/**
 * Samples a process's `VmHWM` every `intervalMs` so that the peak is known
 * even after the process exits (the kernel forgets it then). Call `stop()`
 * before ending the process to take a last sample.
 */
export class PeakRssSampler {
  readonly pid: number;
  #peakKiB: number | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(pid: number, intervalMs = 100) {
    this.pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  /** The highest peak seen so far, KiB. */
  get peakKiB(): number | undefined {
    return this.#peakKiB;
  }

  /** Takes a last sample, stops sampling and returns the peak in KiB. */
  stop(): number | undefined {
    if (this.#timer !== undefined) {
      this.#sample();
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    return this.#peakKiB;
  }

  #sample(): void {
    const now = readPeakRssKiB(this.pid);
    if (now !== undefined && (this.#peakKiB === undefined || now > this.#peakKiB)) {
      this.#peakKiB = now;
    }
  }
}

/** `12.3 MiB` from KiB; `n/a` when unknown. */
export function formatKiB(kib: number | undefined): string {
  return kib === undefined ? "n/a" : `${(kib / 1024).toFixed(1)} MiB`;
}

/** Rounds to one decimal. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** What {@link runSampled} returns: the output, exit code and peak RSS. */
export interface SampledRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak RSS of the started process itself, KiB. */
  readonly peakRssKiB: number | undefined;
}

/**
 * Runs `argv` (in namespace `ns` when given) to completion while sampling
 * its peak RSS; kills it after `timeoutMs`. `ip netns exec`, `setpriv` and
 * `env` exec their command, so the pid sampled is the final program's.
 */
export async function runSampled(
  argv: readonly string[],
  options: { ns?: string; timeoutMs?: number; intervalMs?: number } = {},
): Promise<SampledRun> {
  const process = NsProcess.spawn(argv, { ns: options.ns });
  const sampler = new PeakRssSampler(process.pid, options.intervalMs ?? 50);
  const timer = setTimeout(() => process.stop("SIGKILL"), options.timeoutMs ?? 60_000);
  try {
    const status = await process.status;
    return {
      code: status.code,
      stdout: process.stdout,
      stderr: process.stderr,
      peakRssKiB: sampler.stop(),
    };
  } finally {
    clearTimeout(timer);
    sampler.stop();
  }
}

/**
 * The fields of `/proc/PID/stat` from the third (state) on, or undefined
 * when the process is gone. The command name before them may hold spaces and
 * parentheses, so they start after its last `)`.
 */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  return text.slice(text.lastIndexOf(")") + 2).trim().split(" ");
}

/**
 * CPU time of a process in clock ticks, from `/proc/PID/stat`: utime + stime
 * (all its threads, ended ones included) + cutime + cstime (the children it
 * has waited for); undefined when it is gone.
 */
export function readCpuTicks(pid: number): number | undefined {
  const f = statFields(pid);
  if (f === undefined) return undefined;
  // proc(5) numbers the fields from 1: utime 14, stime 15, cutime 16, cstime 17; f[0] is 3.
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/** A process's command name (`/proc/PID/comm`), or undefined when it is gone. */
export function commOf(pid: number): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return undefined;
  }
}

/** The live children of a process, those of every one of its threads. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      let text: string;
      try {
        text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`);
      } catch {
        continue; // the thread ended
      }
      for (const c of text.trim().split(" ")) if (c !== "") children.push(Number(c));
    }
  } catch {
    // the process ended
  }
  return children;
}

/**
 * `pid` and its live descendants, leaving out every process for which `skip`
 * is true together with its own descendants.
 */
export function processTree(pid: number, skip: (pid: number) => boolean = () => false): number[] {
  const tree: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (skip(next)) continue;
    tree.push(next);
    pending.push(...childrenOf(next));
  }
  return tree;
}

/** Clock ticks per second, the unit of `/proc`'s CPU times (`getconf CLK_TCK`). */
export async function clockTicksPerSecond(): Promise<number> {
  const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
  const ticks = Number(new TextDecoder().decode(out.stdout).trim());
  if (!out.success || !Number.isInteger(ticks) || ticks <= 0) {
    throw new Error("Cannot read the clock tick rate with getconf CLK_TCK");
  }
  return ticks;
}

/**
 * The CPU time process trees use over a window. `start()` notes every process
 * in each root's tree (see {@link processTree}) and its CPU time; `stop()`
 * walks the trees again and returns, per root, the CPU seconds used since:
 * a process that started in between counts whole, one that ended counts
 * through its parent's cutime and cstime once reaped. A root that ended
 * makes `stop()` throw.
 */
export class TreeCpuMeter {
  readonly #roots: readonly number[];
  readonly #ticksPerSecond: number;
  readonly #skip: (pid: number) => boolean;
  #before: Map<number, number>[] | undefined;

  constructor(roots: readonly number[], ticksPerSecond: number, skip?: (pid: number) => boolean) {
    this.#roots = roots;
    this.#ticksPerSecond = ticksPerSecond;
    this.#skip = skip ?? (() => false);
  }

  /** Takes the window's first reading. */
  start(): void {
    this.#before = this.#roots.map((root) => this.#read(root));
  }

  /** Takes the last reading and returns the CPU seconds of each root's tree. */
  stop(): number[] {
    const before = this.#before;
    if (before === undefined) throw new Error("TreeCpuMeter.stop() before start()");
    return this.#roots.map((root, i) => {
      let ticks = 0;
      for (const [pid, now] of this.#read(root)) ticks += now - (before[i].get(pid) ?? 0);
      return ticks / this.#ticksPerSecond;
    });
  }

  #read(root: number): Map<number, number> {
    const ticks = new Map<number, number>();
    for (const pid of processTree(root, this.#skip)) {
      const t = readCpuTicks(pid);
      if (t !== undefined) ticks.set(pid, t);
    }
    if (!ticks.has(root)) throw new Error(`Cannot read the CPU time of process ${root}: it ended`);
    return ticks;
  }
}

/** The load average over 1, 5 and 15 minutes, as `/proc/loadavg` gives it. */
export function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}
