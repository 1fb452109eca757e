/**
 * A close-on-exec memfd holding a program's bytes, for wgcage's own
 * programs when they do not run from their files: the launcher library
 * (dlopen'ed through /proc/self/fd), the cage's init and `wgcage-join`
 * (exec'd from the fd).
 *
 * It asks for MFD_EXEC (Linux 6.3+): where `vm.memfd_noexec=1` makes memfds
 * noexec by default, a memfd without it could be neither mapped executable
 * nor exec'd. Before 6.3 the flag is unknown (EINVAL), and the memfd is made
 * without it, executable as every memfd was then.
 *
 * @module
 */

const libcSymbols = {
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // Variadic in C; its third argument is an int here, passed as a fixed one.
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_EXEC = 0x10;
const F_ADD_SEALS = 1024 + 9;
const F_SEAL_SEAL = 0x1;
const F_SEAL_SHRINK = 0x2;
const F_SEAL_GROW = 0x4;
const F_SEAL_WRITE = 0x8;

let libc: Deno.DynamicLibrary<typeof libcSymbols> | undefined;

/**
 * A close-on-exec memfd named `name` holding `bytes`; the caller closes it.
 * `sealed`: no write, shrink or grow, no new seals, as runc and crun seal the
 * copy of their own binary they re-exec (another process of the user that
 * opens /proc/PID/fd/N finds the bytes fixed). Throws an Error saying what
 * failed.
 */
export function memfdHolding(name: string, bytes: Uint8Array, sealed = false): number {
  libc ??= Deno.dlopen("libc.so.6", libcSymbols);
  const c = libc.symbols;
  const cName = new TextEncoder().encode(`${name}\0`);
  const flags = MFD_CLOEXEC | (sealed ? MFD_ALLOW_SEALING : 0);
  let fd = c.memfd_create(cName, flags | MFD_EXEC);
  if (fd < 0) fd = c.memfd_create(cName, flags);
  if (fd < 0) throw new Error("memfd_create failed");
  let done = 0;
  while (done < bytes.length) {
    const n = Number(c.write(fd, bytes.subarray(done), BigInt(bytes.length - done)));
    if (n <= 0) {
      c.close(fd);
      throw new Error("cannot write the memfd");
    }
    done += n;
  }
  const seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (sealed && c.fcntl(fd, F_ADD_SEALS, seals) !== 0) {
    c.close(fd);
    throw new Error("cannot seal the memfd");
  }
  return fd;
}

/** close(2), for a memfd that is not wanted after all. */
export function closeMemfd(fd: number): void {
  libc ??= Deno.dlopen("libc.so.6", libcSymbols);
  libc.symbols.close(fd);
}
