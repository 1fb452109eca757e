/*
 * control.c — unix sockets for a live cage's control service. See control.h.
 */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_MAX_FDS 1024

int wgl_ctl_listen(const char *path) {
  if (path == NULL) return -EINVAL;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof addr.sun_path) return -ENAMETOOLONG;
  memcpy(addr.sun_path, path, len + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  /* Bound in a directory only the owner can enter (the state directory), or
   * made 0600 at once; the peer's uid is checked on accept anyway. */
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || chmod(path, 0600) != 0 ||
      listen(fd, 64) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

int wgl_ctl_accept(int listen_fd, int32_t *out) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return -errno;
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
      int err = errno != 0 ? errno : EPROTO;
      close(fd);
      return -err;
    }
    if (out != NULL) {
      out[0] = (int32_t)cred.uid;
      out[1] = (int32_t)cred.pid;
    }
    return fd;
  }
}

int wgl_ctl_recv(int fd, uint8_t *buf, uint32_t len) {
  for (;;) {
    ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
    if (n >= 0) return (int)n;
    if (errno != EINTR) return -errno;
  }
}

int wgl_ctl_send(int fd, const uint8_t *buf, uint32_t len) {
  for (;;) {
    ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    if (errno != EINTR) return -errno;
  }
}

int wgl_ctl_poll(const int32_t *fds, int32_t *events, uint32_t count, int wake, int timeout_ms) {
  if (count > CTL_MAX_FDS || (count > 0 && (fds == NULL || events == NULL))) return -EINVAL;
  struct pollfd *p = calloc((size_t)count + 1, sizeof *p);
  if (p == NULL) return -ENOMEM;
  for (uint32_t i = 0; i < count; i++) {
    p[i].fd = fds[i];
    p[i].events = (short)(((events[i] & 1) ? POLLIN : 0) | ((events[i] & 2) ? POLLOUT : 0));
  }
  p[count].fd = wake;
  p[count].events = POLLIN;
  int n;
  do {
    n = poll(p, (nfds_t)count + 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    free(p);
    return -err;
  }
  int ready = 0;
  for (uint32_t i = 0; i < count; i++) {
    short r = p[i].revents;
    events[i] = ((r & (POLLIN | POLLHUP)) ? 1 : 0) | ((r & POLLOUT) ? 2 : 0) |
                ((r & (POLLERR | POLLNVAL)) ? 4 : 0);
    if (events[i] != 0) ready++;
  }
  if (wake >= 0 && (p[count].revents & POLLIN)) {
    uint64_t drained;
    (void)read(wake, &drained, sizeof drained);
  }
  free(p);
  return ready;
}
