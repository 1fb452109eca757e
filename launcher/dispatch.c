/*
 * dispatch.c — wgl_call: the set-up functions behind one FFI binding
 * (dispatch.h says why).
 */
#include "dispatch.h"

#include <errno.h>
#include <stddef.h>

#include "cage.h"
#include "environ.h"
#include "fd.h"
#include "packet_io.h"
#include "parent_death.h"
#include "protect.h"
#include "sigusr1.h"
#include "startup_code.h"
#include "wipe.h"

/* A word as the pointer TypeScript passed (Deno.UnsafePointer's address). */
static void *ptr(int64_t word) { return (void *)(uintptr_t)word; }

int32_t wgl_call(const int64_t *w) {
  if (w == NULL) return -EINVAL;
  switch ((enum wgl_op)w[0]) {
  case WGL_OP_CAGE_OPEN:
    return wgl_cage_open(ptr(w[1]), (uint32_t)w[2], ptr(w[3]));
  case WGL_OP_CAGE_AWAIT_FDS:
    return wgl_cage_await_fds((int)w[1], ptr(w[2]));
  case WGL_OP_CAGE_GO:
    return wgl_cage_go((int)w[1]);
  case WGL_OP_CAGE_AWAIT_EXEC:
    return wgl_cage_await_exec((int)w[1], ptr(w[2]));
  case WGL_OP_CAGE_WAIT:
    return wgl_cage_wait((int)w[1]);
  case WGL_OP_CAGE_SIGNAL:
    return wgl_cage_signal((int)w[1], (int)w[2]);
  case WGL_OP_TTY_RECLAIM:
    return wgl_tty_reclaim((int)w[1]);
  case WGL_OP_CAGE_RESUME:
    return wgl_cage_resume((int)w[1], (int)w[2]);
  case WGL_OP_FD_RECV:
    return wgl_fd_recv((int)w[1], ptr(w[2]), (uint32_t)w[3]);
  case WGL_OP_FD_SEND:
    return wgl_fd_send((int)w[1], ptr(w[2]), (uint32_t)w[3]);
  case WGL_OP_FD_CLOSE:
    return wgl_fd_close((int)w[1]);
  case WGL_OP_FD_SET_RECV_TIMEOUT:
    return wgl_fd_set_recv_timeout((int)w[1], (uint32_t)w[2]);
  case WGL_OP_FD_STDIN_TO_NULL:
    return wgl_fd_stdin_to_null();
  case WGL_OP_FD_OPEN_PROGRAM:
    return wgl_fd_open_program(ptr(w[1]));
  case WGL_OP_WIPE_RESIDENT:
    return wgl_wipe_resident(ptr(w[1]), (uint64_t)w[2]);
  case WGL_OP_RELEASE_STARTUP_CODE:
    return wgl_release_startup_code();
  case WGL_OP_PROCESS_PROTECT:
    return wgl_process_protect();
  case WGL_OP_SIGUSR1_STATE:
    return wgl_sigusr1_state();
  case WGL_OP_SIGUSR1_CLAIM:
    return wgl_sigusr1_claim();
  case WGL_OP_SIGUSR1_FORWARD:
    return wgl_sigusr1_forward((int32_t)w[1]);
  case WGL_OP_ENVIRON_SCRUB:
    return wgl_environ_scrub(ptr(w[1]));
  case WGL_OP_PARENT_DEATH_ARM:
    return wgl_parent_death_arm((int32_t)w[1]);
  case WGL_OP_UDP_OPEN:
    return wgl_udp_open((uint32_t)w[1]);
  case WGL_OP_UDP_LOCAL_PORT:
    return wgl_udp_local_port((int32_t)w[1]);
  case WGL_OP_UDP_OFFLOAD:
    return wgl_udp_offload((int32_t)w[1], (uint32_t)w[2]);
  case WGL_OP_TUN_WANT_VNET_HDR:
    return wgl_tun_want_vnet_hdr((int32_t)w[1]);
  case WGL_OP_TUN_OFFLOAD:
    return wgl_tun_offload((int32_t)w[1], (uint32_t)w[2]);
  case WGL_OP_TUN_DETACH_ON_CLOSE:
    return wgl_tun_detach_on_close((int32_t)w[1]);
  case WGL_OP_EVENTFD:
    return wgl_eventfd();
  }
  return -ENOSYS;
}
