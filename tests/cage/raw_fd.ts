/**
 * Raw fd calls for tests, straight from libc: reading and writing the cage's
 * TUN fd and looking at its mode. wgcage itself never needs them, so the
 * launcher does not export them (each FFI symbol costs start-up time).
 *
 * @module
 */

const libcSymbols = {
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

let opened: Deno.DynamicLibrary<typeof libcSymbols> | undefined;

/** Opened on first use: a test may run the driver without FFI permission on purpose. */
function libc(): Deno.DynamicLibrary<typeof libcSymbols>["symbols"] {
  opened ??= Deno.dlopen("libc.so.6", libcSymbols);
  return opened.symbols;
}

const F_GETFL = 3;
const O_NONBLOCK = 0o4000;
const POLLIN = 1;

/** read(2): bytes read, or -1 (e.g. EAGAIN on a drained non-blocking fd). */
export function readFd(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  return Number(libc().read(fd, buf, BigInt(buf.length)));
}

/** write(2): bytes written, or -1. */
export function writeFd(fd: number, data: Uint8Array<ArrayBuffer>): number {
  return Number(libc().write(fd, data, BigInt(data.length)));
}

/** Whether O_NONBLOCK is set on `fd`. */
export function isNonBlocking(fd: number): boolean {
  const flags = libc().fcntl(fd, F_GETFL, 0);
  if (flags < 0) throw new Error(`fcntl(${fd}, F_GETFL) failed`);
  return (flags & O_NONBLOCK) !== 0;
}

/** Waits up to `timeoutMs` for `fd` to become readable; true when it is. */
export async function waitReadable(fd: number, timeoutMs: number): Promise<boolean> {
  const pollfd = new Uint8Array(8);
  const view = new DataView(pollfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, POLLIN, true);
  const n = await libc().poll(pollfd, 1n, timeoutMs);
  return n > 0;
}
