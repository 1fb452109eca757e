/*
 * wipe.h — zeroing a large buffer without touching the pages nobody wrote
 * (the WireGuard core's memory, at exit).
 */
#ifndef WGL_WIPE_H
#define WGL_WIPE_H

#include <stdint.h>

/* Zeroes every resident page of [buf, buf + len) (partial pages at the ends
 * only within the range). Returns how many pages were zeroed, or -errno. */
int32_t wgl_wipe_resident(uint8_t *buf, uint64_t len);

#endif
