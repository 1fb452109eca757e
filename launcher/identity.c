/*
 * identity.c — see identity.h.
 */
#include "identity.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int wgl_identity_parse_id(const char *s, unsigned *out) {
  if (s == NULL || *s == '\0') return -EINVAL;
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > UINT_MAX - 1) return -EINVAL;
  *out = (unsigned)v;
  return 0;
}

int wgl_identity_groups(uid_t uid, gid_t gid, gid_t **groups, int *count) {
  struct passwd *pw = getpwuid(uid);
  int n = 64;
  for (int tries = 0; pw != NULL && tries < 4; tries++) {
    gid_t *bigger = realloc(*groups, (size_t)n * sizeof(gid_t));
    if (bigger == NULL) return -ENOMEM;
    *groups = bigger;
    int want = n;
    if (getgrouplist(pw->pw_name, gid, *groups, &want) >= 0) {
      *count = want;
      return 0;
    }
    n = want > n ? want : n * 2;
  }
  free(*groups);
  *groups = malloc(sizeof(gid_t));
  if (*groups == NULL) return -ENOMEM;
  (*groups)[0] = gid;
  *count = 1;
  return 0;
}

int wgl_identity_signalable_by(uid_t uid) {
  /* glibc's setresuid changes every thread of the process, as it must. */
  return setresuid((uid_t)-1, (uid_t)-1, uid) == 0 ? 0 : -errno;
}

int wgl_identity_become(uid_t uid, gid_t gid, const gid_t *groups, int count) {
  if (syscall(SYS_setgroups, (size_t)count, groups) != 0 ||
      syscall(SYS_setresgid, gid, gid, gid) != 0 || syscall(SYS_setresuid, uid, uid, uid) != 0) {
    return -errno;
  }
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  return 0;
}
