/**
 * The launcher library (launcher/*.c) loaded from the bytes embedded in
 * `_launcher_asset.ts`, with no file left behind: the bytes go into a memfd
 * that is dlopen'ed through `/proc/self/fd/N`; where memfd_create is missing,
 * into a 0600 temp file that is unlinked right after dlopen.
 *
 * @module
 */

import { launcherBytes } from "./_launcher_asset.ts";
import { packetIoSymbols } from "../datapath/packet_io_symbols.ts";
import { CageError, EXIT_REFUSED } from "./error.ts";

/** The cage's half: launcher/cage.h. */
export const cageSymbols = {
  wgl_cage_open: { parameters: ["buffer", "u32", "buffer"], result: "i32" },
  wgl_cage_go: { parameters: ["i32"], result: "i32" },
  wgl_cage_await_exec: { parameters: ["i32", "buffer"], result: "i32", nonblocking: true },
  wgl_cage_wait: { parameters: ["i32"], result: "i32", nonblocking: true },
  wgl_cage_signal: { parameters: ["i32", "i32"], result: "i32" },
  wgl_tty_reclaim: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Small fd helpers: launcher/fd.c. */
export const fdSymbols = {
  wgl_fd_read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  wgl_fd_write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  wgl_fd_recv: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  wgl_fd_send: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  wgl_fd_close: { parameters: ["i32"], result: "i32" },
  wgl_fd_set_nonblock: { parameters: ["i32", "i32"], result: "i32" },
  wgl_fd_is_nonblock: { parameters: ["i32"], result: "i32" },
  wgl_fd_set_recv_timeout: { parameters: ["i32", "u32"], result: "i32" },
  wgl_fd_wait_readable: { parameters: ["i32", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * Every export of the launcher. The packet I/O half (launcher/packet_io.c:
 * wgl_tun_read_batch, wgl_tun_write_batch, wgl_udp_*, wgl_wait, …) is
 * declared in src/datapath/packet_io_symbols.ts and merged here.
 */
export const launcherSymbols = {
  ...cageSymbols,
  ...fdSymbols,
  ...packetIoSymbols,
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded launcher's functions. */
export type LauncherSymbols = Deno.DynamicLibrary<typeof launcherSymbols>["symbols"];

const libcSymbols = {
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const MFD_CLOEXEC = 1;

let loaded: Deno.DynamicLibrary<typeof launcherSymbols> | undefined;

function openThroughMemfd(bytes: Uint8Array): Deno.DynamicLibrary<typeof launcherSymbols> {
  const libc = Deno.dlopen("libc.so.6", libcSymbols);
  try {
    const fd = libc.symbols.memfd_create(
      new TextEncoder().encode("wgcage-launcher\0"),
      MFD_CLOEXEC,
    );
    if (fd < 0) throw new Error("memfd_create failed");
    try {
      let done = 0;
      while (done < bytes.length) {
        const n = Number(libc.symbols.write(fd, bytes.subarray(done), BigInt(bytes.length - done)));
        if (n <= 0) throw new Error("cannot write the memfd");
        done += n;
      }
      return Deno.dlopen(`/proc/self/fd/${fd}`, launcherSymbols);
    } finally {
      libc.symbols.close(fd);
    }
  } finally {
    libc.close();
  }
}

function openThroughTempFile(bytes: Uint8Array): Deno.DynamicLibrary<typeof launcherSymbols> {
  const path = Deno.makeTempFileSync({ prefix: "wgcage-launcher-", suffix: ".so" });
  try {
    Deno.chmodSync(path, 0o600);
    Deno.writeFileSync(path, bytes);
    return Deno.dlopen(path, launcherSymbols);
  } finally {
    Deno.removeSync(path);
  }
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim();
}

/**
 * The launcher, loaded on first use. Throws {@linkcode CageError} (exit 125)
 * when it cannot be loaded.
 */
export function launcher(): LauncherSymbols {
  if (loaded) return loaded.symbols;
  let first: unknown;
  try {
    loaded = openThroughMemfd(launcherBytes);
  } catch (e) {
    first = e;
    try {
      loaded = openThroughTempFile(launcherBytes);
    } catch (second) {
      const cause = oneLine(second);
      const earlier = oneLine(first);
      throw new CageError(
        `wgcage: Cannot load the launcher library: ${cause} (memfd: ${earlier}); ` +
          "allow FFI and file access (deno run -A) and make the temp directory writable",
        EXIT_REFUSED,
      );
    }
  }
  return loaded.symbols;
}
