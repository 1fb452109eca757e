/**
 * FFI signatures of the launcher's relay between the host and the cage
 * (launcher/forward.c, launcher/forward.h).
 *
 * @module
 */

export const forwardSymbols = {
  wgl_forward_bind: { parameters: ["u32", "u32", "buffer", "u32"], result: "i32" },
  wgl_forward_open: { parameters: ["i32", "u32"], result: "i32" },
  wgl_forward_publish: { parameters: ["i32", "i32", "u32", "u32", "u32"], result: "i32" },
  wgl_forward_host_service: {
    parameters: ["i32", "u32", "u32", "buffer", "u32", "u32"],
    result: "i32",
  },
  wgl_forward_local: {
    parameters: ["i32", "i32", "u32", "u32", "buffer", "u32", "u32"],
    result: "i32",
  },
  wgl_forward_live_add: {
    parameters: ["i32", "i32", "u32", "u32", "buffer", "u32", "u32"],
    result: "i32",
  },
  wgl_forward_live_remove: { parameters: ["i32", "u32"], result: "i32" },
  wgl_forward_steer: { parameters: ["i32", "i32", "u32"], result: "i32" },
  wgl_forward_steer_command: {
    parameters: ["i32", "u32", "u32", "u32", "buffer", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  wgl_forward_steer_read: { parameters: ["i32", "u32", "buffer", "u32"], result: "i32" },
  wgl_forward_steer_wait: {
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  wgl_forward_exchange: {
    parameters: ["i32", "u32", "buffer", "u32", "buffer", "u32", "buffer", "u32", "u32"],
    result: "i32",
    nonblocking: true,
  },
  wgl_forward_start: { parameters: ["i32", "u32"], result: "i32" },
  wgl_forward_events: { parameters: ["i32", "buffer", "u32"], result: "i32", nonblocking: true },
  wgl_forward_stats: { parameters: ["i32", "buffer"], result: "i32" },
  wgl_forward_close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The relay half of the loaded launcher library. */
export type ForwardSymbols = Deno.DynamicLibrary<typeof forwardSymbols>["symbols"];
