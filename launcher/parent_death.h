/*
 * parent_death.h — wgcage ends when the process that started it ends
 * (--die-with-parent, and by default under the npm package's wgcage command).
 */
#ifndef WGL_PARENT_DEATH_H
#define WGL_PARENT_DEATH_H

#include <stdint.h>

/* Has the kernel SIGKILL this process when the thread that started it
 * exits (PR_SET_PDEATHSIG), then checks that its parent is still `parent`:
 * one that died before the prctl left this process with another parent
 * already, and no signal will come. Returns 0, -ESRCH when the parent is
 * gone, or -errno. */
int32_t wgl_parent_death_arm(int32_t parent);

#endif
