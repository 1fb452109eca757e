/*
 * wipe.c — zeroing a large buffer without touching the pages nobody wrote.
 *
 * The WireGuard core's memory is a few MiB, mostly packet slots that a short
 * run never fills. Writing zeros over all of it makes the kernel allocate
 * every untouched page only to clear it again (~5 ms for 5 MiB). mincore(2)
 * says which pages are resident; a page that is not was never written, so it
 * holds nothing to wipe. (Nor does it when swapped out: zeroing it would fault
 * it back in, and the copy on the swap device would stay as it is either way.)
 */
#include "wipe.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Zeroes every resident page of [buf, buf + len) (partial pages at the ends
 * only within the range). Returns how many pages were zeroed, or -errno. */
int32_t wgl_wipe_resident(uint8_t *buf, uint64_t len) {
  if (len == 0) return 0;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = (uintptr_t)buf, end = start + (uintptr_t)len;
  uintptr_t first = start & ~(page - 1);
  int32_t wiped = 0;
  unsigned char vec[256];
  for (uintptr_t at = first; at < end;) {
    uintptr_t chunk_end = at + page * sizeof vec;
    if (chunk_end > end) chunk_end = end;
    if (mincore((void *)at, chunk_end - at, vec) < 0) return -errno;
    for (uintptr_t p = at; p < chunk_end; p += page) {
      if (!(vec[(p - at) / page] & 1)) continue;
      uintptr_t from = p < start ? start : p;
      uintptr_t to = p + page > end ? end : p + page;
      memset((void *)from, 0, to - from);
      wiped++;
    }
    at = (chunk_end + page - 1) & ~(page - 1);
  }
  return wiped;
}
