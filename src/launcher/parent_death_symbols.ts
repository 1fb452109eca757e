/**
 * FFI signatures of launcher/parent_death.c: wgcage's own parent-death signal.
 *
 * @module
 */

export const parentDeathSymbols = {
  wgl_parent_death_arm: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
