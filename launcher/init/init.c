/*
 * init.c — PID 1 of the cage, a program of its own.
 *
 * The cage's child is a clone of wgcage: until it execs, its memory is a copy
 * of wgcage's, which held the config text and the keys. Once the cage is set
 * up (namespaces, TUN, /etc files, /proc), the child execs this small program
 * from a memfd, as runc and crun exec their init: the init starts with a
 * fresh image that holds nothing of wgcage's, so no process in the cage can
 * read a key out of PID 1 (/proc/1/mem, a core dump, ptrace).
 *
 *   argv: wgcage-init SYNC_FD TTY_FD FLAGS UID GID GROUPS SERVICE_FD PATH ARGV0 ARGV1 …
 *
 * FLAGS is a sum of INIT_FLAG_*; GROUPS a comma-separated list of gids ("-"
 * for none); SERVICE_FD the cage's end of the socket service's socketpair,
 * or -1 (nothing published, no host service). The signals it forwards arrive blocked (the child
 * blocked them before the exec); they go out once the handlers are in place.
 *
 * Made by a run or `up` (INIT_FLAG_AWAIT_GO), it first waits for wgcage's
 * go-ahead on the sync socket: it is exec'd while wgcage still configures
 * the cage's links.
 *
 * With a SERVICE_FD it first forks the socket service (socket_service.c) and
 * waits until it has served what wgcage queued before the go-ahead (the
 * listening sockets of --host-service, so they exist before the command
 * does). It forks the command (command.c), gives up every capability and
 * enters no_new_privs and the terminal filter (confine.c) while the command
 * waits for it, lets the command exec, closes the sync socket (the command's
 * copy is close-on-exec, so wgcage sees EOF once the command has exec'd),
 * reaps every process of the cage, forwards signals, passes job-control
 * stops on, and exits with the command's status. The command keeps what its
 * mode gives it (--root: root of the cage, without CAP_SYS_ADMIN and
 * CAP_SYS_PTRACE): it is forked before the drop and execs only after it.
 */
#include "../cage.h"
#include "command.h"
#include "confine.h"
#include "socket_service.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define EXIT_SETUP_FAILED 125
#define ARGV_FIRST_COMMAND 9

static const int forwarded_signals[] = {WGL_FORWARDED_SIGNALS};
#define FORWARDED_COUNT (sizeof forwarded_signals / sizeof forwarded_signals[0])

static volatile sig_atomic_t command_pid;
/* The terminal of a job-control session, for resume_command. */
static int resume_tty = -1;

static void forward_signal(int sig) {
  int saved = errno;
  pid_t pid = command_pid;
  if (pid > 0) {
    (void)kill(pid, sig);
    /* As a terminal hang-up does: a stopped command must wake to die. */
    if (sig == SIGHUP || sig == SIGTERM) (void)kill(pid, SIGCONT);
  }
  errno = saved;
}

/* wgcage was continued (fg or bg) after the command's stop had stopped it:
 * WGL_SIG_RESUME_FOREGROUND means it has the terminal's foreground, which
 * goes back to the command's group first. SIGTTOU is blocked while this
 * runs. */
static void resume_command(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  int saved = errno;
  pid_t pid = command_pid;
  /* Only wgcage's kill() counts: it is this init's parent (si_pid reads 0
   * here, as getppid() does, when the parent is outside our PID namespace).
   * SI_USER is the kernel's to write: rt_sigqueueinfo() refuses it to a
   * sender that targets another process, while si_pid with SI_QUEUE is the
   * sender's to choose. A process in the cage would be asking for the
   * terminal's foreground while the user's shell holds it. */
  if (info->si_code != SI_USER || info->si_pid != getppid()) pid = 0;
  if (pid > 0) {
    if (sig == WGL_SIG_RESUME_FOREGROUND && resume_tty >= 0)
      (void)ioctl(resume_tty, TIOCSPGRP, &pid);
    (void)kill(-pid, SIGCONT);
  }
  errno = saved;
}

static bool parse_long(const char *s, long min, long max, long *out) {
  if (s == NULL || *s == '\0') return false;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

static bool parse_groups(const char *s, struct command_plan *c) {
  if (strcmp(s, "-") == 0) return true;
  size_t count = 1;
  for (const char *t = s; *t != '\0'; t++) count += *t == ',';
  c->groups = calloc(count, sizeof(gid_t));
  if (c->groups == NULL) return false;
  char *copy = strdup(s);
  if (copy == NULL) return false;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    long gid;
    if (!parse_long(tok, 0, (long)UINT_MAX - 1, &gid)) return false;
    c->groups[c->group_count++] = (gid_t)gid;
  }
  free(copy);
  return true;
}

static bool parse_args(int argc, char **argv, struct command_plan *c) {
  long sync_fd, tty_fd, flags, uid, gid, service_fd;
  if (argc <= ARGV_FIRST_COMMAND) return false;
  if (!parse_long(argv[1], 0, INT_MAX, &sync_fd) || !parse_long(argv[2], -1, 2, &tty_fd) ||
      !parse_long(argv[3], 0, INIT_FLAG_ALL, &flags) ||
      !parse_long(argv[4], 0, (long)UINT_MAX - 1, &uid) ||
      !parse_long(argv[5], 0, (long)UINT_MAX - 1, &gid)) {
    return false;
  }
  c->sync_fd = (int)sync_fd;
  c->tty_fd = (int)tty_fd;
  c->own_group = (flags & INIT_FLAG_OWN_GROUP) != 0;
  c->job_control = (flags & INIT_FLAG_JOB_CONTROL) != 0;
  c->drop_to_user = (flags & INIT_FLAG_DROP_TO_USER) != 0;
  c->hold = (flags & INIT_FLAG_HOLD) != 0;
  c->joined = (flags & INIT_FLAG_JOIN) != 0;
  c->await_go = (flags & INIT_FLAG_AWAIT_GO) != 0;
  c->uid = (uid_t)uid;
  c->gid = (gid_t)gid;
  if (!parse_groups(argv[6], c)) return false;
  if (!parse_long(argv[7], -1, INT_MAX, &service_fd)) return false;
  c->service_fd = (int)service_fd;
  c->path = argv[8];
  c->argv = argv + ARGV_FIRST_COMMAND;
  c->envp = environ;
  return c->argv[0][0] != '\0';
}

static _Noreturn void init_loop(const struct command_plan *c, pid_t command) {
  for (;;) {
    int status = 0;
    pid_t w = waitpid(-1, &status, WUNTRACED);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(EXIT_SETUP_FAILED); /* ECHILD: cannot happen while the command runs */
    }
    if (w != command) continue; /* an orphan the init adopted: reaped */
    if (WIFSTOPPED(status)) {
      int stop = WSTOPSIG(status);
      bool job_stop = stop == SIGTSTP || stop == SIGTTIN || stop == SIGTTOU;
      if (job_stop && c->job_control) {
        /* Ctrl-Z (or a background read) stopped the command's group: stop
         * wgcage's group too, as the shell expects of its job. The shell
         * continues wgcage, which then has us resume the command
         * (resume_command). This init, in that group too, is not stopped:
         * the kernel spares a namespace's init. */
        (void)kill(0, stop);
      } else if (stop == SIGTSTP) {
        /* No shell to resume the job would leave the terminal stuck with a
         * stopped command: go on at once. */
        (void)kill(c->own_group ? -command : command, SIGCONT);
      }
      continue;
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
  }
}

/* A live cage's PID 1 (INIT_FLAG_HOLD): no command of its own; it holds the
 * namespaces for the commands that join them (join.c) until wgcage kills it.
 * SIGCHLD ignored: the kernel reaps the orphans it adopts. It has no signal
 * handlers, so every signal but SIGKILL sent to it is dropped. */
static _Noreturn void hold_loop(const struct command_plan *c) {
  int err = confine_self();
  if (err < 0) command_fail(c, WGL_STAGE_CONFINE, -err);
  struct sigaction ignore;
  memset(&ignore, 0, sizeof ignore);
  ignore.sa_handler = SIG_IGN;
  (void)sigaction(SIGCHLD, &ignore, NULL);
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  (void)close(c->sync_fd); /* wgcage sees EOF: the cage is up */
  for (;;) (void)pause();
}

/* INIT_FLAG_AWAIT_GO: the cage's child exec'd us before wgcage had its links
 * configured; nothing starts before its go-ahead byte (WGL_SYNC_GO). EOF (or
 * anything else) means wgcage is gone or gave up: leave quietly. */
static void await_go(const struct command_plan *c) {
  char byte = 0;
  for (;;) {
    ssize_t n = recv(c->sync_fd, &byte, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1 && byte == WGL_SYNC_GO) return;
    _exit(EXIT_SETUP_FAILED);
  }
}

int main(int argc, char **argv) {
  /* Nothing here is secret, but the init holds capabilities in the cage's
   * user namespace until confine_self, and the terminal and the sync socket
   * for good: non-dumpable from the start, so that no process of the cage
   * can trace it without CAP_SYS_PTRACE there, which none has. */
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct command_plan c;
  memset(&c, 0, sizeof c);
  c.sync_fd = -1;
  c.service_fd = -1;
  c.go_fd = -1;
  if (!parse_args(argc, argv, &c)) {
    if (c.sync_fd >= 0) command_fail(&c, WGL_STAGE_INIT_EXEC, EINVAL);
    _exit(EXIT_SETUP_FAILED);
  }
  /* The sync socket reached us through exec; the command must not keep it. */
  (void)fcntl(c.sync_fd, F_SETFD, FD_CLOEXEC);
  if (c.await_go) await_go(&c);
  if (c.service_fd >= 0) {
    /* Before the command exists, and before any handler is installed: the
     * service starts with nothing of the init's but its socket. */
    int err = socket_service_start(c.service_fd);
    (void)close(c.service_fd);
    if (err != 0) command_fail(&c, WGL_STAGE_SERVICE, err);
  }
  if (c.hold) hold_loop(&c);

  struct sigaction fwd;
  memset(&fwd, 0, sizeof fwd);
  fwd.sa_handler = forward_signal;
  fwd.sa_flags = SA_RESTART;
  for (size_t i = 0; i < FORWARDED_COUNT; i++) (void)sigaction(forwarded_signals[i], &fwd, NULL);
  if (c.job_control) {
    resume_tty = c.tty_fd;
    struct sigaction resume;
    memset(&resume, 0, sizeof resume);
    resume.sa_sigaction = resume_command;
    resume.sa_flags = SA_RESTART | SA_SIGINFO;
    sigemptyset(&resume.sa_mask);
    sigaddset(&resume.sa_mask, SIGTTOU);
    sigaddset(&resume.sa_mask, WGL_SIG_RESUME);
    sigaddset(&resume.sa_mask, WGL_SIG_RESUME_FOREGROUND);
    (void)sigaction(WGL_SIG_RESUME, &resume, NULL);
    (void)sigaction(WGL_SIG_RESUME_FOREGROUND, &resume, NULL);
  }

  /* The command execs once the init has given up its capabilities: one byte
   * on this pipe (or EOF, when the init failed: the command exits). */
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) command_fail(&c, WGL_STAGE_FORK, errno);
  pid_t pid = fork();
  if (pid < 0) command_fail(&c, WGL_STAGE_FORK, errno);
  if (pid == 0) {
    (void)close(go[1]);
    c.go_fd = go[0];
    command_run(&c);
  }
  command_pid = pid;
  (void)close(go[0]);
  int err = confine_self();
  if (err < 0) {
    (void)kill(pid, SIGKILL);
    command_fail(&c, WGL_STAGE_CONFINE, -err);
  }
  char byte = 'G';
  ssize_t w;
  do {
    w = write(go[1], &byte, 1);
  } while (w < 0 && errno == EINTR);
  (void)close(go[1]);
  (void)close(c.sync_fd); /* wgcage sees EOF once the command has exec'd */
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL); /* signals held so far go out now */
  init_loop(&c, pid);
}
