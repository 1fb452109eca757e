/**
 * Runs a program in the server cage's network namespace with the powers of
 * the cage's root (nft, the forwarding sysctl).
 *
 * Why nsenter by the init's pid, and not the join of `wgcage exec`: the join
 * starts a PID namespace, a /proc and an init of its own for a command that
 * may run long and be signalled; here two short programs only need the
 * network namespace, and nsenter (util-linux, on every system that has
 * namespaces) does that with nothing in between. The pid is safe to name:
 * the cage's init is the keeper's own child, so its pid cannot be reused
 * while the keeper has not reaped it. The cage maps the keeper's user to its
 * root (the server's cage runs no command), so --preserve-credentials keeps
 * that user, which is root in the cage and keeps its capabilities over the
 * exec (as podman's `unshare` does); nsenter's own setgroups would be
 * refused (the cage's setgroups is "deny").
 *
 * @module
 */

import { ServeError } from "./error.ts";

/** Whether the process `pid` is in a user namespace other than ours. */
function ownUserns(pid: number): boolean {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/user`) !== Deno.readLinkSync("/proc/self/ns/user");
  } catch {
    return true;
  }
}

export interface InCage {
  /** Runs argv in the cage's network namespace; resolves with stdout, throws ServeError. */
  run(argv: readonly string[], input?: string, what?: string): Promise<string>;
}

export function inCage(initPid: number): InCage {
  const userns = ownUserns(initPid);
  const prefix = [
    "-t",
    String(initPid),
    ...(userns ? ["-U", "--preserve-credentials"] : []),
    "-n",
    "--",
  ];
  return {
    async run(argv, input, what) {
      let out: Deno.CommandOutput;
      try {
        const child = new Deno.Command("nsenter", {
          args: [...prefix, ...argv],
          stdin: input === undefined ? "null" : "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        if (input !== undefined) {
          const w = child.stdin.getWriter();
          await w.write(new TextEncoder().encode(input));
          await w.close();
        }
        out = await child.output();
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new ServeError(
            "Cannot find nsenter on PATH; install it (apt-get install util-linux)",
          );
        }
        throw e;
      }
      if (!out.success) {
        const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "";
        if (/No such file|not found/i.test(err) && argv[0].endsWith("nft")) {
          throw new ServeError("Cannot find nft on PATH; install it (apt-get install nftables)");
        }
        throw new ServeError(
          `Cannot ${what ?? `run ${argv[0]}`} in the server's cage: ${
            err || `status ${out.code}`
          }; ` +
            "run again with -v to see the steps",
        );
      }
      return new TextDecoder().decode(out.stdout);
    },
  };
}
