/**
 * A command under a real pseudo-terminal made by `script`, for the tests of
 * terminal behaviour: type into it, read its lines, end it.
 *
 * @module
 */

import { type DriverEnv, lineWatcher } from "./harness.ts";

/** Single-quotes `s` for sh. */
export function quote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** `command` run by `script` under a pseudo-terminal, in the test's directory. */
export function underPty(env: DriverEnv, command: string) {
  const child = new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    // HISTFILE empty: bash saves no history into the test's directory, not
    // even when a failed test leaves it to exit on a hang-up later.
    env: { ...env.env(), TERM: "dumb", PS1: "cage$ ", HISTFILE: "" },
    clearEnv: true,
    cwd: env.dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const input = child.stdin.getWriter();
  return {
    out: lineWatcher(child.stdout),
    status: child.status,
    type: (s: string) => input.write(new TextEncoder().encode(s)),
    /** Ends `script` if it still runs and releases its pipes. */
    async close(): Promise<void> {
      await input.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // ended
      }
      await child.stderr.cancel().catch(() => {});
    },
  };
}

/** A command under a pty, as {@linkcode underPty} runs it. */
export type Pty = ReturnType<typeof underPty>;

/** A Python job for {@linkcode stopAndResume}: `started`, 1.5 s, `resumed`. */
export const RESUMABLE_JOB =
  "import time; print('started', flush=True); time.sleep(1.5); print('resumed', flush=True)";

/**
 * Job control under the interactive bash in `pty`, whose foreground job
 * prints `resumed` once it goes on: Ctrl-Z stops the job and bash gets the
 * terminal back (it runs a command), fg resumes the job, which then ends
 * with status 0, and bash is told to exit 0. `thenSee`: a line that comes
 * after `resumed` and before the job's status.
 */
export async function stopAndResume(pty: Pty, thenSee?: RegExp): Promise<void> {
  const { out, type } = pty;
  await type("\x1a");
  await out.waitFor(/Stopped/, 10_000);
  await type("echo shell-back\n");
  await out.waitFor(/^shell-back\r?$/, 5000);
  await type("fg\n");
  await out.waitFor(/^resumed\r?$/, 10_000);
  if (thenSee !== undefined) await out.waitFor(thenSee, 10_000);
  await type("echo fg-status $?\n");
  await out.waitFor(/^fg-status 0\r?$/, 10_000);
  await type("exit 0\n");
}
