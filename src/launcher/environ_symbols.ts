/**
 * FFI signature of the launcher's environment scrub (launcher/environ.c),
 * merged into the launcher's symbol table by `symbols.ts`.
 *
 * @module
 */

export const environSymbols = {
  wgl_environ_scrub: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
