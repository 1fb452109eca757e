/*
 * die_with_parent.h — WGCAGE_DIE_WITH_PARENT for the native join, as
 * src/cli/die_with_parent.ts does it for the Deno path: the npm package's bin
 * names its shell (and npm above it), and `wgcage exec` ends when one of them
 * ends. The parent through the kernel's parent-death SIGKILL when it has one
 * thread (parent_death.c), else, and every ancestor, by a look at its start
 * time every 250 ms from the join's waits.
 */
#ifndef WGJ_DIE_WITH_PARENT_H
#define WGJ_DIE_WITH_PARENT_H

/* Takes the variable out of the environment and arms the watch; returns 0,
 * or 125 after one line (a bad value, or one of them ended already). */
int wgj_die_with_parent(void);

/* Puts the variable back as it came (for the Deno path, which reads it). */
void wgj_die_with_parent_restore(void);

/* How long a wait may last before wgj_watch_check: ms, or -1 (no poll). */
int wgj_watch_ms(void);

/* Ends this process with SIGKILL, as the kernel's signal would, when a
 * watched process is gone or another has its pid. */
void wgj_watch_check(void);

#endif
