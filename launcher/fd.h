/*
 * fd.h — small fd helpers for TypeScript, which cannot use a raw fd it
 * received from C: datagrams on the cage's netlink socket, a receive timeout,
 * and close. Every function returns >= 0 or -errno.
 */
#ifndef WGL_FD_H
#define WGL_FD_H

#include <stdint.h>

/* close(2). */
int wgl_fd_close(int fd);

/* SO_RCVTIMEO on a socket: a blocking receive gives up with -EAGAIN. */
int wgl_fd_set_recv_timeout(int fd, uint32_t timeout_ms);

/* recv(2) with MSG_TRUNC, retried on EINTR: returns the datagram's full
 * length even when it did not fit in buf (compare with len for truncation). */
int wgl_fd_recv(int fd, uint8_t *buf, uint32_t len);

/* send(2) without SIGPIPE, retried on EINTR. */
int wgl_fd_send(int fd, const uint8_t *buf, uint32_t len);

/* Standard input becomes /dev/null, left open across exec (wgcage read a
 * secret from it: src/config/stdin_secret.ts). */
int wgl_fd_stdin_to_null(void);

/* The program at `path` (no symlink at its end) opened read-only and
 * close-on-exec, for an execveat(fd, "", AT_EMPTY_PATH) by the cage's child:
 * only a plain file of root's that no group or other may write and everyone
 * may run (src/launcher/binary_file.ts), checked on the open file so that the
 * path cannot change under the check. -EPERM for any other file. */
int wgl_fd_open_program(const char *path);

#endif
