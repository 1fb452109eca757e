/*
 * protect.h — keeping wgcage's own memory to itself.
 */
#ifndef WGL_PROTECT_H
#define WGL_PROTECT_H

#include <stdint.h>

/* Makes the calling process non-dumpable (no core file; /proc/PID/mem and
 * ptrace need CAP_SYS_PTRACE) and sets its core size limit to 0. Call before
 * any secret is read. Returns 0 or -errno. */
int32_t wgl_process_protect(void);

#endif
