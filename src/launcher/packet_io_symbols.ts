/**
 * FFI signatures of the launcher's batched packet I/O (launcher/packet_io.c).
 * Slots and descriptors are passed as views of the core's WASM memory.
 *
 * @module
 */

export const packetIoSymbols = {
  wgl_tun_read_batch: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "u32"],
    result: "i32",
  },
  wgl_tun_write_batch: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
  wgl_udp_open: { parameters: ["u32"], result: "i32" },
  wgl_udp_local_port: { parameters: ["i32"], result: "i32" },
  wgl_udp_recv_batch: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
  wgl_udp_send_batch: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
  wgl_tun_detach_on_close: { parameters: ["i32"], result: "i32" },
  wgl_eventfd: { parameters: [], result: "i32" },
  wgl_eventfd_signal: { parameters: ["i32"], result: "i32" },
  wgl_tun_want_vnet_hdr: { parameters: ["i32"], result: "i32" },
  wgl_tun_offload: { parameters: ["i32", "u32"], result: "i32" },
  wgl_tun_read_batch_vnet: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  wgl_tun_write_batch_vnet: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "i32"],
    result: "i32",
  },
  wgl_udp_offload: { parameters: ["i32", "u32"], result: "i32" },
  wgl_udp_send_batch_gso: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "buffer"],
    result: "i32",
  },
  wgl_udp_recv_batch_gro: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
  wgl_wait: { parameters: ["i32", "i32", "i32", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

/** The packet I/O half of the loaded launcher library. */
export type PacketIoSymbols = Deno.DynamicLibrary<typeof packetIoSymbols>["symbols"];
