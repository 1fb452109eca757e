/**
 * Exec of a static program that wgcage holds as bytes (wgcage-join): the
 * bytes go into a sealed, close-on-exec memfd that fexecve(3) runs
 * (execveat(fd, "", AT_EMPTY_PATH)), as the launcher runs the cage's init.
 * One way for every build: the compiled binary has no file to exec, and from
 * source or the npm package the program is not looked up by a path that
 * someone could change between a check and the exec. Static, so the kernel
 * needs no interpreter from the file system.
 *
 * The memfd is sealed (no write, shrink or grow, no new seals) before the
 * exec, as runc and crun seal the copy of their own binary they re-exec:
 * another process of the user that opens /proc/PID/fd/N or /proc/PID/exe
 * finds the bytes fixed.
 *
 * @module
 */

import { memfdHolding } from "../launcher/memfd.ts";

const libcSymbols = {
  fexecve: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
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

/**
 * Execs `bytes` (a static ELF program) as `argv` with `env`, in this
 * process's place; returns only when it could not, saying why.
 */
export function execFromMemory(
  name: string,
  bytes: Uint8Array,
  argv: readonly string[],
  env: Record<string, string>,
): string {
  const lib = Deno.dlopen("libc.so.6", libcSymbols);
  try {
    let fd: number;
    try {
      fd = memfdHolding(name, bytes, true);
    } catch (e) {
      return (e as Error).message;
    }
    const args = cStrings(argv);
    const envp = cStrings(Object.entries(env).map(([k, v]) => `${k}=${v}`));
    lib.symbols.fexecve(fd, args.array, envp.array);
    lib.symbols.close(fd);
    return "fexecve of the memfd failed";
  } finally {
    lib.close();
  }
}
