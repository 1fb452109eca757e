/**
 * FFI signatures of the launcher's batched packet I/O (launcher/packet_io.c).
 * Slots and descriptors are passed as views of the core's WASM memory.
 *
 * Only the wait is bound as listed here: the set-up functions are reached
 * through `wgl_call` (dispatch_symbols.ts), and the batch reads, writes and
 * the wake-up through `wgl_batch_io` (batch_io_symbols.ts), whose wrappers
 * take the parameters these signatures give.
 *
 * @module
 */

export const packetIoSymbols = {
  // Set-up.
  wgl_udp_open: { parameters: ["u32"], result: "i32" },
  wgl_udp_local_port: { parameters: ["i32"], result: "i32" },
  wgl_udp_offload: { parameters: ["i32", "u32"], result: "i32" },
  wgl_tun_want_vnet_hdr: { parameters: ["i32"], result: "i32" },
  wgl_tun_offload: { parameters: ["i32", "u32"], result: "i32" },
  wgl_tun_detach_on_close: { parameters: ["i32"], result: "i32" },
  wgl_eventfd: { parameters: [], result: "i32" },
  // The wait, on a thread of Deno's, and its wake-up.
  wgl_wait: { parameters: ["i32", "i32", "i32", "i32"], result: "i32", nonblocking: true },
  wgl_eventfd_signal: { parameters: ["i32"], result: "i32" },
  // Sends with UDP GSO while the socket has it, else one datagram a slot.
  wgl_udp_send_batch_gso: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "buffer"],
    result: "i32",
  },
  // UDP receives with GRO (merged datagrams split into slots), and without.
  wgl_udp_recv_batch_gro: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
  wgl_udp_recv_batch: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
  // TUN reads and writes with a virtio header (super-packets), and without.
  wgl_tun_read_batch_vnet: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  wgl_tun_write_batch_vnet: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "i32"],
    result: "i32",
  },
  wgl_tun_read_batch: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "u32"],
    result: "i32",
  },
  wgl_tun_write_batch: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
