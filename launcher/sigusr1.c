/*
 * sigusr1.c — SIGUSR1 goes to the command, never to the JavaScript runtime.
 *
 * `deno run` (Deno >= 2.9.2) starts the V8 inspector, an unauthenticated
 * debugger, on 127.0.0.1:9229 when the process gets SIGUSR1: 500 ms after
 * start it registers SIGUSR1 with its signal registry (signal-hook), whose
 * handler wakes a task that opens the inspector. Any local user could then
 * run code inside wgcage, as root under sudo. No flag or variable turns that
 * off, and a JavaScript listener only runs beside it.
 *
 * So wgcage replaces the process's SIGUSR1 action with the handler below
 * (wgl_sigusr1_claim), right after making the runtime register SIGUSR1 itself
 * (src/cage/signals.ts adds a listener just before): the registry calls
 * sigaction only the first time a signal is registered, so the runtime's own
 * registration 500 ms after start, or any later listener, never puts its
 * handler back. The handler does not chain to the one it replaced.
 *
 * The handler forwards the signal to the cage's init, which passes it to the
 * command; while no cage is armed it drops it. It goes through a pidfd, so
 * it can never reach a process that took over the pid of an init already
 * reaped; where the kernel has no pidfds (< 5.3), through kill(2). The cage's
 * child resets every action right after the clone (cage.c), so the handler
 * never runs there.
 *
 * wgl_sigusr1_claim and wgl_sigusr1_forward are called from the main thread
 * only (synchronous FFI); the handler runs on whichever thread takes the
 * signal, and reads two lock-free atomics. Every function returns >= 0 or
 * -errno and never exits.
 */
#include "sigusr1.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the handler needs lock-free atomics");

/* The armed cage's init: a pidfd, or -1 and a pid where there are no pidfds. */
static atomic_int target_pidfd = -1;
static atomic_int target_pid = 0;

static void forward_sigusr1(int sig) {
  int saved = errno;
  int pidfd = atomic_load(&target_pidfd);
  int pid = atomic_load(&target_pid);
#ifdef SYS_pidfd_send_signal
  if (pidfd >= 0) {
    (void)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0U);
    errno = saved;
    return;
  }
#else
  (void)pidfd;
#endif
  if (pid > 0) (void)kill((pid_t)pid, sig);
  errno = saved;
}

int32_t wgl_sigusr1_state(void) {
  struct sigaction now;
  if (sigaction(SIGUSR1, NULL, &now) != 0) return -errno;
  /* sa_handler and sa_sigaction share their storage. */
  if (now.sa_handler == SIG_DFL || now.sa_handler == SIG_IGN) return WGL_SIGUSR1_FREE;
  if (!(now.sa_flags & SA_SIGINFO) && now.sa_handler == forward_sigusr1) return WGL_SIGUSR1_OURS;
  return WGL_SIGUSR1_OTHER;
}

int32_t wgl_sigusr1_claim(void) {
  struct sigaction ours;
  memset(&ours, 0, sizeof ours);
  ours.sa_handler = forward_sigusr1;
  ours.sa_flags = SA_RESTART;
  sigemptyset(&ours.sa_mask);
  return sigaction(SIGUSR1, &ours, NULL) == 0 ? 0 : -errno;
}

static int open_pidfd(int pid) {
#ifdef SYS_pidfd_open
  long fd = syscall(SYS_pidfd_open, pid, 0U);
  return fd >= 0 ? (int)fd : -errno;
#else
  (void)pid;
  return -ENOSYS;
#endif
}

int32_t wgl_sigusr1_forward(int32_t pid) {
  if (pid < 0) return -EINVAL;
  int pidfd = -1;
  if (pid > 0) {
    int fd = open_pidfd(pid);
    if (fd < 0 && fd != -ENOSYS) return fd;
    pidfd = fd < 0 ? -1 : fd; /* no pidfds: kill(2) on the pid */
  }
  /* A handler running meanwhile signals the old init or the new one; one
   * that still holds the old pidfd after the close below gets EBADF. */
  atomic_store(&target_pid, pid);
  int old = atomic_exchange(&target_pidfd, pidfd);
  if (old >= 0) (void)close(old);
  return 0;
}
