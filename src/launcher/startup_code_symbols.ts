/**
 * FFI signature of the launcher's release of the runtime's start-up code
 * (launcher/startup_code.c).
 *
 * @module
 */

export const startupCodeSymbols = {
  wgl_release_startup_code: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
