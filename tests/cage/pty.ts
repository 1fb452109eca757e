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
