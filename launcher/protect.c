/*
 * protect.c — wgcage holds the private key, the PSKs and session keys. A
 * core dump would write them to disk, and a dumpable process's memory can be
 * read through /proc/PID/mem by any process of the same user, or, when the
 * command runs as root in the cage, by the command's own tools if they could
 * reach wgcage. Non-dumpable, neither happens.
 */
#include "protect.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int32_t wgl_process_protect(void) {
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) return -errno;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return -errno;
  return 0;
}
