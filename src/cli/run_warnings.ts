/**
 * Warnings about what a run's own options and environment do that the user
 * may not expect: each is one line on stderr, and the run goes on.
 *
 * @module
 */

import type { RunOptions } from "./args.ts";
import { SYSTEM_BUS_DIRS } from "../cage/host_sockets.ts";

/** The proxy variables curl, wget, pip, npm and most HTTP libraries read. */
const PROXY_VARIABLE = /^(https?|ftp|all)_proxy$/i;

/**
 * The warning for proxy variables that pass into the cage with the rest of
 * the environment: CMD's traffic then leaves from the proxy, not from the
 * tunnel's peer (and one on the host's loopback is not reachable from the
 * cage at all). wgcage keeps the environment as it is, as bubblewrap and
 * `sudo -E` do, and names them; `env -u` drops them, for a run as for an
 * exec, without an option of its own.
 */
export function proxyWarning(env: Record<string, string>): string | undefined {
  const names = Object.keys(env).filter((name) => PROXY_VARIABLE.test(name) && env[name] !== "")
    .sort();
  if (names.length === 0) return undefined;
  return `wgcage: Warning: ${names.join(", ")} ${
    names.length === 1 ? "passes" : "pass"
  } into the cage: CMD's web traffic goes to that proxy (a proxy on the host's loopback is out of reach); ` +
    `to leave ${names.length === 1 ? "it" : "them"} out, run: env ${
      names.map((n) => `-u ${n}`).join(" ")
    } wgcage …`;
}

/**
 * Whether keeping `path` changes nothing without --hide-sockets: only the
 * system bus's socket is both hidden by default and one that may be kept.
 */
function keptForNothing(path: string): boolean {
  let real = path;
  try {
    real = Deno.realPathSync(path);
  } catch {
    // The cage's set-up says what is wrong with it.
  }
  return !SYSTEM_BUS_DIRS.some((dir) => real.startsWith(`${dir}/`));
}

/** The warnings that the options of a cage (a run, or `up`) call for. */
export function optionWarnings(options: RunOptions): string[] {
  const warnings: string[] = [];
  if (options.noUserns) {
    warnings.push(
      "wgcage: Warning: --no-userns: NO BOUNDARY: CMD keeps root's capabilities over the host " +
        "and can leave the cage; use it only where a user namespace is refused even to root",
    );
  }
  const idle = options.hideSockets ? undefined : options.keepSockets.find(keptForNothing);
  if (idle !== undefined) {
    warnings.push(
      `wgcage: Warning: --keep-socket '${idle}' changes nothing without --hide-sockets: only ` +
        "name services' sockets (and the system bus's) are hidden by default, every other " +
        "one stays reachable; add --hide-sockets to hide the rest",
    );
  }
  return warnings;
}
