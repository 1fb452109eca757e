/*
 * sigusr1.h — SIGUSR1 taken from the JavaScript runtime, whose handler opens
 * a debugger, and forwarded to the cage's init (see sigusr1.c).
 */
#ifndef WGL_SIGUSR1_H
#define WGL_SIGUSR1_H

#include <stdint.h>

/* What wgl_sigusr1_state says of SIGUSR1's action. */
enum wgl_sigusr1_state {
  WGL_SIGUSR1_FREE = 0,  /* SIG_DFL or SIG_IGN: nobody has registered it yet */
  WGL_SIGUSR1_OTHER = 1, /* another handler: the runtime registered it first */
  WGL_SIGUSR1_OURS = 2,  /* the handler of sigusr1.c */
};

/* Returns a wgl_sigusr1_state, or -errno. */
int32_t wgl_sigusr1_state(void);

/* Makes sigusr1.c's handler SIGUSR1's action: it forwards the signal to the
 * armed init, or drops it. Returns 0 or -errno. */
int32_t wgl_sigusr1_claim(void);

/* Forwards SIGUSR1 to the init `pid` from now on (through a pidfd where the
 * kernel has them); 0 stops forwarding. Call from one thread only. Returns 0
 * or -errno (-ESRCH: that process was reaped). */
int32_t wgl_sigusr1_forward(int32_t pid);

#endif
