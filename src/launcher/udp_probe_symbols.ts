/**
 * FFI signature of the launcher's UDP endpoint probe (launcher/udp_probe.c),
 * used only when a handshake is late; it blocks, so it runs on a worker
 * thread.
 *
 * @module
 */

export const udpProbeSymbols = {
  wgl_udp_probe: {
    parameters: ["buffer", "u32", "u32", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;
