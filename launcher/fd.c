/*
 * fd.c — small fd helpers for TypeScript, which has no way to use a raw fd it
 * received from C: datagrams on the netlink socket, a receive timeout, and
 * close; and the cage's init opened for its exec. Every function returns >= 0
 * or -errno.
 */
#include "fd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

int wgl_fd_close(int fd) { return close(fd) == 0 ? 0 : -errno; }

int wgl_fd_open_program(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  /* Root's, written by no one else, run by anyone (under sudo the child execs it as the user). */
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
      (st.st_mode & S_IXOTH) == 0) {
    close(fd);
    return -EPERM;
  }
  return fd;
}

/* SO_RCVTIMEO on a socket: a blocking receive gives up with -EAGAIN. */
int wgl_fd_set_recv_timeout(int fd, uint32_t timeout_ms) {
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 ? 0 : -errno;
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

/* Standard input becomes /dev/null (open in the child's exec too). */
int wgl_fd_stdin_to_null(void) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (fd == STDIN_FILENO) return fcntl(fd, F_SETFD, 0) == 0 ? 0 : -errno;
  int rc = dup2(fd, STDIN_FILENO) < 0 ? -errno : 0; /* dup2 leaves 0 open across exec */
  (void)close(fd);
  return rc;
}
