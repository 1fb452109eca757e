/**
 * FFI signatures of launcher/sigusr1.c: SIGUSR1 taken from the JavaScript
 * runtime and forwarded to the cage.
 *
 * @module
 */

export const sigusr1Symbols = {
  wgl_sigusr1_state: { parameters: [], result: "i32" },
  wgl_sigusr1_claim: { parameters: [], result: "i32" },
  wgl_sigusr1_forward: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
