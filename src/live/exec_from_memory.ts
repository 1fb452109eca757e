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

const libcSymbols = {
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // Variadic in C; its third argument is an int here, passed as a fixed one.
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  fexecve: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
/** Linux 6.3+: executable even where vm.memfd_noexec makes memfds noexec by default. */
const MFD_EXEC = 0x10;
const F_ADD_SEALS = 1024 + 9;
const F_SEAL_SEAL = 0x1;
const F_SEAL_SHRINK = 0x2;
const F_SEAL_GROW = 0x4;
const F_SEAL_WRITE = 0x8;

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

/** A sealed close-on-exec memfd named `name` holding `bytes`, or why there is none. */
function sealedMemfd(c: Libc, name: string, bytes: Uint8Array): number | string {
  const cName = new TextEncoder().encode(`${name}\0`);
  const flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  // MFD_EXEC is unknown before Linux 6.3 (EINVAL): then without it.
  let fd = c.memfd_create(cName, flags | MFD_EXEC);
  if (fd < 0) fd = c.memfd_create(cName, flags);
  if (fd < 0) return "memfd_create failed";
  let done = 0;
  while (done < bytes.length) {
    const n = Number(c.write(fd, bytes.subarray(done), BigInt(bytes.length - done)));
    if (n <= 0) {
      c.close(fd);
      return "cannot write the memfd";
    }
    done += n;
  }
  const seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (c.fcntl(fd, F_ADD_SEALS, seals) !== 0) {
    c.close(fd);
    return "cannot seal the memfd";
  }
  return fd;
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
    const fd = sealedMemfd(lib.symbols, name, bytes);
    if (typeof fd === "string") return fd;
    const args = cStrings(argv);
    const envp = cStrings(Object.entries(env).map(([k, v]) => `${k}=${v}`));
    lib.symbols.fexecve(fd, args.array, envp.array);
    lib.symbols.close(fd);
    return "fexecve of the memfd failed";
  } finally {
    lib.close();
  }
}
