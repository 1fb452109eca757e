/**
 * wgcage ends when the process that started it ends: `--die-with-parent`,
 * as bubblewrap has it, and by default where the npm package's `wgcage`
 * command starts it. Without it, killing `npx wgcage …` kills npm and the
 * shell npm ran the command with, and leaves wgcage and the caged command
 * running under PID 1. The cage itself needs nothing more: it already ends
 * with wgcage (launcher/cage.c).
 *
 * The parent is watched by the kernel: a parent-death SIGKILL
 * (launcher/parent_death.c). That signal comes when the *thread* that forked
 * wgcage exits, which in a process with several threads may be long before
 * the process ends; so it is armed only for a parent with one thread (a
 * shell, as npm and most callers start commands through), and a parent with
 * more is watched like the ancestors below.
 *
 * The npm command also names the process above npm's `sh -c`: npm itself,
 * whose SIGKILL leaves that shell waiting for wgcage, alive. Such ancestors
 * are looked at four times a second (between looks wgcage sleeps on a worker
 * thread, launcher/sleep.ts: a timer would load Deno's Node timers, ~10 ms of
 * start-up): gone, or another process under the same pid (its start time in
 * /proc/PID/stat changed), ends wgcage with SIGKILL like the kernel's
 * signal.
 *
 * @module
 */

import { launcher, prepareLauncher } from "../launcher/library.ts";
import { ESRCH } from "../launcher/errno.ts";
import { sleepMs } from "../launcher/sleep.ts";
// A run loads live/state.ts anyway (run_command.ts covers the live cages' state).
import { processStartTime } from "../live/state.ts";

/**
 * Set by the npm package's `wgcage` command: "PARENT [ANCESTOR…]", the pids
 * to end with; "0" turns it off. Taken out of the environment, so the caged
 * command does not inherit it.
 */
export const DIE_WITH_PARENT_ENV = "WGCAGE_DIE_WITH_PARENT";

/** How often the ancestors that the kernel does not watch are looked at. */
const POLL_MS = 250;

/** The processes wgcage ends with. */
export interface ParentWatch {
  /** wgcage's parent when it started. */
  readonly parent: number;
  /** Processes further up (npm above its shell). */
  readonly ancestors: readonly number[];
}

/** wgcage's own failure (exit 125): a bad WGCAGE_DIE_WITH_PARENT, or the parent ended already. */
export class DieWithParentError extends Error {
  readonly exitCode = 125;
}

/**
 * WGCAGE_DIE_WITH_PARENT's value → what to watch; undefined for "0" (off).
 * Throws {@linkcode DieWithParentError} for anything but pids.
 */
export function parseDieWithParent(value: string): ParentWatch | undefined {
  const words = value.trim().split(/\s+/);
  if (words.length === 1 && words[0] === "0") return undefined;
  const pids = words.map(Number);
  if (!pids.every((p) => Number.isSafeInteger(p) && p > 0) || !/^[\d\s]+$/.test(value)) {
    throw new DieWithParentError(
      `wgcage: ${DIE_WITH_PARENT_ENV}='${value}' is not valid: give the parent's pid, then ` +
        "any ancestors' (or 0 for off)",
    );
  }
  return { parent: pids[0], ancestors: pids.slice(1) };
}

/** How many threads process `pid` has, or undefined when it is gone. */
function threadsOf(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /^Threads:\s*(\d+)$/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function gone(pid: number, what: string): DieWithParentError {
  return new DieWithParentError(
    `wgcage: Stopped: ${what} (pid ${pid}) has ended, and wgcage ends with it ` +
      `(--die-with-parent; ${DIE_WITH_PARENT_ENV}=0 turns that off for the npm package's wgcage)`,
  );
}

/**
 * Makes wgcage end when `watch.parent` or any of `watch.ancestors` ends.
 * Throws {@linkcode DieWithParentError} when one has ended already.
 */
export async function dieWithParent(watch: ParentWatch): Promise<void> {
  if (Deno.ppid !== watch.parent) throw gone(watch.parent, "the process that started wgcage");
  const polled = [...watch.ancestors];
  if (threadsOf(watch.parent) === 1) {
    await prepareLauncher();
    const rc = launcher().wgl_parent_death_arm(watch.parent);
    if (rc === -ESRCH) throw gone(watch.parent, "the process that started wgcage");
    // prctl refused (it does not, on Linux): the parent is watched as an ancestor is.
    if (rc < 0) polled.unshift(watch.parent);
  } else {
    polled.unshift(watch.parent);
  }
  if (polled.length === 0) return;
  const started = new Map<number, number>();
  for (const pid of polled) {
    const time = processStartTime(pid);
    if (time === undefined) throw gone(pid, "a process above wgcage");
    started.set(pid, time);
  }
  (async () => {
    for (;;) {
      await sleepMs(POLL_MS);
      for (const [pid, time] of started) {
        if (processStartTime(pid) !== time) Deno.kill(Deno.pid, "SIGKILL");
      }
    }
  })().catch(() => {
    // No FFI (cannot happen where the launcher loaded): watched no further.
  });
}

/**
 * The npm command's WGCAGE_DIE_WITH_PARENT, taken out of the environment;
 * undefined when it is not set or "0".
 */
export function takeParentWatch(): ParentWatch | undefined {
  const value = Deno.env.get(DIE_WITH_PARENT_ENV);
  if (value === undefined) return undefined;
  Deno.env.delete(DIE_WITH_PARENT_ENV);
  return parseDieWithParent(value);
}
