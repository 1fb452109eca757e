/**
 * `wgcage exec` through the native join (launcher/join_main/, `wgcage-join`):
 * wgcage execs it in its own place, from the bytes this build holds
 * (src/launcher/join_program.ts) through a sealed memfd
 * (exec_from_memory.ts), the same way from source, in the compiled binary
 * and in the npm package's Deno path; so the command's join, signals,
 * terminal and status are the native program's, as they are for the npm
 * package's bin (which runs its lib/ARCH/wgcage-join without starting Deno
 * at all). It gets this process's own command line to hand back to for what
 * it leaves to the Deno path (src/cli/exec_command.ts), with
 * WGCAGE_NATIVE_JOIN=0 set so that this path then does the join itself.
 *
 * Not through it: a join through sudo (the sudo user's groups need NSS,
 * which the static program cannot use), a build whose program is missing,
 * a host that refuses to exec a memfd, and WGCAGE_NATIVE_JOIN=0.
 *
 * @module
 */

import { joinProgramBytes } from "../launcher/join_program.ts";
import { execFromMemory } from "./exec_from_memory.ts";

/** The variable that keeps (or, set to 0 by the native join, sends back) an exec on this path. */
export const NATIVE_JOIN_ENV = "WGCAGE_NATIVE_JOIN";

/** cli/die_with_parent.ts's variable (a layer above this one). */
const DIE_WITH_PARENT_ENV = "WGCAGE_DIE_WITH_PARENT";

/** The program's name: its memfd's (/proc/PID/exe reads "/memfd:wgcage-join (deleted)") and argv[0]. */
const JOIN_NAME = "wgcage-join";

/** This process's command line up to its arguments, with the runtime named by its path. */
function ownCommand(args: readonly string[]): string[] | undefined {
  let words: string[];
  try {
    words = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
  } catch {
    return undefined;
  }
  if (words.at(-1) === "") words.pop();
  const start = words.length - args.length;
  if (start < 1 || args.some((a, i) => words[start + i] !== a)) return undefined;
  return [Deno.execPath(), ...words.slice(1, start)];
}

/** The environment this process started with (/proc/self/environ, which unsetenv leaves). */
function startingEnvironment(): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const entry of Deno.readTextFileSync("/proc/self/environ").split("\0")) {
      const at = entry.indexOf("=");
      if (at > 0) out.set(entry.slice(0, at), entry.slice(at + 1));
    }
  } catch {
    // none to take up
  }
  return out;
}

function viaSudo(): boolean {
  const id = /^[0-9]+$/;
  return Deno.uid() === 0 && id.test(Deno.env.get("SUDO_UID") ?? "") &&
    id.test(Deno.env.get("SUDO_GID") ?? "");
}

/**
 * Execs the native join for `wgcage ARGS` (ARGS starting with `exec`); on
 * return, why it did not (the Deno path then does the join).
 */
export async function execNativeJoin(args: readonly string[]): Promise<string> {
  const setting = Deno.env.get(NATIVE_JOIN_ENV);
  if (setting === "0" || setting?.startsWith("0:")) {
    // Set by the user, or by the native join when it hands over ("0:" and
    // why): the command does not get it.
    Deno.env.delete(NATIVE_JOIN_ENV);
    return setting === "0"
      ? "WGCAGE_NATIVE_JOIN=0"
      : `the native join left it: ${setting.slice(2)}`;
  }
  if (viaSudo()) return "through sudo (the sudo user's groups need NSS)";
  const own = ownCommand(args);
  if (own === undefined || args[0] !== "exec") return "cannot tell its own command line";
  const program = await joinProgramBytes();
  if (typeof program === "string") return `this build has no native join (${program})`;
  const env = Deno.env.toObject();
  // wgcage took WGCAGE_DIE_WITH_PARENT out of its environment when it
  // started (and armed the watch, which the exec ends): the native join
  // takes it up again from the block the process started with.
  const watch = startingEnvironment().get(DIE_WITH_PARENT_ENV);
  if (watch !== undefined) env[DIE_WITH_PARENT_ENV] = watch;
  const why = execFromMemory(JOIN_NAME, program, [
    JOIN_NAME,
    String(own.length),
    ...own,
    ...args,
  ], env);
  return `cannot exec the native join: ${why}`;
}
