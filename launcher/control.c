/*
 * control.c — unix sockets for a live cage's control service. See control.h.
 *
 * Who may talk to a keeper: a process of the keeper's uid (SO_PEERCRED) that
 * is not in a cage. Every cage has a network namespace of its own, and the
 * cage's uid maps to the user's, so the uid alone lets any caged command of
 * the user read the keys (get=1) or rewrite the device (set=1). The peer's
 * network namespace must therefore be the keeper's own, and its user
 * namespace the keeper's or one below it: the rootless `wgcage wg` runs the
 * stock `wg` in a user namespace of its own (unshare --user, for the private
 * mount it needs), with the host's network; a user namespace below ours
 * cannot hold anything we could not do ourselves, and the network namespace
 * is what tells a cage apart. The same check runs the other way: `wgcage
 * exec` takes namespaces only from a keeper that passes it. A keeper is not
 * dumpable, so a rootless `exec` may not read its /proc/PID/ns: then the
 * peer must be in the caller's PID namespace, which no cage's process is
 * (peer_namespaces says why that is enough).
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CTL_MAX_FDS 1024
#define CTL_MAX_PASSED_FDS 8
/* The kernel nests at most 32 user namespaces. */
#define CTL_MAX_USERNS_DEPTH 33

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* A non-blocking stream socket for `path`, whose address it fills in:
 * the fd, or -errno. */
static int unix_socket_for(const char *path, struct sockaddr_un *addr) {
  if (path == NULL) return -EINVAL;
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof addr->sun_path) return -ENAMETOOLONG;
  memcpy(addr->sun_path, path, len + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

int wgl_ctl_listen(const char *path) {
  struct sockaddr_un addr;
  int fd = unix_socket_for(path, &addr);
  if (fd < 0) return fd;
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
      out[2] = -wgl_ctl_peer_check(fd);
    }
    return fd;
  }
}

static bool same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int wgl_pidfd_pid(int pidfd) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int err = errno;
  close(fd);
  if (n < 0) return -err;
  buf[n] = '\0';
  const char *line = strstr(buf, "\nPid:\t");
  if (line == NULL) return -EPROTO;
  long pid = strtol(line + 6, NULL, 10);
  return pid > 0 && pid <= INT_MAX ? (int)pid : -ESRCH;
}

/* 0 when the user namespace open at `fd` (consumed) is ours or below ours:
 * walk up its parents until ours; NS_GET_PARENT fails with EPERM above ours. */
static int userns_at_or_below_ours(int fd, const struct stat *ours) {
  for (int depth = 0; depth < CTL_MAX_USERNS_DEPTH; depth++) {
    struct stat st;
    if (fstat(fd, &st) != 0) break;
    if (same_file(&st, ours)) {
      close(fd);
      return 0;
    }
    int parent = ioctl(fd, NS_GET_PARENT);
    close(fd);
    if (parent < 0) return errno == EPERM ? -EPERM : -errno;
    fd = parent;
  }
  close(fd);
  return -EPERM;
}

/* 0 when `pid` is in our PID namespace (its NSpid line in our /proc has one
 * pid), -EPERM when it is in one below (a cage's). */
static int peer_in_our_pid_namespace(pid_t pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t have = 0;
  ssize_t n;
  while (have < sizeof buf - 1 && (n = read(fd, buf + have, sizeof buf - 1 - have)) > 0) {
    have += (size_t)n;
  }
  close(fd);
  buf[have] = '\0';
  const char *line = strstr(buf, "\nNSpid:");
  if (line == NULL) return -EPROTO;
  const char *end = strchr(line + 1, '\n');
  size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
  /* "NSpid:\t<pid>" for one namespace; a tab before each further pid. */
  return memchr(line + 8, '\t', len > 8 ? len - 8 : 0) == NULL ? 0 : -EPERM;
}

static int peer_namespaces(pid_t pid) {
  char path[64];
  struct stat ours, theirs;
  if (stat("/proc/self/ns/net", &ours) != 0) return -errno;
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
  if (stat(path, &theirs) != 0) {
    /* A peer we may not inspect: not dumpable (a keeper, seen from `wgcage
     * exec`), and we hold no CAP_SYS_PTRACE over its user namespace. We hold
     * it over every cage of ours (their user namespaces are ours, or we are
     * root), so it is not in one of our cages; and every cage has a PID
     * namespace of its own, so a peer in ours is in none. */
    if (errno == EACCES || errno == EPERM) return peer_in_our_pid_namespace(pid);
    return -errno;
  }
  if (!same_file(&ours, &theirs)) return -EPERM;
  if (stat("/proc/self/ns/user", &ours) != 0) return -errno;
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  return userns_at_or_below_ours(fd, &ours);
}

int wgl_ctl_peer_check(int fd) {
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  pid_t pid;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && len == sizeof pidfd) {
    int rc = wgl_pidfd_pid(pidfd);
    if (rc < 0) {
      close(pidfd);
      return rc;
    }
    pid = (pid_t)rc;
  } else if (errno == ENOPROTOOPT) {
    /* Before Linux 6.5: the pid the kernel recorded at connect (or listen).
     * Were that process gone and its pid reused, the check below would look
     * at the newcomer; a pidfd closes that race where the kernel offers it. */
    struct ucred cred;
    len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -errno;
    if (cred.pid <= 0) return -ESRCH; /* not visible in our PID namespace */
    pidfd = -1;
    pid = cred.pid;
  } else {
    return -errno;
  }
  int rc = peer_namespaces(pid);
  /* The process still runs, so /proc/PID above was that process. */
  if (rc == 0 && pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) != 0) {
    rc = -errno;
  }
  if (pidfd >= 0) close(pidfd);
  return rc;
}

int wgl_ctl_connect(const char *path) {
  struct sockaddr_un addr;
  int fd = unix_socket_for(path, &addr);
  if (fd < 0) return fd;
  int rc;
  do {
    rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  struct ucred cred;
  socklen_t cred_len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  rc = cred.uid == geteuid() ? wgl_ctl_peer_check(fd) : -EPERM;
  if (rc < 0) {
    close(fd);
    return rc;
  }
  return fd;
}

int wgl_ctl_send_fds(int fd, const uint8_t *buf, uint32_t len, const int32_t *fds, uint32_t count) {
  return wgl_sendmsg_fds(fd, buf, len, fds, count, MSG_DONTWAIT);
}

int wgl_sendmsg_fds(int fd, const uint8_t *buf, uint32_t len, const int32_t *fds, uint32_t count,
                    int flags) {
  if (buf == NULL || len == 0 || fds == NULL || count == 0 || count > CTL_MAX_PASSED_FDS) {
    return -EINVAL;
  }
  union {
    char buf[CMSG_SPACE(CTL_MAX_PASSED_FDS * sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = CMSG_SPACE(count * sizeof(int))};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(count * sizeof(int));
  for (uint32_t i = 0; i < count; i++) {
    int one = fds[i];
    memcpy(CMSG_DATA(c) + i * sizeof(int), &one, sizeof one);
  }
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    if (errno != EINTR) return -errno;
  }
}

static void close_passed(struct msghdr *msg) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int one;
      memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof one);
      close(one);
    }
  }
}

int wgl_ctl_recv_fds(int fd, uint8_t *buf, uint32_t len, int32_t *fds_out, uint32_t max,
                     int32_t *count) {
  return wgl_recvmsg_fds(fd, buf, len, fds_out, max, count, MSG_DONTWAIT);
}

int wgl_recvmsg_fds(int fd, uint8_t *buf, uint32_t len, int32_t *fds_out, uint32_t max,
                    int32_t *count, int flags) {
  if (buf == NULL || fds_out == NULL || count == NULL || max > CTL_MAX_PASSED_FDS) return -EINVAL;
  *count = 0;
  union {
    char buf[CMSG_SPACE(CTL_MAX_PASSED_FDS * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  struct msghdr msg;
  ssize_t n;
  do {
    memset(&control, 0, sizeof control);
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  /* As runc checks what it receives: truncated (more fds than room, which
   * the kernel dropped; or, on a datagram socket, more bytes than `len`),
   * another level or type, a length that is not a whole number of fds, more
   * than one message, more than `max`. */
  bool bad = (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0;
  uint32_t got = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL && !bad; c = CMSG_NXTHDR(&msg, c)) {
    size_t data = c->cmsg_len >= CMSG_LEN(0) ? c->cmsg_len - CMSG_LEN(0) : 0;
    size_t n_fds = data / sizeof(int);
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || got != 0 || n_fds == 0 ||
        c->cmsg_len != CMSG_LEN(n_fds * sizeof(int)) || n_fds > max) {
      bad = true;
      break;
    }
    for (size_t i = 0; i < n_fds; i++) {
      int one;
      memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof one);
      fds_out[i] = one;
    }
    got = (uint32_t)n_fds;
  }
  if (bad) {
    close_passed(&msg);
    return -EPROTO;
  }
  *count = (int32_t)got;
  return (int)n;
}

static const char *const cage_ns_names[] = {"user", "mnt", "net", "uts", "pid"};
#define CAGE_NS_COUNT 5

int wgl_ctl_cage_fds(int pid, int32_t *out) {
  if (pid <= 0 || out == NULL) return -EINVAL;
  for (int i = 0; i < CAGE_NS_COUNT; i++) out[i] = -1;
  int err = 0;
  for (int i = 0; i < CAGE_NS_COUNT && err == 0; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, cage_ns_names[i]);
    out[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (out[i] < 0) err = errno;
  }
  /* Still our child, running, not reaped: the pid was the cage's init all
   * along (only reaping frees a child's pid). */
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (err == 0 && waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) err = errno;
  if (err == 0 && info.si_pid != 0) err = ESRCH;
  struct stat ours, theirs;
  if (err == 0 && (stat("/proc/self/ns/net", &ours) != 0 || fstat(out[2], &theirs) != 0)) {
    err = errno;
  }
  if (err == 0 && same_file(&ours, &theirs)) err = EINVAL;
  if (err != 0) {
    for (int i = 0; i < CAGE_NS_COUNT; i++) {
      if (out[i] >= 0) close(out[i]);
      out[i] = -1;
    }
    return -err;
  }
  return 0;
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
