/**
 * The launcher's one entry point for its set-up functions, `wgl_call`
 * (launcher/dispatch.h), and the operation number of each function reached
 * through it. Deno binds every FFI function with a trampoline of its own
 * (~0.1 ms each, more with buffer parameters) on the main thread of every
 * run; the ~30 that a run calls once or a few times cost one binding this
 * way, where ~3 ms of a run's start went before. The per-packet functions
 * have one binding of their own (batch_io_symbols.ts), and the wait another.
 *
 * @module
 */

/**
 * Each dispatched function's operation number: launcher/dispatch.h's
 * `enum wgl_op` (tests/launcher_dispatch_test.ts checks that they agree).
 */
export const DISPATCHED_OPS = {
  wgl_cage_open: 1,
  wgl_cage_await_fds: 2,
  wgl_cage_go: 3,
  wgl_cage_await_exec: 4,
  wgl_cage_wait: 5,
  wgl_cage_signal: 6,
  wgl_tty_reclaim: 7,
  wgl_cage_resume: 8,
  wgl_fd_recv: 9,
  wgl_fd_send: 10,
  wgl_fd_close: 11,
  wgl_fd_set_recv_timeout: 12,
  wgl_fd_stdin_to_null: 13,
  wgl_fd_open_program: 14,
  wgl_wipe_resident: 15,
  wgl_release_startup_code: 16,
  wgl_process_protect: 17,
  wgl_sigusr1_state: 18,
  wgl_sigusr1_claim: 19,
  wgl_sigusr1_forward: 20,
  wgl_environ_scrub: 21,
  wgl_parent_death_arm: 22,
  wgl_udp_open: 23,
  wgl_udp_local_port: 24,
  wgl_udp_offload: 25,
  wgl_tun_want_vnet_hdr: 26,
  wgl_tun_offload: 27,
  wgl_tun_detach_on_close: 28,
  wgl_eventfd: 29,
} as const;

/**
 * `wgl_call` bound twice: a plain call, and a nonblocking one (Deno runs it
 * on a thread of its own) for the functions that wait.
 */
export const dispatchSymbols = {
  wgl_call: { parameters: ["buffer"], result: "i32" },
  wgl_call_nonblocking: {
    name: "wgl_call",
    parameters: ["buffer"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;
