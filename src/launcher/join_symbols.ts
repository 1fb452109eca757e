/**
 * FFI signatures of launcher/join.c: a command into a live cage.
 *
 * @module
 */

export const joinSymbols = {
  wgl_join_open: { parameters: ["buffer", "u32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
