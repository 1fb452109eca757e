/*
 * startup_code.h — giving back the pages of the runtime's code that only
 * start-up used, once the cage's command runs.
 */
#ifndef WGL_STARTUP_CODE_H
#define WGL_STARTUP_CODE_H

#include <stdint.h>

/* Unmaps the resident pages of the running executable's code (its r-xp
 * mappings, read-only and never written) from this process with
 * MADV_DONTNEED; they stay in the page cache, and a page used again is
 * mapped again at its next use. Returns how many KiB fewer the process
 * has resident (other threads may map some back meanwhile), or -errno. */
int32_t wgl_release_startup_code(void);

#endif
