/*
 * dispatch.h — one entry point for the launcher's set-up functions.
 *
 * Deno binds each FFI function with a trampoline of its own, at ~0.1 ms a
 * function (more for each buffer parameter), on the main thread of every run
 * before the command can start. The functions a run calls once or a few
 * times (the cage's, the fds', the process's protection, the sockets'
 * set-up) are reached through wgl_call instead: one binding for all of them.
 * The data path's batch I/O has one binding of its own (batch_io.h), where
 * a call costs least, and so has the wait.
 *
 * The words: w[0] is the operation, w[1..] its arguments in the order of the
 * function's parameters, each widened to 64 bits (a pointer as its address).
 * The operation numbers are also listed in src/launcher/dispatch_symbols.ts;
 * tests/launcher_dispatch_test.ts checks that the two lists agree.
 */
#ifndef WGL_DISPATCH_H
#define WGL_DISPATCH_H

#include <stdint.h>

enum wgl_op {
  WGL_OP_CAGE_OPEN = 1,
  WGL_OP_CAGE_AWAIT_FDS = 2,
  WGL_OP_CAGE_GO = 3,
  WGL_OP_CAGE_AWAIT_EXEC = 4,
  WGL_OP_CAGE_WAIT = 5,
  WGL_OP_CAGE_SIGNAL = 6,
  WGL_OP_TTY_RECLAIM = 7,
  WGL_OP_CAGE_RESUME = 8,
  WGL_OP_FD_RECV = 9,
  WGL_OP_FD_SEND = 10,
  WGL_OP_FD_CLOSE = 11,
  WGL_OP_FD_SET_RECV_TIMEOUT = 12,
  WGL_OP_FD_STDIN_TO_NULL = 13,
  WGL_OP_FD_OPEN_PROGRAM = 14,
  WGL_OP_WIPE_RESIDENT = 15,
  WGL_OP_RELEASE_STARTUP_CODE = 16,
  WGL_OP_PROCESS_PROTECT = 17,
  WGL_OP_SIGUSR1_STATE = 18,
  WGL_OP_SIGUSR1_CLAIM = 19,
  WGL_OP_SIGUSR1_FORWARD = 20,
  WGL_OP_ENVIRON_SCRUB = 21,
  WGL_OP_PARENT_DEATH_ARM = 22,
  WGL_OP_UDP_OPEN = 23,
  WGL_OP_UDP_LOCAL_PORT = 24,
  WGL_OP_UDP_OFFLOAD = 25,
  WGL_OP_TUN_WANT_VNET_HDR = 26,
  WGL_OP_TUN_OFFLOAD = 27,
  WGL_OP_TUN_DETACH_ON_CLOSE = 28,
  WGL_OP_EVENTFD = 29,
};

/* Runs operation w[0] with the arguments w[1..]: the function's result, or
 * -ENOSYS for an operation this build does not have. Bound twice: as a plain
 * call, and as a nonblocking one (Deno runs it on a thread of its own) for
 * the operations that wait (the cage's fds, its exec, its end). */
int32_t wgl_call(const int64_t *w);

#endif
