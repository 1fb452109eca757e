/*
 * join.c — a command into a live cage. See join.h.
 *
 * The caller (Deno) is multi-threaded, and setns into a user namespace needs
 * a single-threaded process, so the work happens in children cloned with
 * fork semantics (raw_clone.h, for cage.c's reasons). Before the
 * clone the parent checks the namespace fds the keeper sent and formats the
 * init's argv; the children only make async-signal-safe calls. Nothing of
 * wgcage's memory enters the cage: the exec replaces it before the command
 * exists.
 *
 * The command's leftovers must end with it, as a run's end with its cage's
 * PID namespace: a daemon it started must not keep the user's terminal once
 * `wgcage exec` returned. So the joined init is PID 1 of a PID namespace of
 * its own, a child of the cage's; when the init exits, the kernel kills
 * everything left in it. That takes three processes, because the kernel
 * makes a new PID namespace only for a process whose own PID namespace is
 * the one its children go to (copy_pid_ns), and after setns the joining
 * child's children go to the cage's while it stays in the caller's:
 *
 *   wgcage: socketpair, clone(SIGCHLD) -> J
 *   J (joins): signals, PDEATHSIG; no_new_privs and the terminal filter;
 *       setns user (when not ours), mnt, net, uts, pid; chdir (or /);
 *       clone(CLONE_PARENT) -> K; sends {BETWEEN, K's pid}; exits
 *   K (in the cage's PID namespace):
 *       clone(CLONE_PARENT | CLONE_NEWPID | CLONE_PIDFD) -> L;
 *       sends {INIT} with L's pidfd; exits
 *   L (PID 1 of its own PID namespace): PDEATHSIG; a mount namespace of
 *       its own with its /proc; (sudo) the user's ids; execveat(init, JOIN)
 *   wgcage, wgl_join_await: reaps J and K; L's pid from the pidfd (L is
 *       wgcage's child, not reaped, so the pid is L's); then EOF or
 *       {stage, errno}
 *
 * CLONE_PARENT makes K and L children of wgcage, which waits for L and
 * signals it as it does a cage's init. L mounts a /proc of its PID namespace
 * in a mount namespace of its own (a copy of the cage's, as crun mounts /proc
 * for a new PID namespace): with the cage's /proc, $$ of the command would
 * name another process there.
 */
#include "join.h"

#include "cage.h"
#include "control.h"
#include "identity.h"
#include "init/terminal_filter.h"
#include "raw_clone.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

extern char **environ;

#define EXIT_SETUP_FAILED 125
#define NS_COUNT 5

enum join_mode { JOIN_USERNS = 0, JOIN_ROOT = 1, JOIN_SUDO = 2 };

static const int join_forwarded[] = {WGL_FORWARDED_SIGNALS};
#define JOIN_FORWARDED_COUNT (sizeof join_forwarded / sizeof join_forwarded[0])

static const int ns_types[NS_COUNT] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWUTS,
                                       CLONE_NEWPID};

struct join_plan {
  int ns_fds[NS_COUNT]; /* the caller's; -1: not joined (the user namespace when it is ours) */
  int sync_fd;          /* the children's end */
  int parent_sync_fd;   /* wgcage's end, which the children close */
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

static _Noreturn void join_fail_child(int sync_fd, uint32_t stage, int err) {
  join_report(sync_fd, stage, err);
  _exit(EXIT_SETUP_FAILED);
}

/* L: PID 1 of the command's own PID namespace. */
static _Noreturn void join_leader(const struct join_plan *p) {
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* wgcage died before the prctl: its end of the sync socket is gone (only
   * wgcage holds it; J closed the copy all three inherited). */
  struct pollfd hup = {.fd = p->sync_fd, .events = 0};
  if (poll(&hup, 1, 0) != 0) _exit(EXIT_SETUP_FAILED);
  if (unshare(CLONE_NEWNS) != 0) join_fail_child(p->sync_fd, WGL_STAGE_JOIN_PROC, errno);
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
    join_fail_child(p->sync_fd, WGL_STAGE_JOIN_PROC, errno);
  }
  if (p->mode == JOIN_SUDO) {
    /* Through sudo, nothing of the cage is host root: the init runs as the
     * sudo user, as a new cage's does (cage.c). */
    int rc = wgl_identity_become(p->uid, p->gid, p->groups, p->group_count);
    if (rc < 0) join_fail_child(p->sync_fd, WGL_STAGE_CREDS, -rc);
    if (poll(&hup, 1, 0) != 0) _exit(EXIT_SETUP_FAILED);
  }
  if (fcntl(p->sync_fd, F_SETFD, 0) != 0) join_fail_child(p->sync_fd, WGL_STAGE_INIT_EXEC, errno);
  syscall(SYS_execveat, p->init_fd, "", p->init_argv, p->envp, AT_EMPTY_PATH);
  join_fail_child(p->sync_fd, WGL_STAGE_INIT_EXEC, errno);
}

/* K: in the cage's PID namespace, so it may make one below it. */
static _Noreturn void join_between(const struct join_plan *p) {
  int pidfd = -1;
  long pid = raw_clone(CLONE_PARENT | CLONE_NEWPID | CLONE_PIDFD, &pidfd);
  if (pid == 0) join_leader(p);
  if (pid < 0) join_fail_child(p->sync_fd, WGL_STAGE_CLONE, errno);
  uint32_t msg[2] = {WGL_JOIN_MSG_INIT, 0};
  int32_t passed = pidfd;
  if (wgl_sendmsg_fds(p->sync_fd, (const uint8_t *)msg, sizeof msg, &passed, 1, 0) !=
      (int)sizeof msg) {
    /* wgcage cannot learn of L: L must not run unseen. */
    (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    _exit(EXIT_SETUP_FAILED);
  }
  _exit(0);
}

/* J: joins the cage. */
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
  sigaddset(&forwarded, WGL_SIG_RESUME_FOREGROUND);
  (void)sigprocmask(SIG_SETMASK, &forwarded, NULL);
  (void)close(p->parent_sync_fd);
  /* K and L appear in the cage's PID namespace holding every capability
   * of its user namespace until the init's exec: not dumpable (it passes to
   * both), no process of the cage may trace them (the uid alone would let
   * it). The init makes itself non-dumpable again after its exec. */
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != p->parent) _exit(EXIT_SETUP_FAILED); /* the parent died before the prctl */

  /* Before anything of the cage's: its mount namespace is the command's to
   * change (as root of the cage), so what runs there runs confined. */
  int rc = terminal_filter_install();
  if (rc < 0) join_fail_child(p->sync_fd, WGL_STAGE_CONFINE, -rc);
  for (int i = 0; i < NS_COUNT; i++) {
    if (p->ns_fds[i] < 0) continue;
    if (syscall(SYS_setns, p->ns_fds[i], ns_types[i]) != 0) {
      join_fail_child(p->sync_fd, WGL_STAGE_JOIN_SETNS, errno);
    }
  }
  /* setns into a mount namespace moves to its root; the caller's directory
   * is the same path on the shared file system, unless the cage covers it. */
  if (chdir(p->cwd) != 0) (void)chdir("/");
  long between = raw_clone(CLONE_PARENT, NULL);
  if (between == 0) join_between(p);
  if (between < 0) join_fail_child(p->sync_fd, WGL_STAGE_CLONE, errno);
  uint32_t msg[2] = {WGL_JOIN_MSG_BETWEEN, (uint32_t)between};
  (void)send(p->sync_fd, msg, sizeof msg, MSG_NOSIGNAL);
  _exit(0);
}

static void join_plan_free(struct join_plan *p) {
  free(p->init_argv);
  free(p->init_numbers);
  free(p->groups);
  p->init_argv = NULL;
  p->init_numbers = NULL;
  p->groups = NULL;
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

/* Takes the keeper's namespace fds: each must be a namespace of its kind;
 * the user namespace is joined only when it is not ours (setns into one's
 * own fails). Returns 0 or -errno. */
static int join_take_namespaces(struct join_plan *p, const uint8_t *request) {
  for (int i = 0; i < NS_COUNT; i++) {
    uint32_t fd = join_u32le(request + 16 + 4 * i);
    if (fd > INT_MAX) return -EBADF;
    int type = ioctl((int)fd, NS_GET_NSTYPE);
    if (type < 0) return -errno;
    if (type != ns_types[i]) return -EINVAL;
    p->ns_fds[i] = (int)fd;
  }
  struct stat ours, theirs;
  if (stat("/proc/self/ns/user", &ours) != 0 || fstat(p->ns_fds[0], &theirs) != 0) return -errno;
  if (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev) p->ns_fds[0] = -1;
  return 0;
}

#define JOIN_MAP_MAX 8192

/* The uid_map and gid_map of the user namespace `userns_fd`, as a process in
 * it reads them (inside, outside in the parent namespace, length), NUL-
 * terminated. The caller is multi-threaded and may not enter a user
 * namespace, so a short-lived child (raw clone, fork semantics) does, and
 * sends both back. Returns 0 or -errno. */
static int join_read_maps(int userns_fd, char *uid_map, char *gid_map) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return -errno;
  long pid = raw_clone(SIGCHLD, NULL);
  if (pid == 0) {
    static char buf[JOIN_MAP_MAX];
    static const char *const files[2] = {"/proc/self/uid_map", "/proc/self/gid_map"};
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (syscall(SYS_setns, userns_fd, CLONE_NEWUSER) != 0) _exit(1);
    for (int i = 0; i < 2; i++) {
      int fd = open(files[i], O_RDONLY | O_CLOEXEC);
      if (fd < 0) _exit(1);
      ssize_t n = read(fd, buf, sizeof buf - 1);
      if (n < 0 || send(pair[1], buf, (size_t)n, MSG_NOSIGNAL) != n) _exit(1);
      (void)close(fd);
    }
    _exit(0);
  }
  int err = pid < 0 ? errno : 0;
  close(pair[1]);
  char *out[2] = {uid_map, gid_map};
  for (int i = 0; i < 2 && err == 0; i++) {
    ssize_t n;
    do {
      n = recv(pair[0], out[i], JOIN_MAP_MAX - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
      err = n < 0 ? errno : EPROTO;
    else
      out[i][n] = '\0';
  }
  close(pair[0]);
  if (pid > 0) {
    while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  return -err;
}

/* The id inside the namespace whose map is `map` of the host id `id`;
 * false when it is not mapped. */
static bool join_map_id(const char *map, unsigned id, unsigned *inside) {
  for (const char *line = map; *line != '\0';) {
    unsigned long in, out, len;
    char *end;
    in = strtoul(line, &end, 10);
    out = strtoul(end, &end, 10);
    len = strtoul(end, &end, 10);
    if (end == line) return false;
    if (id >= out && id - out < len) {
      *inside = (unsigned)(in + (id - out));
      return true;
    }
    const char *next = strchr(end, '\n');
    if (next == NULL) break;
    line = next + 1;
  }
  return false;
}

/* Through sudo, the init takes the sudo user's ids as the cage's user
 * namespace has them: its maps hold only that user's ids, the uid as
 * itself, or as 0 with --root (cage.c). Groups the maps leave out are left
 * out, as a new cage does. Returns 0 or -errno. */
static int join_ids_in_cage(struct join_plan *p) {
  if (p->mode != JOIN_SUDO || p->ns_fds[0] < 0) return 0;
  char *uid_map = malloc(JOIN_MAP_MAX), *gid_map = malloc(JOIN_MAP_MAX);
  int rc =
      uid_map != NULL && gid_map != NULL ? join_read_maps(p->ns_fds[0], uid_map, gid_map) : -ENOMEM;
  unsigned uid = 0, gid = 0;
  if (rc == 0 && (!join_map_id(uid_map, p->uid, &uid) || !join_map_id(gid_map, p->gid, &gid))) {
    rc = -EINVAL;
  }
  if (rc == 0) {
    int kept = 0;
    for (int i = 0; i < p->group_count; i++) {
      unsigned g;
      if (join_map_id(gid_map, p->groups[i], &g)) p->groups[kept++] = (gid_t)g;
    }
    p->group_count = kept;
    p->uid = uid;
    p->gid = gid;
  }
  free(uid_map);
  free(gid_map);
  return rc;
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
  uint32_t init_fd = join_u32le(request + 12);
  if (version != WGL_JOIN_REQUEST_VERSION || argc == 0 || argc > request_len || init_fd > INT_MAX) {
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
  rc = join_take_namespaces(&plan, request);
  if (rc < 0) {
    free(argv);
    return join_fail(out, &plan, WGL_STAGE_JOIN_OPEN, -rc);
  }
  rc = join_ids_in_cage(&plan);
  if (rc < 0) {
    free(argv);
    return join_fail(out, &plan, WGL_STAGE_CREDS, -rc);
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
  plan.parent_sync_fd = pair[0];
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
  long pid = raw_clone(SIGCHLD, NULL);
  if (pid == 0) join_child(&plan);
  int clone_errno = errno;
  close(pair[1]);
  if (pid < 0) {
    close(pair[0]);
    return join_fail(out, &plan, WGL_STAGE_CLONE, clone_errno);
  }
  enum join_mode mode = plan.mode;
  join_plan_free(&plan);
  /* The joined init runs as the sudo user: let it stop this process's job on
   * Ctrl-Z, as cage.c does for a run (identity.h). Best effort. */
  unsigned sudo_uid;
  if (mode == JOIN_SUDO && wgl_identity_parse_id(getenv("SUDO_UID"), &sudo_uid) == 0) {
    (void)wgl_identity_signalable_by(sudo_uid);
  }
  out[WGL_JOIN_OUT_PID] = (int32_t)pid;
  out[WGL_JOIN_OUT_SYNC] = pair[0];
  out[WGL_JOIN_OUT_STAGE] = 0;
  out[WGL_JOIN_OUT_MODE] = (int32_t)mode;
  out[WGL_JOIN_OUT_TTY] = tty_fd;
  return 0;
}

static void join_reap(pid_t pid) {
  if (pid <= 0) return;
  while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {
  }
}

int wgl_join_await(int sync_fd, int joining_pid, int32_t *out) {
  if (out == NULL) return -EINVAL;
  out[0] = -1;
  out[1] = 0;
  out[2] = 0;
  pid_t between = -1, leader = -1;
  bool failed = false;
  int err = 0;
  for (;;) {
    uint32_t msg[2] = {0, 0};
    int32_t fds[1], count = 0;
    int n = wgl_recvmsg_fds(sync_fd, (uint8_t *)msg, sizeof msg, fds, 1, &count, 0);
    if (n < 0) {
      err = -n;
      break;
    }
    if (n == 0) break;
    int passed = count == 1 ? fds[0] : -1;
    if (n != sizeof msg) {
      err = EPROTO;
    } else if (msg[0] == WGL_JOIN_MSG_BETWEEN && between < 0 && msg[1] > 0 && msg[1] <= INT_MAX) {
      between = (pid_t)msg[1];
    } else if (msg[0] == WGL_JOIN_MSG_INIT && leader < 0 && passed >= 0) {
      int pid = wgl_pidfd_pid(passed);
      if (pid > 0) {
        leader = (pid_t)pid;
      } else {
        err = EPROTO;
      }
    } else if (msg[0] < WGL_JOIN_MSG_BETWEEN && !failed) {
      failed = true;
      out[1] = (int32_t)msg[0];
      out[2] = (int32_t)msg[1];
    } else {
      err = EPROTO;
    }
    if (passed >= 0) close(passed);
    if (err != 0) break;
  }
  join_reap(joining_pid);
  join_reap(between);
  out[0] = leader;
  if (err != 0) {
    /* The protocol broke: do not leave a command running unseen. */
    if (leader > 0) {
      (void)kill(leader, SIGKILL);
      join_reap(leader);
      out[0] = -1;
    }
    return -err;
  }
  if (!failed && leader < 0) {
    /* EOF before the init existed: a child died without a word. */
    out[1] = WGL_STAGE_SYNC;
    out[2] = EPIPE;
    return 1;
  }
  return failed ? 1 : 0;
}
