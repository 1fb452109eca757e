/*
 * fd.c — small fd helpers for TypeScript, which has no way to use a raw fd it
 * received from C: read, write, close, non-blocking mode, a receive timeout,
 * and waiting for input. Every function returns >= 0 or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* read(2), retried on EINTR. */
int wgl_fd_read(int fd, uint8_t *buf, uint32_t len) {
  for (;;) {
    ssize_t n = read(fd, buf, len);
    if (n >= 0) return (int)n;
    if (errno != EINTR) return -errno;
  }
}

/* write(2), retried on EINTR; may write less than len. */
int wgl_fd_write(int fd, const uint8_t *buf, uint32_t len) {
  for (;;) {
    ssize_t n = write(fd, buf, len);
    if (n >= 0) return (int)n;
    if (errno != EINTR) return -errno;
  }
}

int wgl_fd_close(int fd) { return close(fd) == 0 ? 0 : -errno; }

/* Sets (on != 0) or clears O_NONBLOCK. */
int wgl_fd_set_nonblock(int fd, int on) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  int want = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (want != flags && fcntl(fd, F_SETFL, want) < 0) return -errno;
  return 0;
}

/* 1 if O_NONBLOCK is set, 0 if not. */
int wgl_fd_is_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  return (flags & O_NONBLOCK) != 0;
}

/* SO_RCVTIMEO on a socket: a blocking receive gives up with -EAGAIN. */
int wgl_fd_set_recv_timeout(int fd, uint32_t timeout_ms) {
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 ? 0 : -errno;
}

/* Waits until fd is readable: 1 readable (or hung up), 0 on timeout
 * (timeout_ms < 0 waits forever). */
int wgl_fd_wait_readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  for (;;) {
    int n = poll(&p, 1, timeout_ms);
    if (n >= 0) return n > 0 ? 1 : 0;
    if (errno != EINTR) return -errno;
  }
}

/* recv(2) with MSG_TRUNC: returns the datagram's full length even when it did
 * not fit in buf (the caller compares with len to see the truncation). */
int wgl_fd_recv(int fd, uint8_t *buf, uint32_t len) {
  for (;;) {
    ssize_t n = recv(fd, buf, len, MSG_TRUNC);
    if (n >= 0) return (int)n;
    if (errno != EINTR) return -errno;
  }
}

/* send(2) without SIGPIPE, retried on EINTR. */
int wgl_fd_send(int fd, const uint8_t *buf, uint32_t len) {
  for (;;) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    if (errno != EINTR) return -errno;
  }
}
