/**
 * FFI signatures of launcher/control.c: the unix sockets of a live cage's
 * control service (listen, accept with the client's uid and whether it is in
 * a cage, non-blocking I/O, fds passed, one poll over them all), and the
 * client's end that `wgcage exec` uses.
 *
 * @module
 */

export const controlSymbols = {
  wgl_ctl_listen: { parameters: ["buffer"], result: "i32" },
  wgl_ctl_accept: { parameters: ["i32", "buffer"], result: "i32" },
  wgl_ctl_recv: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  wgl_ctl_send: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  wgl_ctl_send_fds: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
  wgl_ctl_recv_fds: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "buffer"],
    result: "i32",
  },
  wgl_ctl_connect: { parameters: ["buffer"], result: "i32" },
  wgl_ctl_cage_fds: { parameters: ["i32", "buffer"], result: "i32" },
  wgl_ctl_poll: {
    parameters: ["buffer", "buffer", "u32", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;
