/**
 * Taking a secret out of wgcage's environment: `--config-env VAR` hands the
 * whole config, keys included, to wgcage, and nothing started afterwards may
 * see it. Unsetting the variable is not enough: /proc/PID/environ shows the
 * block the kernel copied at exec, which unsetenv(3) leaves as it was, and
 * a child cloned from wgcage (as the cage is) starts with a copy of that
 * block. So the value is also overwritten there (launcher/environ.c). This
 * must run before the cage is made.
 *
 * @module
 */

import { launcher, prepareLauncher } from "./library.ts";

/**
 * Reads an environment variable and erases it: from `Deno.env` (so the
 * command, which gets wgcage's environment, never sees it) and from the
 * original environment block (so /proc/self/environ of wgcage and of the
 * cage's processes never shows it). Returns undefined when it is not set.
 * Throws an `Error` with the errno when the block cannot be scrubbed.
 *
 * @example
 * ```ts ignore
 * import { takeEnvironmentVariable } from "./environ.ts";
 * const text = await takeEnvironmentVariable("WG_CONF");
 * Deno.env.get("WG_CONF"); // undefined
 * ```
 */
export async function takeEnvironmentVariable(name: string): Promise<string | undefined> {
  const value = Deno.env.get(name);
  if (value === undefined) return undefined;
  // First unsetenv, so that nothing in `environ` still points at the bytes
  // that are about to be zeroed.
  Deno.env.delete(name);
  await prepareLauncher();
  const scrubbed = launcher().wgl_environ_scrub(new TextEncoder().encode(`${name}\0`));
  if (scrubbed < 0) {
    throw new Error(
      `Cannot erase ${name} from the process's original environment (errno ${-scrubbed})`,
    );
  }
  return value;
}
