/**
 * `wgcage exec` through the native join (launcher/join_main/, `wgcage-join`):
 * when this build has it, wgcage execs it in its own place, so that the
 * command's join, signals, terminal and status are the native program's, as
 * they are for the npm package's bin (which runs it without starting Deno
 * at all). It gets this process's own command line to hand back to for what
 * it leaves to the Deno path (src/cli/exec_command.ts), with
 * WGCAGE_NATIVE_JOIN=0 set so that this path then does the join itself.
 *
 * Not through it: a join through sudo (the sudo user's groups need NSS,
 * which the static program cannot use), a build without it (the compiled
 * binary: it has no file to exec), and WGCAGE_NATIVE_JOIN=0.
 *
 * @module
 */

import { joinProgramPath } from "../launcher/join_program.ts";

/** The variable that keeps (or, set to 0 by the native join, sends back) an exec on this path. */
export const NATIVE_JOIN_ENV = "WGCAGE_NATIVE_JOIN";

/** cli/die_with_parent.ts's variable (a layer above this one). */
const DIE_WITH_PARENT_ENV = "WGCAGE_DIE_WITH_PARENT";

const execveSymbols = {
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** A NULL-terminated array of pointers to NUL-terminated copies of `strings`. */
function cStrings(
  strings: readonly string[],
): { array: BigUint64Array<ArrayBuffer>; keep: Uint8Array[] } {
  const encoder = new TextEncoder();
  const keep = strings.map((s) => encoder.encode(`${s}\0`));
  const array = new BigUint64Array(keep.length + 1);
  keep.forEach((b, i) => {
    array[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
  });
  return { array, keep };
}

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
  const joinProgram = await joinProgramPath();
  if (joinProgram === undefined) return "this build has no native join";
  try {
    const info = Deno.statSync(joinProgram);
    if (!info.isFile || ((info.mode ?? 0) & 0o111) === 0) throw new Error("not executable");
  } catch {
    return `${joinProgram} is missing`;
  }
  const own = ownCommand(args);
  if (own === undefined || args[0] !== "exec") return "cannot tell its own command line";
  const argv = cStrings([joinProgram, String(own.length), ...own, ...args]);
  const env = Deno.env.toObject();
  // wgcage took WGCAGE_DIE_WITH_PARENT out of its environment when it
  // started (and armed the watch, which the exec ends): the native join
  // takes it up again from the block the process started with.
  const watch = startingEnvironment().get(DIE_WITH_PARENT_ENV);
  if (watch !== undefined) env[DIE_WITH_PARENT_ENV] = watch;
  const envp = cStrings(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  const lib = Deno.dlopen("libc.so.6", execveSymbols);
  try {
    lib.symbols.execve(argv.keep[0], argv.array, envp.array);
  } finally {
    lib.close();
  }
  return `cannot exec ${joinProgram}`;
}
