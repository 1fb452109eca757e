/**
 * FFI signatures of launcher/join.c: a command into a live cage.
 *
 * @module
 */

export const joinSymbols = {
  wgl_join_open: { parameters: ["buffer", "u32", "buffer"], result: "i32" },
  wgl_join_await: { parameters: ["i32", "i32", "buffer"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;
