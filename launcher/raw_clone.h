/*
 * raw_clone.h — the raw clone syscall with fork semantics (no new stack),
 * which the cage's and the join's children are made with: why, in cage.c's
 * opening comment ("Clone choice"). One copy, for the architectures that
 * order its arguments differently.
 */
#ifndef WGL_RAW_CLONE_H
#define WGL_RAW_CLONE_H

#include <sys/syscall.h>
#include <unistd.h>

/* `flags` whole (with the exit signal, e.g. SIGCHLD); `pidfd` receives the
 * child's pidfd with CLONE_PIDFD, else NULL. The child gets 0. */
static inline long raw_clone(unsigned long flags, int *pidfd) {
#if defined(__s390__) || defined(__CRIS__)
  /* These architectures take the stack first. */
  return syscall(SYS_clone, 0L, flags, pidfd, 0L, 0L);
#else
  return syscall(SYS_clone, flags, 0L, pidfd, 0L, 0L);
#endif
}

#endif
