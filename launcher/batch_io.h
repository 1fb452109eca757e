/*
 * batch_io.h — the data path's batch I/O behind one FFI binding.
 *
 * Deno compiles a trampoline for each FFI function it binds, on the main
 * thread of every run before the command starts: ~0.2 ms a function, more
 * for each buffer parameter, ~1.5 ms for the six the data path calls each
 * turn. wgl_batch_io is one binding for all of them, with the parameters
 * they have in common; a call costs what a call of the function itself does
 * (one switch more). wgl_wait, which blocks, keeps its own (nonblocking)
 * binding.
 *
 * The operation numbers are also listed in src/launcher/batch_io_symbols.ts;
 * tests/launcher_dispatch_test.ts checks that the two lists agree.
 */
#ifndef WGL_BATCH_IO_H
#define WGL_BATCH_IO_H

#include <stdint.h>

enum wgl_batch_op {
  WGL_BATCH_TUN_READ = 1,
  WGL_BATCH_TUN_READ_VNET = 2,
  WGL_BATCH_TUN_WRITE = 3,
  WGL_BATCH_TUN_WRITE_VNET = 4,
  WGL_BATCH_UDP_RECV = 5,
  WGL_BATCH_UDP_RECV_GRO = 6,
  WGL_BATCH_UDP_SEND_GSO = 7,
  WGL_BATCH_EVENTFD_SIGNAL = 8,
};

/* Runs packet_io.h's function for `op` on `fd`: `slots`, `slot_size`, `desc`
 * (u32 words) and `count` are the batch's, `arg` the function's one integer
 * more (the headroom of a TUN read, a vnet write's coalesce bits), `extra`
 * and `extra_len` its one buffer more (the scratch of a vnet read or a GRO
 * receive; the offload state of a GSO send, at least 4 bytes). An eventfd's
 * signal takes `fd` alone. Returns the function's result, or -EINVAL for an
 * operation this build does not have or a state shorter than its word. */
int32_t wgl_batch_io(uint32_t op, int32_t fd, uint8_t *slots, uint32_t slot_size, uint8_t *desc,
                     uint32_t count, int32_t arg, uint8_t *extra, uint32_t extra_len);

#endif
