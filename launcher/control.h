/*
 * control.h — the unix stream sockets of a live cage's control service (the
 * WireGuard userspace API, src/live/): listen, accept with the client's
 * credentials (SO_PEERCRED), non-blocking receive and send, and one poll over
 * them all.
 *
 * Every function returns >= 0 on success and -errno on failure.
 */
#ifndef WGL_CONTROL_H
#define WGL_CONTROL_H

#include <stdint.h>

/* A non-blocking listening socket bound to `path` (NUL-terminated), mode
 * 0600. An existing file at `path` is an error (EADDRINUSE). */
int wgl_ctl_listen(const char *path);

/* Accepts one client (non-blocking, close-on-exec); out[0] its uid, out[1]
 * its pid. -EAGAIN when none waits. */
int wgl_ctl_accept(int listen_fd, int32_t *out);

/* Non-blocking recv: bytes read, 0 at EOF, -EAGAIN when nothing waits. */
int wgl_ctl_recv(int fd, uint8_t *buf, uint32_t len);

/* Non-blocking send (no SIGPIPE): bytes sent, -EAGAIN when the client does
 * not read. */
int wgl_ctl_send(int fd, const uint8_t *buf, uint32_t len);

/* poll(2) over `count` fds; events[i] bit 0 asks for input, bit 1 for room to
 * write; on return events[i] bit 0 readable (or hung up), bit 1 writable, bit
 * 2 error. `wake` (an eventfd, or -1) ends the wait early and is drained.
 * Returns how many fds are ready, 0 on timeout. Blocking: call as
 * nonblocking FFI. */
int wgl_ctl_poll(const int32_t *fds, int32_t *events, uint32_t count, int wake, int timeout_ms);

#endif
