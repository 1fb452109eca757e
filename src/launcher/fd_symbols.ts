/**
 * FFI signatures of the launcher's small fd helpers (launcher/fd.c): whole
 * datagrams on the cage's netlink socket, a receive timeout, close; the
 * cage's init opened for its exec.
 *
 * @module
 */

export const fdSymbols = {
  wgl_fd_recv: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  wgl_fd_send: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  wgl_fd_close: { parameters: ["i32"], result: "i32" },
  wgl_fd_set_recv_timeout: { parameters: ["i32", "u32"], result: "i32" },
  wgl_fd_stdin_to_null: { parameters: [], result: "i32" },
  wgl_fd_open_program: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
