/**
 * FFI signatures of the cage's half of the launcher (launcher/cage.c,
 * launcher/cage.h): clone, the TUN and netlink fds, the go-ahead, exec, wait, signals, the terminal.
 *
 * @module
 */

export const cageSymbols = {
  wgl_cage_open: { parameters: ["buffer", "u32", "buffer"], result: "i32" },
  wgl_cage_await_fds: { parameters: ["i32", "buffer"], result: "i32", nonblocking: true },
  wgl_cage_go: { parameters: ["i32"], result: "i32" },
  wgl_cage_await_exec: { parameters: ["i32", "buffer"], result: "i32", nonblocking: true },
  wgl_cage_wait: { parameters: ["i32"], result: "i32", nonblocking: true },
  wgl_cage_signal: { parameters: ["i32", "i32"], result: "i32" },
  wgl_tty_reclaim: { parameters: ["i32"], result: "i32" },
  wgl_cage_resume: { parameters: ["i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
