/*
 * startup_code.c — the Deno runtime's code that wgcage's start-up ran (module
 * loading, the compilers, the FFI set-up) is most of wgcage's resident
 * memory: 20–25 MiB of the executable's pages, few of which the data path
 * uses again. Once the command runs, wgcage unmaps them from its own page
 * tables: only the executable's r-xp mappings, which are file-backed, private
 * and never written, so MADV_DONTNEED drops nothing but the mapping — the
 * pages stay in the page cache (no I/O) and the next use of one maps it again
 * with a minor fault, as after the kernel's own reclaim. Read-only data (r--p)
 * is left alone: RELRO pages there were written by the loader.
 */
#include "startup_code.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The process's resident pages (statm's second field), or -1. */
static long resident_pages(void) {
  FILE *f = fopen("/proc/self/statm", "re");
  if (f == NULL) return -1;
  long size = 0, resident = -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident;
}

int32_t wgl_release_startup_code(void) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return n < 0 ? -errno : -ENOENT;
  exe[n] = '\0';
  FILE *maps = fopen("/proc/self/maps", "re");
  if (maps == NULL) return -errno;
  long before = resident_pages();
  char line[PATH_MAX + 128];
  int32_t rc = 0;
  while (fgets(line, sizeof line, maps) != NULL) {
    unsigned long start = 0, end = 0;
    char perms[5] = {0};
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3) continue;
    if (strcmp(perms, "r-xp") != 0 || path_at <= 0) continue;
    char *path = line + path_at;
    path[strcspn(path, "\n")] = '\0';
    if (strcmp(path, exe) != 0 || end <= start) continue;
    if (madvise((void *)start, end - start, MADV_DONTNEED) != 0) {
      rc = -errno;
      break;
    }
  }
  fclose(maps);
  if (rc < 0) return rc;
  long after = resident_pages();
  if (before < 0 || after < 0 || after > before) return 0;
  uint64_t kib = (uint64_t)(before - after) * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
  return kib > INT32_MAX ? INT32_MAX : (int32_t)kib;
}
