/*
 * main.c — wgcage-join: `wgcage exec NAME [--] CMD [ARGS…]` without Deno.
 *
 *     wgcage-join COUNT DENO-ARGV[0..COUNT) exec NAME [--] CMD [ARGS…]
 *
 * The first COUNT words after COUNT are the Deno path's command line
 * (`deno run … wgcage.js`, or the wgcage binary), whose arguments continue
 * with `exec NAME …`: handing over is one execv of everything after COUNT,
 * with WGCAGE_NATIVE_JOIN=0 so that the Deno path does the join itself.
 *
 * It does what that path does (src/cli/exec_command.ts): asks the cage's
 * keeper for its namespaces over the control socket (keeper.c; control.c
 * checks the keeper as it does there), joins them through join.c (no_new_privs,
 * the terminal filter, non-dumpable, the command's own PID namespace; the
 * init drops its capabilities before the command), forwards signals, hands
 * the terminal back, and exits with the command's status. It hands over to
 * the Deno path, before anything was asked of the keeper, for:
 *   - a sudo join: the sudo user's groups come from NSS, which a static
 *     program cannot use (nss_static.c);
 *   - a command line that is not plain (options, a bad name, no command),
 *     or a command that is not a found, executable file (command.h): the
 *     Deno path words those refusals;
 *   - no cage of that name up, or a stale record, or a state directory that
 *     is not the user's own: the Deno path cleans the record up and names
 *     the live cages;
 * and after a failed start only for a stage it has no words for (nothing
 * ran; the Deno path tries again and names it). WGCAGE_NATIVE_JOIN=0 hands
 * every join over. WGCAGE_DIE_WITH_PARENT (the npm bin's) holds here as on
 * that path: the join ends when the bin's shell (or npm) ends. Everything else (a keeper that is
 * someone else's, dead, stuck or refusing; a failed join; Ctrl-C or SIGTERM while waiting) gets the
 * Deno path's own line and exit status from here.
 */
#include "../cage.h"
#include "../environ.h"
#include "../identity.h"
#include "../protect.h"
#include "command.h"
#include "die_with_parent.h"
#include "keeper.h"
#include "messages.h"
#include "run.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define EXIT_REFUSED 125
/* A command the kernel killed: 128 + SIGKILL, as when its cage's init ends. */
#define KILLED 137

extern const unsigned char wgj_init_image[];
extern const unsigned char wgj_init_image_end[];

static sigset_t original_mask;
static char **deno_argv;
static int deno_count;

/* Runs the Deno path with the same arguments; never returns. */
static _Noreturn void hand_over(const char *why) {
  (void)sigprocmask(SIG_SETMASK, &original_mask, NULL);
  wgj_die_with_parent_restore();
  if (deno_count == 0) {
    wgj_say("Cannot run this 'exec' natively (%s) and no Deno path was given; run it with "
            "'wgcage exec'",
            why);
    exit(EXIT_REFUSED);
  }
  /* "0:" and why: that path's -v says it (src/live/native_join.ts). */
  char setting[256];
  (void)snprintf(setting, sizeof setting, "0:%s", why);
  if (setenv("WGCAGE_NATIVE_JOIN", setting, 1) == 0) execv(deno_argv[0], deno_argv);
  wgj_say("Cannot start %s for 'exec': %s; reinstall wgcage", deno_argv[0],
          wgj_describe_errno(errno));
  exit(EXIT_REFUSED);
}

/* As join.c's join_identity: root on behalf of a sudo user. */
static int sudo_join(void) {
  unsigned id;
  return geteuid() == 0 && getuid() == 0 && wgl_identity_parse_id(getenv("SUDO_UID"), &id) == 0 &&
         wgl_identity_parse_id(getenv("SUDO_GID"), &id) == 0;
}

/* src/live/state.ts's checkName. */
static int valid_name(const char *name) {
  regex_t re;
  if (regcomp(&re, "^[A-Za-z0-9_=+.-]{1,15}$", REG_EXTENDED | REG_NOSUB) != 0) return 0;
  int ok = regexec(&re, name, 0, NULL, 0) == 0;
  regfree(&re);
  return ok && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* A close-on-exec memfd holding the init; -1 on failure. */
static int init_memfd(void) {
  int fd = memfd_create("wgcage-init", MFD_CLOEXEC);
  if (fd < 0) return -1;
  const unsigned char *at = wgj_init_image;
  while (at < wgj_init_image_end) {
    ssize_t n = write(fd, at, (size_t)(wgj_init_image_end - at));
    if (n <= 0) {
      close(fd);
      return -1;
    }
    at += n;
  }
  return fd;
}

static void close_grant(struct wgj_grant *g) {
  for (int i = 0; i < WGJ_NS_COUNT; i++) {
    if (g->ns_fds[i] >= 0) close(g->ns_fds[i]);
    g->ns_fds[i] = -1;
  }
}

int main(int argc, char **argv) {
  char *end = NULL;
  long count = argc >= 2 ? strtol(argv[1], &end, 10) : -1;
  if (count < 0 || end == NULL || *end != '\0' || count > argc - 2) {
    wgj_say("wgcage-join is run by wgcage for 'wgcage exec NAME -- CMD'; run that instead");
    return EXIT_REFUSED;
  }
  deno_count = (int)count;
  deno_argv = argv + 2;
  char **rest = argv + 2 + count;
  int rest_count = argc - 2 - (int)count;
  (void)sigprocmask(SIG_SETMASK, NULL, &original_mask);

  const char *setting = getenv("WGCAGE_NATIVE_JOIN");
  if (setting != NULL && (strcmp(setting, "0") == 0 || strncmp(setting, "0:", 2) == 0)) {
    hand_over("WGCAGE_NATIVE_JOIN=0");
  }
  /* `exec -v NAME`: a line saying that this took it (or, from the Deno
   * path, why not). */
  bool verbose = rest_count >= 2 && strcmp(rest[0], "exec") == 0 &&
                 (strcmp(rest[1], "-v") == 0 || strcmp(rest[1], "--verbose") == 0);
  int at = verbose ? 2 : 1; /* the name's place; argv stays as it came, for the Deno path */
  if (rest_count < at + 2 || strcmp(rest[0], "exec") != 0 || !valid_name(rest[at])) {
    hand_over("not a plain 'exec NAME -- CMD'");
  }
  const char *name = rest[at];
  char **cmd = rest + at + 1;
  int cmd_count = rest_count - at - 1;
  if (strcmp(cmd[0], "--") == 0) {
    cmd++;
    cmd_count--;
  } else if (cmd[0][0] == '-') {
    hand_over("an option after the name");
  }
  if (cmd_count < 1 || cmd[0][0] == '\0') hand_over("no command");
  if (sudo_join()) hand_over("through sudo (the sudo user's groups need NSS)");
  char dir[PATH_MAX], path[PATH_MAX];
  if (!wgj_state_dir(dir, sizeof dir)) hand_over("the state directory is not yours alone");
  if ((size_t)snprintf(path, sizeof path, "%s/%s.sock", dir, name) >= sizeof path) {
    hand_over("a long state directory");
  }
  const char *path_env = getenv("PATH");
  if (!wgj_command_plain(cmd[0], path_env != NULL ? path_env : "")) {
    hand_over("the command is not a found, executable file");
  }

  int watching = wgj_die_with_parent();
  if (watching != 0) return watching;

  /* The signals wait in a signalfd from here on: while the keeper is asked,
   * an ending one stops the wait; once the command runs, each goes to it. */
  sigset_t mask;
  sigemptyset(&mask);
  static const int caught[] = {WGL_FORWARDED_SIGNALS};
  for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++) sigaddset(&mask, caught[i]);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGCONT);
  (void)sigprocmask(SIG_BLOCK, &mask, NULL);
  (void)signal(SIGPIPE, SIG_IGN);
  int signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) hand_over("no signalfd");
  struct wgj_grant grant;
  int signo = 0;
  enum wgj_ask asked = wgj_ask_keeper(path, name, signal_fd, wgj_proxy_warning, &grant, &signo);
  if (asked == WGJ_HAND_OVER) hand_over("no cage of that name answers here");
  if (verbose && asked == WGJ_GRANTED) wgj_say("exec through the native join (%s)", argv[0]);
  if (asked == WGJ_REFUSED) return EXIT_REFUSED;
  if (asked == WGJ_INTERRUPTED) return 128 + signo;
  /* As the Deno path: Ctrl-C, SIGTERM or SIGHUP before the command is
   * started stops wgcage; one that comes during the start goes to it. */
  sigset_t pending;
  if (sigpending(&pending) == 0) {
    static const int ending[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof ending / sizeof ending[0]; i++) {
      if (sigismember(&pending, ending[i]) == 1) return 128 + ending[i];
    }
  }
  /* Dumpable until the keeper has checked us: a keeper that may not read
   * our /proc/PID/ns (not dumpable, and no CAP_SYS_PTRACE over us) takes us
   * on our PID namespace alone, and would not see another network namespace
   * (control.c). From here on, no core file and no tracing by the user's
   * other processes: the environment may hold the cage's config until it is
   * erased below, and the namespace fds reach into the cage. */
  (void)wgl_process_protect();
  /* As the Deno path: the config's variable is erased, block and all. */
  if (grant.config_env[0] != '\0') {
    (void)unsetenv(grant.config_env);
    int rc = wgl_environ_scrub(grant.config_env);
    if (rc < 0) {
      wgj_say("Cannot erase %s from the process's original environment (%s); please report it "
              "with the command line you ran",
              grant.config_env, wgj_describe_errno(-rc));
      return EXIT_REFUSED;
    }
  }
  int init_fd = init_memfd();
  if (init_fd < 0) {
    wgj_say("Cannot hold the cage's init program in memory: %s; wgcage needs memfd_create "
            "(Linux 3.17 or later)",
            wgj_describe_errno(errno));
    return EXIT_REFUSED;
  }
  struct wgj_run run;
  int status = 0;
  enum wgj_start started = wgj_start(name, cmd, cmd_count, grant.ns_fds, init_fd, &run, &status);
  close_grant(&grant);
  close(init_fd);
  if (started == WGJ_START_HAND_OVER) {
    close(grant.fd);
    close(signal_fd);
    hand_over("a failure it has no words for");
  }
  if (started == WGJ_FAILED) return status;
  status = wgj_wait(&run, signal_fd);
  if (status < 0) {
    wgj_say("Cannot wait for the command in the cage '%s' (%s); please report it with the "
            "command line you ran",
            name, wgj_describe_errno(errno));
    return EXIT_REFUSED;
  }
  /* Killed because 'wgcage down' ended the cage: say so, and pass the
   * status on (137, as 'podman exec' reports a container stopped under it). */
  if (status == KILLED && wgj_keeper_hung_up(grant.fd, 500)) {
    wgj_say("the cage '%s' was ended ('wgcage down', or its keeper stopped); the command was "
            "stopped (status %d)",
            name, status);
  }
  return status;
}
