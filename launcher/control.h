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
 * its pid, out[2] 0 when its namespaces are the caller's (wgl_ctl_peer_check)
 * or the errno that refuses it (EPERM: another network or user namespace, a
 * cage's). -EAGAIN when none waits. */
int wgl_ctl_accept(int listen_fd, int32_t *out);

/* Whether the process at the other end of a unix socket lives in the
 * caller's network namespace, and in its user namespace or one below it:
 * 0, or -EPERM (elsewhere), or another -errno when it cannot be told (which
 * refuses it too). A peer whose namespaces the caller may not read (not
 * dumpable, and no CAP_SYS_PTRACE over it: never one of the caller's cages)
 * must be in the caller's PID namespace instead, which no cage's process is.
 * The peer is the process that connected (or, from the client's side, the
 * one that listened), named race-free by SO_PEERPIDFD where the kernel has
 * it (6.5+), else by SO_PEERCRED's pid. */
int wgl_ctl_peer_check(int fd);

/* Connects to the control socket at `path` (non-blocking, close-on-exec) and
 * checks the keeper: the caller's own euid and wgl_ctl_peer_check. -EPERM
 * when it is someone else; -EAGAIN when its backlog is full (try again). */
int wgl_ctl_connect(const char *path);

/* Non-blocking send of `buf` with `count` (1..8) fds attached (SCM_RIGHTS):
 * bytes sent (the fds went with them), -EAGAIN when the client does not
 * read. */
int wgl_ctl_send_fds(int fd, const uint8_t *buf, uint32_t len, const int32_t *fds, uint32_t count);

/* Non-blocking receive that also takes fds (SCM_RIGHTS, close-on-exec): bytes
 * read (0 at EOF, -EAGAIN when nothing waits); fds_out[0..max) gets the fds
 * and *count how many. Anything but one SCM_RIGHTS message of at most `max`
 * fds (another control message, a truncated one, more fds) closes whatever
 * came and returns -EPROTO. */
int wgl_ctl_recv_fds(int fd, uint8_t *buf, uint32_t len, int32_t *fds_out, uint32_t max,
                     int32_t *count);

/* What the two above do, on any unix socket and with `flags` added to
 * sendmsg's or recvmsg's (MSG_DONTWAIT, or 0 to block); EINTR is retried.
 * The cage's and the join's children and their parent pass fds with these
 * too. Async-signal-safe: no allocation, no lock. A datagram longer than
 * `len` counts as truncated (-EPROTO). */
int wgl_sendmsg_fds(int fd, const uint8_t *buf, uint32_t len, const int32_t *fds, uint32_t count,
                    int flags);
int wgl_recvmsg_fds(int fd, uint8_t *buf, uint32_t len, int32_t *fds_out, uint32_t max,
                    int32_t *count, int flags);

/* The pid (in the caller's PID namespace) of a pidfd's process, from its
 * fdinfo; -ESRCH when it has ended or is not visible here. */
int wgl_pidfd_pid(int pidfd);

/* The namespaces of a live cage, opened once by its keeper: out[0..5) the
 * fds (close-on-exec) of /proc/PID/ns/{user,mnt,net,uts,pid}. `pid` must be
 * the caller's own child, running and not reaped (so the pid cannot have
 * been reused), in another network namespace than the caller's. */
int wgl_ctl_cage_fds(int pid, int32_t *out);

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
