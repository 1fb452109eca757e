/*
 * terminal_filter.h — the seccomp filter that keeps the command from typing
 * into the terminal it was started from.
 */
#ifndef WGL_TERMINAL_FILTER_H
#define WGL_TERMINAL_FILTER_H

/* Sets no_new_privs and installs a filter under which ioctl(TIOCSTI) and
 * ioctl(TIOCLINUX) fail with EPERM, for the calling process and everything
 * it starts. Returns 0 or -errno. */
int terminal_filter_install(void);

#endif
