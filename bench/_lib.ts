/**
 * Helpers shared by the benchmarks: peak memory of a process (sampled while
 * it runs), and number formatting.
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
