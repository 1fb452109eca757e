/**
 * FFI signatures of the launcher's batched packet I/O (launcher/packet_io.c).
 * Slots and descriptors are passed as views of the core's WASM memory.
 *
 * Split by when a run needs them (library.ts binds each table on first use,
 * and a function with buffer arguments costs ~0.2–0.4 ms to bind): the
 * functions every tunnel uses, and the TUN and UDP reads and writes with and
 * without the kernel's offloads, of which a run uses one kind each.
 *
 * @module
 */

/** Set-up, wake-ups and sends: every tunnel uses these. */
export const packetIoCommonSymbols = {
  wgl_udp_open: { parameters: ["u32"], result: "i32" },
  wgl_udp_local_port: { parameters: ["i32"], result: "i32" },
  wgl_udp_offload: { parameters: ["i32", "u32"], result: "i32" },
  // Sends with UDP GSO while the socket has it, else one datagram a slot.
  wgl_udp_send_batch_gso: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "buffer"],
    result: "i32",
  },
  wgl_tun_want_vnet_hdr: { parameters: ["i32"], result: "i32" },
  wgl_tun_offload: { parameters: ["i32", "u32"], result: "i32" },
  wgl_tun_detach_on_close: { parameters: ["i32"], result: "i32" },
  wgl_eventfd: { parameters: [], result: "i32" },
  wgl_eventfd_signal: { parameters: ["i32"], result: "i32" },
  wgl_wait: { parameters: ["i32", "i32", "i32", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

/** TUN reads and writes with a virtio header (super-packets). */
export const packetIoTunVnetSymbols = {
  wgl_tun_read_batch_vnet: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  wgl_tun_write_batch_vnet: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "i32"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** TUN reads and writes of one packet each (no virtio header). */
export const packetIoTunPlainSymbols = {
  wgl_tun_read_batch: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "u32"],
    result: "i32",
  },
  wgl_tun_write_batch: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** UDP receives with GRO (merged datagrams split into slots). */
export const packetIoUdpGroSymbols = {
  wgl_udp_recv_batch_gro: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** UDP receives of one datagram a slot (no GRO). */
export const packetIoUdpPlainSymbols = {
  wgl_udp_recv_batch: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

export const packetIoSymbols = {
  ...packetIoCommonSymbols,
  ...packetIoTunVnetSymbols,
  ...packetIoTunPlainSymbols,
  ...packetIoUdpGroSymbols,
  ...packetIoUdpPlainSymbols,
} as const satisfies Deno.ForeignLibraryInterface;

/** The packet I/O half of the loaded launcher library. */
export type PacketIoSymbols = Deno.DynamicLibrary<typeof packetIoSymbols>["symbols"];
