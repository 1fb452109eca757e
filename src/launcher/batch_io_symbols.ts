/**
 * The data path's batch I/O through one FFI binding, `wgl_batch_io`
 * (launcher/batch_io.h): Deno compiles a trampoline for each function it
 * binds, on the main thread of every run before the command can start, ~1.5
 * ms for the six the data path calls each turn; one binding costs ~0.4. Each
 * function of packet_io_symbols.ts that it carries is given as JavaScript
 * calls it, with its own parameters, by a wrapper over that binding.
 *
 * @module
 */

/**
 * Each batch function's operation number: launcher/batch_io.h's
 * `enum wgl_batch_op` (tests/launcher_dispatch_test.ts checks that they agree).
 */
export const BATCH_IO_OPS = {
  wgl_tun_read_batch: 1,
  wgl_tun_read_batch_vnet: 2,
  wgl_tun_write_batch: 3,
  wgl_tun_write_batch_vnet: 4,
  wgl_udp_recv_batch: 5,
  wgl_udp_recv_batch_gro: 6,
  wgl_udp_send_batch_gso: 7,
  wgl_eventfd_signal: 8,
} as const;

export type BatchIoName = keyof typeof BATCH_IO_OPS;

/** The one binding: operation, fd, slots, slot size, descriptors, count, an integer, a buffer and its length. */
export const batchIoSymbols = {
  wgl_batch_io: {
    parameters: ["u32", "i32", "buffer", "u32", "buffer", "u32", "i32", "buffer", "u32"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

type Buffer = BufferSource;

/** `wgl_batch_io` as Deno binds it. */
export type BatchIo = (
  op: number,
  fd: number,
  slots: Buffer,
  slotSize: number,
  desc: Buffer,
  count: number,
  arg: number,
  extra: Buffer,
  extraLen: number,
) => number;

/**
 * What a parameter the function does not have is given as: an empty buffer
 * rather than null, which V8's fast path for FFI calls would not take.
 */
const NONE = new Uint8Array(0);

/** The function `name` over `io`, with the parameters packet_io_symbols.ts gives it. */
export function batchIoFunction(name: BatchIoName, io: BatchIo): (...args: never[]) => number {
  const op = BATCH_IO_OPS[name];
  switch (name) {
    case "wgl_tun_read_batch":
    case "wgl_tun_write_batch_vnet":
      // The headroom of a read, the coalesce bits of a write.
      return (fd: number, slots: Buffer, size: number, desc: Buffer, n: number, arg: number) =>
        io(op, fd, slots, size, desc, n, arg, NONE, 0);
    case "wgl_tun_read_batch_vnet":
      return (
        fd: number,
        slots: Buffer,
        size: number,
        desc: Buffer,
        n: number,
        headroom: number,
        scratch: Buffer,
        scratchLen: number,
      ) => io(op, fd, slots, size, desc, n, headroom, scratch, scratchLen);
    case "wgl_tun_write_batch":
    case "wgl_udp_recv_batch":
      return (fd: number, slots: Buffer, size: number, desc: Buffer, n: number) =>
        io(op, fd, slots, size, desc, n, 0, NONE, 0);
    case "wgl_udp_recv_batch_gro":
      return (
        fd: number,
        slots: Buffer,
        size: number,
        desc: Buffer,
        n: number,
        scratch: Buffer,
        scratchLen: number,
      ) => io(op, fd, slots, size, desc, n, 0, scratch, scratchLen);
    case "wgl_udp_send_batch_gso":
      return (fd: number, slots: Buffer, size: number, desc: Buffer, n: number, state: Buffer) =>
        io(op, fd, slots, size, desc, n, 0, state, state.byteLength);
    case "wgl_eventfd_signal":
      return (fd: number) => io(op, fd, NONE, 0, NONE, 0, 0, NONE, 0);
  }
}
