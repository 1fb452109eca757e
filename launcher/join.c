/*
 * join.c — a command into a live cage. See join.h.
 *
 * The caller (Deno) is multi-threaded, and setns into a user namespace needs
 * a single-threaded process, so the work happens in a child cloned with fork
 * semantics (the raw clone of cage.c, for the same reasons). Before the clone
 * the parent opens the cage's namespaces and formats the init's argv; the
 * child only blocks signals, joins, changes directory and execs the init, all
 * async-signal-safe. Nothing of wgcage's memory enters the cage: the exec
 * replaces it before the command exists.
 *
 *   parent                                   child
 *   open /proc/PID/ns/{user,mnt,net,uts,pid}
 *   socketpair(SEQPACKET, CLOEXEC)
 *   clone(SIGCHLD) ───────────────────────▶  block forwarded signals, reset the rest
 *                                            PR_SET_PDEATHSIG(SIGKILL)
 *                                            setns user (when not ours), mnt, net,
 *                                              uts, pid; chdir (or /)
 *                                            execveat(init memfd, JOIN flag)
 *   wgl_cage_await_exec: EOF or {stage, errno}
 */
#include "join.h"

#include "cage.h"
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define EXIT_SETUP_FAILED 125
#define NS_COUNT 5

enum join_mode { JOIN_USERNS = 0, JOIN_ROOT = 1, JOIN_SUDO = 2 };

static const int join_forwarded[] = {WGL_FORWARDED_SIGNALS};
#define JOIN_FORWARDED_COUNT (sizeof join_forwarded / sizeof join_forwarded[0])

static const char *const ns_names[NS_COUNT] = {"user", "mnt", "net", "uts", "pid"};
static const int ns_types[NS_COUNT] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWUTS,
                                       CLONE_NEWPID};

struct join_plan {
  int ns_fds[NS_COUNT]; /* -1: not joined (the user namespace when it is ours) */
  int sync_fd;          /* the child's end */
  int init_fd;
  const char *cwd;
  char **init_argv;
  char *init_numbers;
  char **envp;
  pid_t parent;
  enum join_mode mode;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int group_count;
};

static uint32_t join_u32le(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static const char *join_string(const uint8_t *req, uint32_t len, uint32_t *pos) {
  if (*pos >= len) return NULL;
  const char *s = (const char *)req + *pos;
  const void *nul = memchr(s, '\0', len - *pos);
  if (nul == NULL) return NULL;
  *pos += (uint32_t)((const char *)nul - s) + 1;
  return s;
}

static void join_report(int sync_fd, uint32_t stage, int err) {
  uint32_t msg[2] = {stage, (uint32_t)err};
  (void)send(sync_fd, msg, sizeof msg, MSG_NOSIGNAL);
}

static _Noreturn void join_child(const struct join_plan *p) {
  sigset_t all;
  sigfillset(&all);
  (void)sigprocmask(SIG_SETMASK, &all, NULL);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) (void)sigaction(sig, &dfl, NULL);
  }
  stack_t no_altstack = {.ss_flags = SS_DISABLE};
  (void)sigaltstack(&no_altstack, NULL);
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (size_t i = 0; i < JOIN_FORWARDED_COUNT; i++) sigaddset(&forwarded, join_forwarded[i]);
  sigaddset(&forwarded, WGL_SIG_RESUME);
  (void)sigprocmask(SIG_SETMASK, &forwarded, NULL);
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != p->parent) _exit(EXIT_SETUP_FAILED); /* the parent died before the prctl */

  for (int i = 0; i < NS_COUNT; i++) {
    if (p->ns_fds[i] < 0) continue;
    if (syscall(SYS_setns, p->ns_fds[i], ns_types[i]) != 0) {
      join_report(p->sync_fd, WGL_STAGE_JOIN_SETNS, errno);
      _exit(EXIT_SETUP_FAILED);
    }
    (void)close(p->ns_fds[i]);
  }
  /* setns into a mount namespace moves to its root; the caller's directory
   * is the same path on the shared file system, unless the cage covers it. */
  if (chdir(p->cwd) != 0) (void)chdir("/");
  if (fcntl(p->sync_fd, F_SETFD, 0) != 0) {
    join_report(p->sync_fd, WGL_STAGE_INIT_EXEC, errno);
    _exit(EXIT_SETUP_FAILED);
  }
  syscall(SYS_execveat, p->init_fd, "", p->init_argv, p->envp, AT_EMPTY_PATH);
  join_report(p->sync_fd, WGL_STAGE_INIT_EXEC, errno);
  _exit(EXIT_SETUP_FAILED);
}

static void join_plan_free(struct join_plan *p) {
  for (int i = 0; i < NS_COUNT; i++) {
    if (p->ns_fds[i] >= 0) close(p->ns_fds[i]);
    p->ns_fds[i] = -1;
  }
  free(p->init_argv);
  free(p->init_numbers);
  free(p->groups);
}

/* As cage.c decides it: the caller's identity when not root; as root, the
 * sudo user's (with their groups), else root of the cage. */
static int join_identity(struct join_plan *p) {
  unsigned uid = 0, gid = 0;
  if (geteuid() != 0) {
    p->mode = JOIN_USERNS;
    return 0;
  }
  if (getuid() != 0 || wgl_identity_parse_id(getenv("SUDO_UID"), &uid) != 0 ||
      wgl_identity_parse_id(getenv("SUDO_GID"), &gid) != 0) {
    p->mode = JOIN_ROOT;
    return 0;
  }
  p->mode = JOIN_SUDO;
  p->uid = uid;
  p->gid = gid;
  return wgl_identity_groups(uid, gid, &p->groups, &p->group_count);
}

/* Opens the cage's namespaces; the user namespace only when it is not ours
 * (setns into one's own fails). Returns 0 or -errno. */
static int join_open_namespaces(struct join_plan *p, pid_t target) {
  struct stat ours, theirs;
  for (int i = 0; i < NS_COUNT; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, ns_names[i]);
    p->ns_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (p->ns_fds[i] < 0) return -errno;
  }
  if (stat("/proc/self/ns/user", &ours) == 0 && fstat(p->ns_fds[0], &theirs) == 0 &&
      ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev) {
    close(p->ns_fds[0]);
    p->ns_fds[0] = -1;
  }
  return 0;
}

static int join_init_argv(struct join_plan *p, int tty_fd, int flags, const char *path_env,
                          char **argv, uint32_t argc) {
  struct wgl_init_args a = {
      .sync_fd = p->sync_fd,
      .tty_fd = tty_fd,
      .flags = flags,
      .uid = p->uid,
      .gid = p->gid,
      .groups = p->groups,
      .group_count = p->mode == JOIN_SUDO ? p->group_count : 0,
      .service_fd = -1, /* no socket service: the cage's own init runs it */
  };
  return wgl_init_argv(&a, path_env, argv, argc, &p->init_argv, &p->init_numbers);
}

static int join_fail(int32_t *out, struct join_plan *p, uint32_t stage, int err) {
  join_plan_free(p);
  out[WGL_JOIN_OUT_STAGE] = (int32_t)stage;
  out[WGL_JOIN_OUT_ERRNO] = err;
  out[WGL_JOIN_OUT_MODE] = (int32_t)p->mode;
  return -err;
}

int wgl_join_open(const uint8_t *request, uint32_t request_len, int32_t *out) {
  if (out == NULL) return -EINVAL;
  for (int i = 0; i < WGL_JOIN_OUT_WORDS; i++) out[i] = -1;
  out[WGL_JOIN_OUT_ERRNO] = 0;
  struct join_plan plan;
  memset(&plan, 0, sizeof plan);
  for (int i = 0; i < NS_COUNT; i++) plan.ns_fds[i] = -1;
  if (request == NULL || request_len < WGL_JOIN_REQUEST_HEADER) {
    return join_fail(out, &plan, WGL_STAGE_REQUEST, EINVAL);
  }
  uint32_t version = join_u32le(request), argc = join_u32le(request + 8);
  uint32_t init_fd = join_u32le(request + 12), target = join_u32le(request + 16);
  if (version != WGL_JOIN_REQUEST_VERSION || argc == 0 || argc > request_len || init_fd > INT_MAX ||
      target == 0 || target > INT_MAX) {
    return join_fail(out, &plan, WGL_STAGE_REQUEST, EINVAL);
  }
  uint32_t pos = WGL_JOIN_REQUEST_HEADER;
  plan.cwd = join_string(request, request_len, &pos);
  const char *path_env = join_string(request, request_len, &pos);
  char **argv = calloc((size_t)argc + 1, sizeof(char *));
  if (argv == NULL) return join_fail(out, &plan, WGL_STAGE_REQUEST, ENOMEM);
  for (uint32_t i = 0; i < argc; i++) {
    argv[i] = (char *)join_string(request, request_len, &pos);
    if (argv[i] == NULL) break;
  }
  if (plan.cwd == NULL || path_env == NULL || argv[argc - 1] == NULL || argv[0][0] == '\0') {
    free(argv);
    return join_fail(out, &plan, WGL_STAGE_REQUEST, EINVAL);
  }
  int rc = join_identity(&plan);
  if (rc < 0) {
    free(argv);
    return join_fail(out, &plan, WGL_STAGE_REQUEST, -rc);
  }
  rc = join_open_namespaces(&plan, (pid_t)target);
  if (rc < 0) {
    free(argv);
    return join_fail(out, &plan, WGL_STAGE_JOIN_OPEN, -rc);
  }
  int tty_fd = wgl_foreground_tty();
  bool own_group = tty_fd >= 0 || !(isatty(0) || isatty(1) || isatty(2));
  bool job_control = tty_fd >= 0 && wgl_job_controlled();
  int flags = INIT_FLAG_JOIN | (own_group ? INIT_FLAG_OWN_GROUP : 0) |
              (job_control ? INIT_FLAG_JOB_CONTROL : 0) |
              (plan.mode == JOIN_SUDO ? INIT_FLAG_DROP_TO_USER : 0);
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    int err = errno;
    free(argv);
    return join_fail(out, &plan, WGL_STAGE_SYNC, err);
  }
  plan.sync_fd = pair[1];
  plan.init_fd = (int)init_fd;
  plan.envp = environ;
  plan.parent = getpid();
  rc = join_init_argv(&plan, tty_fd, flags, path_env, argv, argc);
  free(argv);
  if (rc < 0) {
    close(pair[0]);
    close(pair[1]);
    return join_fail(out, &plan, WGL_STAGE_REQUEST, -rc);
  }
#if defined(__s390__) || defined(__CRIS__)
  long pid = syscall(SYS_clone, 0L, (unsigned long)SIGCHLD, 0L, 0L, 0L);
#else
  long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0L, 0L, 0L, 0L);
#endif
  if (pid == 0) join_child(&plan);
  int clone_errno = errno;
  close(pair[1]);
  if (pid < 0) {
    close(pair[0]);
    return join_fail(out, &plan, WGL_STAGE_CLONE, clone_errno);
  }
  enum join_mode mode = plan.mode;
  join_plan_free(&plan);
  out[WGL_JOIN_OUT_PID] = (int32_t)pid;
  out[WGL_JOIN_OUT_SYNC] = pair[0];
  out[WGL_JOIN_OUT_STAGE] = 0;
  out[WGL_JOIN_OUT_MODE] = (int32_t)mode;
  out[WGL_JOIN_OUT_TTY] = tty_fd;
  return 0;
}
