/*
 * command.c — what the init's child does to become the command. The init is
 * a fresh single-threaded process, so this code may allocate freely.
 */
#include "command.h"

#include "../cage.h"
#include "terminal_filter.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXIT_SETUP_FAILED 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

_Noreturn void command_fail(const struct command_plan *c, unsigned stage, int err) {
  uint32_t msg[2] = {stage, (uint32_t)err};
  (void)send(c->sync_fd, msg, sizeof msg, MSG_NOSIGNAL);
  _exit(EXIT_SETUP_FAILED);
}

static bool is_missing(int err) {
  return err == ENOENT || err == ENOTDIR || err == ESTALE || err == ENODEV || err == ETIMEDOUT ||
         err == ELOOP || err == ENAMETOOLONG;
}

/* execve, falling back to sh for a file without a valid header (as execvp). */
static int try_exec(const struct command_plan *c, const char *path) {
  execve(path, c->argv, c->envp);
  int err = errno;
  if (err != ENOEXEC) return err;
  size_t argc = 0;
  while (c->argv[argc] != NULL) argc++;
  char **sh_argv = calloc(argc + 2, sizeof(char *));
  if (sh_argv == NULL) return ENOMEM;
  sh_argv[0] = "sh";
  sh_argv[1] = (char *)path;
  for (size_t i = 1; i < argc; i++) sh_argv[i + 1] = c->argv[i];
  execve("/bin/sh", sh_argv, c->envp);
  err = errno;
  free(sh_argv);
  return err;
}

/* Tries argv[0] along PATH as execvp does: EACCES is remembered and
 * reported only when no candidate was found at all. */
static int exec_along_path(const struct command_plan *c) {
  const char *name = c->argv[0];
  if (strchr(name, '/') != NULL) return try_exec(c, name);
  int err = ENOENT;
  bool denied = false;
  size_t name_len = strlen(name);
  const char *start = c->path;
  for (;;) {
    const char *end = strchrnul(start, ':');
    size_t dir_len = (size_t)(end - start);
    char *candidate = malloc(dir_len + 1 + name_len + 1);
    if (candidate == NULL) return ENOMEM;
    memcpy(candidate, start, dir_len);
    size_t n = dir_len;
    if (n > 0) candidate[n++] = '/'; /* an empty element means the current directory */
    memcpy(candidate + n, name, name_len + 1);
    err = try_exec(c, candidate);
    struct stat st;
    if (err == EACCES && stat(candidate, &st) != 0) err = ENOENT; /* a directory we cannot search */
    free(candidate);
    if (err == EACCES) {
      denied = true;
    } else if (!is_missing(err)) {
      return err;
    }
    if (*end == '\0') break;
    start = end + 1;
  }
  return denied ? EACCES : err;
}

/* A command that runs as root of the cage (--root, or root without sudo)
 * keeps every capability over the cage's own namespaces (CAP_NET_ADMIN and
 * CAP_NET_RAW for ip and tcpdump are what --root is for) but two:
 * CAP_SYS_ADMIN, with which it could unmount what the cage laid over the
 * host's files (the hidden daemon sockets, the /etc files), as Docker and
 * Podman drop it by default; and CAP_SYS_PTRACE, with which it could trace
 * the init and the socket service, which are non-dumpable and hold the
 * terminal and wgcage's sockets (confine.c), as Docker and Podman drop it
 * too. A user namespace it makes itself cannot undo the covers either:
 * mounts copied into a namespace of a less privileged user namespace are
 * locked. */
static const int root_drops[] = {CAP_SYS_ADMIN, CAP_SYS_PTRACE};

static int drop_root_capabilities(void) {
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capget, &header, data) != 0) return -errno;
  for (size_t i = 0; i < sizeof root_drops / sizeof root_drops[0]; i++) {
    int cap = root_drops[i];
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return -errno;
    unsigned word = (unsigned)cap / 32, bit = 1u << (cap % 32);
    data[word].effective &= ~bit;
    data[word].permitted &= ~bit;
    data[word].inheritable &= ~bit;
  }
  if (syscall(SYS_capset, &header, data) != 0) return -errno;
  return 0;
}

/* Waits for the init's go-ahead: it has given up its own capabilities
 * (init.c). EOF means the init failed or died: no exec. */
static void await_init(const struct command_plan *c) {
  if (c->go_fd < 0) return;
  char byte = 0;
  ssize_t n;
  do {
    n = read(c->go_fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(EXIT_SETUP_FAILED);
  (void)close(c->go_fd);
}

static void reset_signal_dispositions(void) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    (void)sigaction(sig, &dfl, NULL);
  }
}

_Noreturn void command_run(const struct command_plan *c) {
  if (c->own_group) (void)setpgid(0, 0);
  if (c->tty_fd >= 0) {
    /* Take the terminal's foreground so the command can read it and gets
     * Ctrl-C; SIGTTOU is blocked so that the takeover itself is allowed. */
    sigset_t ttou;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    (void)sigprocmask(SIG_BLOCK, &ttou, NULL);
    (void)tcsetpgrp(c->tty_fd, getpid());
  }
  /* In sudo mode the init was started as the sudo user (cage.c, join.c: so
   * that nothing in the cage is ever host root); a mismatch here is a bug,
   * and the command must not run with other credentials than planned. */
  if (c->drop_to_user) {
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0 || r != c->uid || e != c->uid ||
        s != c->uid || rg != c->gid || eg != c->gid || sg != c->gid) {
      command_fail(c, WGL_STAGE_CREDS, EPERM);
    }
  }
  /* Joined to a live cage, the init is PID 1 of a PID namespace of the
   * command's own (join.c): the command and all it leaves end with it, as in
   * a new cage, with no death signal of their own. */
  int rc = getuid() == 0 ? drop_root_capabilities() : 0;
  if (rc < 0) command_fail(c, WGL_STAGE_CONFINE, -rc);
  rc = terminal_filter_install();
  if (rc < 0) command_fail(c, WGL_STAGE_CONFINE, -rc);
  reset_signal_dispositions();
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
  await_init(c);

  int err = exec_along_path(c);
  uint32_t msg[2] = {WGL_STAGE_EXEC, (uint32_t)err};
  (void)send(c->sync_fd, msg, sizeof msg, MSG_NOSIGNAL);
  _exit(is_missing(err) ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
}
