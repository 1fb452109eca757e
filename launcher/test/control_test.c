/*
 * control_test.c — native tests of control.c's checks: the fds a client
 * takes from a keeper (runc's rules: one SCM_RIGHTS message, exact length,
 * no truncation, at most `max`), the peer check (a peer in another network
 * namespace is refused, one in a user namespace below ours with our network
 * is served, one that has exited is refused), and the keeper's namespace
 * fds (only of its own running child in another network namespace).
 *
 * Run by src/live/control_native_test.ts. Children make user namespaces
 * (unprivileged ones must be allowed), so it runs as root or as a user.
 */
#include "../control.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures, checks;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    checks++;                                                                                      \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                         \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* Sends `len` bytes with a control message built from `type` and `n` copies of `fd`. */
static void send_with(int sock, int level, int type, int fd, int n) {
  char data[4] = "ok\n";
  union {
    char buf[CMSG_SPACE(16 * sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = data, .iov_len = 3};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = control.buf,
                     .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int))};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
  for (int i = 0; i < n; i++) memcpy(CMSG_DATA(c) + (size_t)i * sizeof(int), &fd, sizeof fd);
  if (sendmsg(sock, &m, 0) != 3) {
    perror("sendmsg");
    exit(2);
  }
}

static void test_recv_fds(void) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) exit(2);
  uint8_t buf[64];
  int32_t fds[8], count = -1;
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

  /* Five fds pass, close-on-exec, with the bytes. */
  int32_t five[5] = {devnull, devnull, devnull, devnull, devnull};
  CHECK(wgl_ctl_send_fds(pair[0], (const uint8_t *)"ab", 2, five, 5) == 2, "send five");
  int n = wgl_ctl_recv_fds(pair[1], buf, sizeof buf, fds, 6, &count);
  CHECK(n == 2 && count == 5, "five fds: n %d count %d", n, (int)count);
  for (int i = 0; i < count; i++) {
    CHECK(fds[i] >= 0 && (fcntl(fds[i], F_GETFD) & FD_CLOEXEC), "fd %d close-on-exec", i);
    close(fds[i]);
  }

  /* Plain bytes: no fds. */
  CHECK(wgl_ctl_send(pair[0], (const uint8_t *)"x", 1) == 1, "send plain");
  n = wgl_ctl_recv_fds(pair[1], buf, sizeof buf, fds, 6, &count);
  CHECK(n == 1 && count == 0, "plain: n %d count %d", n, (int)count);

  /* More fds than `max`: refused, and none is left open. */
  int probe = dup(devnull);
  close(probe); /* the lowest free fd: where a leaked one would land */
  send_with(pair[0], SOL_SOCKET, SCM_RIGHTS, devnull, 7);
  n = wgl_ctl_recv_fds(pair[1], buf, sizeof buf, fds, 6, &count);
  CHECK(n == -EPROTO && count == 0, "seven for six: n %d count %d", n, (int)count);
  CHECK(!fd_open(probe), "an fd of a refused message stayed open");

  /* More fds than the buffer holds (MSG_CTRUNC): refused. */
  send_with(pair[0], SOL_SOCKET, SCM_RIGHTS, devnull, 12);
  n = wgl_ctl_recv_fds(pair[1], buf, sizeof buf, fds, 8, &count);
  CHECK(n == -EPROTO && count == 0, "twelve (truncated): n %d", n);
  CHECK(!fd_open(probe), "an fd of a truncated message stayed open");

  /* Credentials instead of fds: refused. */
  int on = 1;
  setsockopt(pair[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  CHECK(wgl_ctl_send(pair[0], (const uint8_t *)"y", 1) == 1, "send for creds");
  n = wgl_ctl_recv_fds(pair[1], buf, sizeof buf, fds, 6, &count);
  CHECK(n == -EPROTO, "SCM_CREDENTIALS: n %d", n);
  close(pair[0]);
  close(pair[1]);
  close(devnull);
}

/* The same checks on the datagram sockets the cage's and the join's children
 * report on: a blocking receive, and a datagram longer than the buffer
 * (MSG_TRUNC) refused with its fd closed. */
static void test_recvmsg_fds_datagram(void) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) != 0) exit(2);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  uint32_t msg[2] = {7, 9}, got[2] = {0, 0};
  int32_t one = devnull, fds[2], count = -1;
  CHECK(wgl_sendmsg_fds(pair[0], (const uint8_t *)msg, sizeof msg, &one, 1, 0) == 8, "send");
  int n = wgl_recvmsg_fds(pair[1], (uint8_t *)got, sizeof got, fds, 2, &count, 0);
  CHECK(n == 8 && count == 1 && got[0] == 7 && got[1] == 9, "blocking: n %d count %d", n,
        (int)count);
  if (count == 1) close(fds[0]);

  int probe = dup(devnull);
  close(probe);
  CHECK(wgl_sendmsg_fds(pair[0], (const uint8_t *)msg, sizeof msg, &one, 1, 0) == 8, "send long");
  n = wgl_recvmsg_fds(pair[1], (uint8_t *)got, 4, fds, 2, &count, 0);
  CHECK(n == -EPROTO && count == 0, "longer than the buffer: n %d count %d", n, (int)count);
  CHECK(!fd_open(probe), "the fd of a truncated datagram stayed open");
  close(pair[0]);
  close(pair[1]);
  close(devnull);
}

/* A child that connects to `path` after making the namespaces `flags` asks
 * for, then writes one byte and waits to be killed (or exits at once with
 * `exit_now`). */
static pid_t connect_from(const char *path, int flags, bool exit_now) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  if (flags != 0 && unshare(flags) != 0) _exit(3);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) _exit(4);
  if (write(s, "x", 1) != 1) _exit(5);
  if (exit_now) _exit(0);
  pause();
  _exit(0);
}

/* Accepts the next client, after it wrote its byte. */
static int accept_one(int listener) {
  int32_t who[3];
  int fd;
  for (int i = 0; i < 500; i++) {
    fd = wgl_ctl_accept(listener, who);
    if (fd != -EAGAIN) break;
    usleep(10000);
  }
  char c;
  for (int i = 0; i < 500 && fd >= 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 1; i++) {
    usleep(10000);
  }
  return fd;
}

static void reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static void test_peer_check(const char *dir) {
  char path[256];
  snprintf(path, sizeof path, "%s/ctl.sock", dir);
  int listener = wgl_ctl_listen(path);
  CHECK(listener >= 0, "listen: %d", listener);
  chmod(dir, 0755);
  chmod(path, 0666);

  pid_t same = connect_from(path, 0, false);
  int fd = accept_one(listener);
  CHECK(fd >= 0 && wgl_ctl_peer_check(fd) == 0, "a peer of our namespaces is refused");
  close(fd);
  reap(same);

  pid_t below = connect_from(path, CLONE_NEWUSER, false);
  fd = accept_one(listener);
  CHECK(fd >= 0 && wgl_ctl_peer_check(fd) == 0, "a user namespace below ours (our network) is "
                                                "refused");
  close(fd);
  reap(below);

  pid_t other = connect_from(path, CLONE_NEWUSER | CLONE_NEWNET, false);
  fd = accept_one(listener);
  int rc = fd >= 0 ? wgl_ctl_peer_check(fd) : fd;
  CHECK(rc == -EPERM, "a peer in another network namespace: %d", rc);
  close(fd);
  reap(other);

  /* Gone by the time it is checked: its pid might be anyone's now. */
  pid_t gone = connect_from(path, 0, true);
  waitpid(gone, NULL, 0);
  fd = accept_one(listener);
  rc = fd >= 0 ? wgl_ctl_peer_check(fd) : fd;
  CHECK(rc < 0, "a peer that has exited is served");
  close(fd);

  /* The client's side: our own listener passes, as a keeper would. */
  int client = wgl_ctl_connect(path);
  CHECK(client >= 0, "connect to our own listener: %d", client);
  close(client);
  close(listener);
  unlink(path);
}

static void test_cage_fds(void) {
  int32_t out[5];
  int ready[2];
  if (pipe(ready) != 0) exit(2);
  pid_t cage = fork();
  if (cage == 0) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) _exit(3);
    (void)write(ready[1], "r", 1);
    pause();
    _exit(0);
  }
  char c;
  CHECK(read(ready[0], &c, 1) == 1, "the child did not get its namespaces");
  int rc = wgl_ctl_cage_fds(cage, out);
  CHECK(rc == 0, "our child in its own network namespace: %d", rc);
  for (int i = 0; rc == 0 && i < 5; i++) close(out[i]);

  pid_t plain = fork();
  if (plain == 0) {
    pause();
    _exit(0);
  }
  usleep(20000);
  rc = wgl_ctl_cage_fds(plain, out);
  CHECK(rc == -EINVAL, "a child in our network namespace: %d", rc);
  reap(plain);

  rc = wgl_ctl_cage_fds(1, out);
  CHECK(rc < 0 && out[0] == -1, "not our child (pid 1): %d", rc);
  reap(cage);
  rc = wgl_ctl_cage_fds(cage, out);
  CHECK(rc < 0, "a reaped child: %d", rc);
}

int main(void) {
  char dir[] = "/tmp/wgcage-control-test-XXXXXX";
  if (mkdtemp(dir) == NULL) return 2;
  test_recv_fds();
  test_recvmsg_fds_datagram();
  test_peer_check(dir);
  test_cage_fds();
  rmdir(dir);
  printf("control_test: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
