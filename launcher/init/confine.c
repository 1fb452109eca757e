/*
 * confine.c — see confine.h.
 *
 * Why: the init and the socket service run in the cage beside the command.
 * A command that is root of the cage (--root, or root without sudo) shares
 * their uid, so only capabilities and dumpability stand between it and them:
 * with CAP_SYS_PTRACE, or against a dumpable init, it could ptrace PID 1 and
 * make it unmount the covers or type into the terminal the init holds. Of the
 * designs the runtimes use, this is bubblewrap's: its PID 1 drops every
 * capability before it waits, so nothing is left to borrow, and a
 * non-dumpable process may be traced only with CAP_SYS_PTRACE in its user
 * namespace, which the command does not get (command.c). The other design,
 * a nested user namespace for the command (crun's and podman's --userns
 * inside a container), would also keep the command from its init, but
 * capabilities over the cage's network belong to the namespace that owns it:
 * a --root command could no longer configure it (ip, tcpdump), which is what
 * --root is for.
 *
 * What the init still does after the drop needs no capability: waitpid,
 * kill() of a process of its own uid, SIGCONT within its session, TIOCSPGRP
 * on its own controlling terminal. The socket service binds ports below 1024
 * because the cage's network namespace sets ip_unprivileged_port_start to 0
 * (cage.c), as Docker does in its containers.
 */
#include "confine.h"

#include "terminal_filter.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool permitted_empty(void) {
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[0].permitted == 0 && data[1].permitted == 0;
}

/* Every capability in the bounding set, while CAP_SETPCAP is still held. A
 * caller that never had a capability (the init of a cage whose command is
 * not root: its exec left it none) cannot shrink the set and has nothing to
 * keep within it; under no_new_privs no exec can fill its permitted set. */
static int drop_bounding_set(void) {
  bool refused = false;
  for (int cap = 0;; cap++) {
    int held = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (held < 0) {
      if (errno == EINVAL) break; /* past the kernel's last capability */
      return -errno;
    }
    if (held == 0) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno != EPERM) return -errno;
      refused = true;
    }
  }
  return refused && !permitted_empty() ? -EPERM : 0;
}

int confine_self(void) {
  int rc = drop_bounding_set();
  if (rc < 0) return rc;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return -errno;
  }
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) return -errno;
  /* After the drop: a credential change may reset dumpability. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return -errno;
  return terminal_filter_install();
}
