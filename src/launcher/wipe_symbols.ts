/**
 * FFI signature of the launcher's page-by-page zeroing (launcher/wipe.c).
 *
 * @module
 */

export const wipeSymbols = {
  wgl_wipe_resident: { parameters: ["buffer", "u64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
