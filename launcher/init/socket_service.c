/*
 * socket_service.c — the cage's socket service (see ../forward_service.h).
 *
 * A fork of the init, so a fresh image that holds nothing of wgcage's. Before
 * it serves anything it gives up every capability and enters no_new_privs
 * and the terminal filter (confine.c), and stays non-dumpable: the command,
 * root of the cage or not, cannot trace it, read it or borrow its fds through
 * /proc (it lacks CAP_SYS_PTRACE). It leads a session of its own with
 * /dev/null as its standard fds, so no terminal or job-control signal meant
 * for the command or wgcage stops it, and it blocks every signal: only
 * SIGKILL ends it, as it does when the cage's PID namespace ends.
 */
#include "socket_service.h"

#include "../forward_service.h"
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Makes the socket a request asks for; returns it, or -errno. */
static int make_socket(const struct wgl_service_request *r) {
  bool v6 = r->family == AF_INET6;
  if ((r->family != AF_INET && !v6) || (r->type != SOCK_STREAM && r->type != SOCK_DGRAM) ||
      r->port > 65535 || (r->op != WGL_SERVICE_SOCKET && r->op != WGL_SERVICE_LISTEN) ||
      (r->op == WGL_SERVICE_LISTEN && r->type != SOCK_STREAM)) {
    return -EINVAL;
  }
  int fd = socket((int)r->family, (int)r->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (r->op == WGL_SERVICE_SOCKET) return fd;
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  memset(&in4, 0, sizeof in4);
  memset(&in6, 0, sizeof in6);
  in4.sin_family = AF_INET;
  in4.sin_port = htons((uint16_t)r->port);
  memcpy(&in4.sin_addr, r->addr, 4);
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons((uint16_t)r->port);
  memcpy(&in6.sin6_addr, r->addr, 16);
  int rc = v6 ? bind(fd, (struct sockaddr *)&in6, sizeof in6)
              : bind(fd, (struct sockaddr *)&in4, sizeof in4);
  if (rc == 0) rc = listen(fd, WGL_SERVICE_BACKLOG);
  if (rc != 0) {
    int err = errno;
    (void)close(fd);
    return -err;
  }
  return fd;
}

/* Sends {tag, err}, with the fd when err is 0. */
static int send_reply(int service_fd, uint32_t tag, int err, int fd) {
  struct wgl_service_reply reply = {.tag = tag, .err = err};
  struct iovec iov = {.iov_base = &reply, .iov_len = sizeof reply};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (err == 0) {
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof control.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  }
  for (;;) {
    if (sendmsg(service_fd, &mh, MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

/* Serves one request. Returns 1 when one was served (its errno, 0 on
 * success, in *failed), 0 when none is queued (with `dontwait`), -1 when
 * wgcage's end is gone. */
static int serve_one(int service_fd, bool dontwait, int *failed) {
  struct wgl_service_request r;
  ssize_t n;
  do {
    n = recv(service_fd, &r, sizeof r, dontwait ? MSG_DONTWAIT : 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  if (n <= 0) return -1;
  int fd = n == (ssize_t)sizeof r ? make_socket(&r) : -EPROTO;
  *failed = fd < 0 ? -fd : 0;
  int rc = send_reply(service_fd, n >= (ssize_t)sizeof(uint32_t) * 2 ? r.tag : 0, *failed, fd);
  if (fd >= 0) (void)close(fd);
  return rc < 0 ? -1 : 1;
}

static void become_quiet(int service_fd, int ready_fd) {
  sigset_t all;
  sigfillset(&all);
  (void)sigprocmask(SIG_SETMASK, &all, NULL);
  (void)setsid();
  (void)prctl(PR_SET_NAME, "wgcage-sockets", 0, 0, 0);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd <= 2; fd++) {
    if (null >= 0) {
      (void)dup2(null, fd);
    } else {
      (void)close(fd);
    }
  }
  /* Nothing but the service socket and the ready pipe: the sync socket (whose
   * close tells wgcage the command was exec'd), the terminal and the init's
   * program stay with the init. */
  int low = service_fd < ready_fd ? service_fd : ready_fd;
  int high = service_fd < ready_fd ? ready_fd : service_fd;
#ifdef SYS_close_range
  if ((low == 3 || syscall(SYS_close_range, 3U, (unsigned)low - 1U, 0U) == 0) &&
      (high == low + 1 ||
       syscall(SYS_close_range, (unsigned)low + 1U, (unsigned)high - 1U, 0U) == 0) &&
      syscall(SYS_close_range, (unsigned)high + 1U, ~0U, 0U) == 0) {
    return;
  }
#endif
  struct rlimit lim;
  int max = 65536;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 65536) max = (int)lim.rlim_cur;
  for (int fd = 3; fd < max; fd++) {
    if (fd != low && fd != high) (void)close(fd);
  }
}

static _Noreturn void serve(int service_fd, int ready_fd) {
  become_quiet(service_fd, ready_fd);
  /* What wgcage queued before the go-ahead, then say how it went. */
  int first_failure = 0, failed = 0, rc = confine_self();
  if (rc < 0) {
    first_failure = -rc;
  } else {
    while ((rc = serve_one(service_fd, true, &failed)) == 1) {
      if (failed != 0 && first_failure == 0) first_failure = failed;
    }
  }
  ssize_t w;
  do {
    w = write(ready_fd, &first_failure, sizeof first_failure);
  } while (w < 0 && errno == EINTR);
  (void)close(ready_fd);
  if (rc < 0 || first_failure != 0) _exit(0);
  while (serve_one(service_fd, false, &failed) >= 0) {
  }
  _exit(0);
}

int socket_service_start(int service_fd) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return errno;
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    (void)close(ready[0]);
    (void)close(ready[1]);
    return err;
  }
  if (pid == 0) {
    (void)close(ready[0]);
    serve(service_fd, ready[1]);
  }
  (void)close(ready[1]);
  int result = 0;
  ssize_t n;
  do {
    n = read(ready[0], &result, sizeof result);
  } while (n < 0 && errno == EINTR);
  (void)close(ready[0]);
  if (n != (ssize_t)sizeof result) return EPIPE;
  return result;
}
