/*
 * parent_death.c — the parent-death signal for wgcage itself, as
 * bubblewrap's --die-with-parent sets it for its sandbox: SIGKILL, not a
 * signal wgcage could forward or handle. Nobody is left to read what wgcage
 * would say, and the cage follows at once without any help from wgcage: its
 * child has a parent-death SIGKILL of its own (cage.c), and the command runs
 * in the init's PID namespace, which ends with the init.
 *
 * The kernel sends it when the *thread* that forked wgcage exits, not its
 * process; the caller arms it only for a parent with one thread
 * (src/cli/die_with_parent.ts says what it does for the others).
 */
#include "parent_death.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

int32_t wgl_parent_death_arm(int32_t parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -errno;
  /* After the prctl: a parent that dies from here on signals us. */
  return getppid() == (pid_t)parent ? 0 : -ESRCH;
}
