/*
 * run.c — see run.h.
 */
#include "run.h"

#include "../cage.h"
#include "../join.h"
#include "die_with_parent.h"
#include "keeper.h"
#include "messages.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define EXIT_REFUSED 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

static void put_u32(uint8_t *at, uint32_t v) {
  at[0] = (uint8_t)v;
  at[1] = (uint8_t)(v >> 8);
  at[2] = (uint8_t)(v >> 16);
  at[3] = (uint8_t)(v >> 24);
}

/* join.h's request: the header, the working directory, PATH, argv. */
static uint8_t *join_request(char **argv, int argc, const int *ns_fds, int init_fd,
                             uint32_t *len_out) {
  char *cwd = getcwd(NULL, 0);
  if (cwd == NULL) return NULL;
  const char *path = getenv("PATH");
  if (path == NULL) path = DEFAULT_PATH;
  size_t len = WGL_JOIN_REQUEST_HEADER + strlen(cwd) + 1 + strlen(path) + 1;
  for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
  uint8_t *req = len <= UINT32_MAX ? calloc(1, len) : NULL;
  if (req == NULL) {
    free(cwd);
    return NULL;
  }
  put_u32(req, WGL_JOIN_REQUEST_VERSION);
  put_u32(req + 8, (uint32_t)argc);
  put_u32(req + 12, (uint32_t)init_fd);
  for (int i = 0; i < WGJ_NS_COUNT; i++) put_u32(req + 16 + 4 * i, (uint32_t)ns_fds[i]);
  size_t at = WGL_JOIN_REQUEST_HEADER;
  const char *strings[2] = {cwd, path};
  for (int i = 0; i < 2 + argc; i++) {
    const char *s = i < 2 ? strings[i] : argv[i - 2];
    size_t n = strlen(s) + 1;
    memcpy(req + at, s, n);
    at += n;
  }
  free(cwd);
  *len_out = (uint32_t)len;
  return req;
}

/* join.ts's joinFailure, for the stages it words itself; false for the rest
 * (cage.ts's cageFailure words them, on the Deno path). */
static bool join_failure(const char *name, const char *command, int stage, int err, int *status) {
  if (stage == WGL_STAGE_JOIN_OPEN || stage == WGL_STAGE_JOIN_SETNS) {
    wgj_say("Cannot join the cage '%s': %s (%s its namespaces); only the user who started it "
            "can join it; check 'wgcage ls'",
            name, wgj_describe_errno(err), stage == WGL_STAGE_JOIN_OPEN ? "checking" : "entering");
    *status = EXIT_REFUSED;
    return true;
  }
  if (stage == WGL_STAGE_JOIN_PROC) {
    wgj_say("Cannot join the cage '%s': %s (mounting the command's /proc in the cage); check "
            "'wgcage ls' and the kernel's log",
            name, wgj_describe_errno(err));
    *status = EXIT_REFUSED;
    return true;
  }
  /* The command's exec (failure.ts, Stage.Exec) for what it was checked
   * for beforehand and then changed: gone (127), or not executable (126). */
  if (stage == WGL_STAGE_EXEC && (err == ENOENT || err == ENOTDIR || err == ELOOP)) {
    char quoted[PATH_MAX + 16];
    wgj_say("Cannot run %s: command not found", wgj_quote(command, quoted, sizeof quoted));
    *status = EXIT_NOT_FOUND;
    return true;
  }
  if (stage == WGL_STAGE_EXEC && err != ENOSPC) {
    char quoted[PATH_MAX + 16];
    wgj_say("Cannot run %s: %s%s", wgj_quote(command, quoted, sizeof quoted),
            wgj_describe_errno(err),
            err == EACCES ? "; check that it is an executable file (chmod +x) on a file system "
                            "not mounted noexec"
                          : "");
    *status = EXIT_NOT_EXECUTABLE;
    return true;
  }
  return false;
}

static int wait_status(pid_t pid, int options) {
  int st = 0;
  pid_t r;
  do {
    r = waitpid(pid, &st, options);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return -2; /* still running */
  if (r < 0) return -1;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

enum wgj_start wgj_start(const char *name, char **argv, int argc, const int *ns_fds, int init_fd,
                         struct wgj_run *run, int *status) {
  uint32_t len = 0;
  uint8_t *req = join_request(argv, argc, ns_fds, init_fd, &len);
  if (req == NULL) return WGJ_START_HAND_OVER;
  int32_t out[WGL_JOIN_OUT_WORDS];
  int rc = wgl_join_open(req, len, out);
  free(req);
  if (rc < 0) {
    return join_failure(name, argv[0], out[WGL_JOIN_OUT_STAGE], out[WGL_JOIN_OUT_ERRNO], status)
               ? WGJ_FAILED
               : WGJ_START_HAND_OVER;
  }
  int32_t result[3];
  int exec = wgl_join_await(out[WGL_JOIN_OUT_SYNC], out[WGL_JOIN_OUT_PID], result);
  close(out[WGL_JOIN_OUT_SYNC]);
  run->tty_fd = out[WGL_JOIN_OUT_TTY];
  run->pid = result[0];
  if (exec < 0 || result[0] <= 0) {
    if (run->tty_fd >= 0) (void)wgl_tty_reclaim(run->tty_fd);
    if (exec == 1) {
      return join_failure(name, argv[0], result[1], result[2], status) ? WGJ_FAILED
                                                                       : WGJ_START_HAND_OVER;
    }
    wgj_say("Cannot run a command in the cage '%s': the join broke (%s); see 'wgcage ls' and "
            "run it again",
            name, wgj_describe_errno(-exec));
    *status = EXIT_REFUSED;
    return WGJ_FAILED;
  }
  if (exec != 0) {
    /* The init reported a failure and exits: wait for it, then say why. */
    (void)wait_status(run->pid, 0);
    if (run->tty_fd >= 0) (void)wgl_tty_reclaim(run->tty_fd);
    return join_failure(name, argv[0], result[1], result[2], status) ? WGJ_FAILED
                                                                     : WGJ_START_HAND_OVER;
  }
  return WGJ_STARTED;
}

int wgj_wait(struct wgj_run *run, int signal_fd) {
  int status = wait_status(run->pid, WNOHANG);
  while (status == -2) {
    struct pollfd p = {.fd = signal_fd, .events = POLLIN};
    if (poll(&p, 1, wgj_watch_ms()) < 0 && errno != EINTR) return -1;
    wgj_watch_check();
    struct signalfd_siginfo info;
    while (read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
      int sig = (int)info.ssi_signo;
      if (sig == SIGCHLD) continue;
      if (sig == SIGCONT) {
        /* Resumed after the command's stop stopped us (job control): the
         * init resumes the command and hands it the terminal if we have it. */
        if (run->tty_fd >= 0) (void)wgl_cage_resume(run->pid, run->tty_fd);
        continue;
      }
      (void)wgl_cage_signal(run->pid, sig);
    }
    status = wait_status(run->pid, WNOHANG);
  }
  /* A failed wait's errno is the caller's to report, not the reclaim's. */
  int err = errno;
  if (run->tty_fd >= 0) (void)wgl_tty_reclaim(run->tty_fd);
  errno = err;
  return status;
}
