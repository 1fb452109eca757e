/*
 * confine.h — what the cage's own processes (the init, the socket service)
 * give up before the command starts, so that the command, root of the cage
 * or not, cannot drive them.
 */
#ifndef WGL_INIT_CONFINE_H
#define WGL_INIT_CONFINE_H

/* Drops every capability (effective, permitted, inheritable, ambient and the
 * bounding set), makes the caller non-dumpable, and installs no_new_privs
 * and the terminal filter (terminal_filter.h). Returns 0 or -errno. */
int confine_self(void);

#endif
