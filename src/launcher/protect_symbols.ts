/**
 * FFI signature of launcher/protect.c: wgcage's own memory kept to itself.
 *
 * @module
 */

export const protectSymbols = {
  wgl_process_protect: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
