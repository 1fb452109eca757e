/*
 * keeper.c — see keeper.h. The messages are the Deno path's, word for word
 * (src/live/join_request.ts); only where that path would first say that no
 * such cage is up (it reads and cleans the records, and lists the live ones)
 * does this hand over to it.
 */
#include "keeper.h"

#include "../control.h"
#include "die_with_parent.h"
#include "messages.h"

#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* As KEEPER_TIMEOUT_MS and RETRY_MS of join_request.ts. */
#define KEEPER_TIMEOUT_MS 10000
#define RETRY_MS 20
#define MAX_REPLY 4096

bool wgj_state_dir(char *out, unsigned long size) {
  uid_t uid = getuid();
  const char *runtime = getenv("XDG_RUNTIME_DIR");
  int n;
  if (uid == 0) {
    n = snprintf(out, size, "/run/wgcage");
  } else if (runtime == NULL || runtime[0] != '/') {
    n = snprintf(out, size, "/tmp/wgcage-%u", (unsigned)uid);
  } else {
    size_t len = strlen(runtime);
    while (len > 1 && runtime[len - 1] == '/') len--;
    /* "/" alone: stateDir() strips it to "" and appends "/wgcage". */
    if (len == 1) len = 0;
    n = snprintf(out, size, "%.*s/wgcage", (int)len, runtime);
  }
  if (n < 0 || (unsigned long)n >= size) return false;
  struct stat st;
  return lstat(out, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid && (st.st_mode & 077) == 0;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to `ms` for `fd` (or only the time, fd -1) or an ending signal:
 * 1 ready, 0 timeout, -1 a signal came (*signo). */
static int wait_for(int fd, int signal_fd, int ms, int *signo) {
  struct pollfd p[2] = {{.fd = signal_fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
  /* The callers wait again after a timeout: a shorter one lets the
   * die-with-parent watch look. */
  int watch = wgj_watch_ms();
  if (watch > 0 && (ms < 0 || ms > watch)) ms = watch;
  int n;
  do {
    n = poll(p, fd >= 0 ? 2 : 1, ms);
  } while (n < 0 && errno == EINTR);
  wgj_watch_check();
  /* Ctrl-C, SIGTERM and SIGHUP end the wait; the others (a resize, a
   * child) have no command to go to yet. */
  struct signalfd_siginfo info;
  while ((p[0].revents & POLLIN) && read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
    int sig = (int)info.ssi_signo;
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      *signo = sig;
      return -1;
    }
  }
  return n > 0 && fd >= 0 && p[1].revents != 0 ? 1 : 0;
}

static void stuck(const char *name) {
  wgj_say("The cage '%s' did not answer within %d s; its keeper may be stuck; see 'wgcage ls', "
          "or end it with 'wgcage down %s'",
          name, KEEPER_TIMEOUT_MS / 1000, name);
}

static void closed_at_once(const char *name) {
  wgj_say("The cage '%s' refused the command: its control socket serves only its keeper's "
          "network namespace; run 'wgcage exec' where 'wgcage up %s' ran",
          name, name);
}

static void close_fds(int *fds, int count) {
  for (int i = 0; i < count; i++) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
}

/* Reads the `config_env=VAR` line of a reply, the only one before errno=0
 * that this knows. Returns false on anything else. */
static bool parse_reply(char *reply, struct wgj_grant *g) {
  /* reply ends in "\n\n"; its last line must be errno=0. */
  size_t len = strlen(reply);
  reply[len - 2] = '\0';
  char *last = strrchr(reply, '\n');
  const char *errno_line = last != NULL ? last + 1 : reply;
  if (strcmp(errno_line, "errno=0") != 0) return false;
  g->config_env[0] = '\0';
  if (last == NULL) return true;
  *last = '\0';
  regex_t env_name;
  if (regcomp(&env_name, "^[A-Za-z_][A-Za-z0-9_]*$", REG_EXTENDED | REG_NOSUB) != 0) return false;
  bool ok = true;
  for (char *line = reply; ok && line != NULL;) {
    char *next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    const char *key = "config_env=";
    ok = strncmp(line, key, strlen(key)) == 0 &&
         regexec(&env_name, line + strlen(key), 0, NULL, 0) == 0 &&
         strlen(line + strlen(key)) < sizeof g->config_env;
    if (ok) snprintf(g->config_env, sizeof g->config_env, "%s", line + strlen(key));
    line = next;
  }
  regfree(&env_name);
  return ok ? true : (errno = EBADMSG, false);
}

enum wgj_ask wgj_ask_keeper(const char *path, const char *name, int signal_fd,
                            void (*before_request)(void), struct wgj_grant *g, int *signo) {
  long long deadline = now_ms() + KEEPER_TIMEOUT_MS;
  bool warned = false;
  int fd;
  for (;;) {
    fd = wgl_ctl_connect(path);
    if (fd >= 0) break;
    /* No socket, or no one listening: no cage of that name is up, or its
     * keeper died and left its record; the Deno path cleans that up and
     * names the live ones. */
    if (fd == -ENOENT || fd == -ECONNREFUSED) return WGJ_HAND_OVER;
    if (fd == -EPERM) {
      before_request();
      wgj_say("The control socket of the cage '%s' (%s) is served from another network "
              "namespace or user than this wgcage's; run 'wgcage exec' where 'wgcage up %s' "
              "ran (if it did, the socket is not its keeper's: end the cage with 'wgcage down "
              "%s')",
              name, path, name, name);
      return WGJ_REFUSED;
    }
    if (fd != -EAGAIN) {
      before_request();
      wgj_say("Cannot reach the cage '%s': %s; it may have just ended; see 'wgcage ls'", name,
              wgj_describe_errno(-fd));
      return WGJ_REFUSED;
    }
    /* Its backlog is full: the keeper does not accept. */
    if (!warned) before_request();
    warned = true;
    if (now_ms() >= deadline) {
      stuck(name);
      return WGJ_REFUSED;
    }
    if (wait_for(-1, signal_fd, RETRY_MS, signo) < 0) return WGJ_INTERRUPTED;
  }
  if (!warned) before_request();
  g->fd = fd;
  for (int i = 0; i < WGJ_NS_COUNT; i++) g->ns_fds[i] = -1;
  int got = 0;
  enum wgj_ask result = WGJ_REFUSED;
  static const char request[] = "wgcage-join=1\n\n";
  int sent = wgl_ctl_send(fd, (const uint8_t *)request, sizeof request - 1);
  if (sent == -EPIPE || sent == -ECONNRESET) {
    closed_at_once(name);
    goto out;
  }
  if (sent != (int)(sizeof request - 1)) {
    wgj_say("The cage '%s' closed its control socket; see 'wgcage ls'", name);
    goto out;
  }
  char reply[MAX_REPLY + 1];
  size_t have = 0;
  reply[0] = '\0';
  while (have < 2 || strcmp(reply + have - 2, "\n\n") != 0) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      stuck(name);
      goto out;
    }
    int ready = wait_for(fd, signal_fd, (int)left, signo);
    if (ready < 0) {
      result = WGJ_INTERRUPTED;
      goto out;
    }
    if (ready == 0) continue;
    uint8_t buf[MAX_REPLY];
    int32_t fds[WGJ_NS_COUNT + 1];
    int32_t count = 0;
    int n = wgl_ctl_recv_fds(fd, buf, sizeof buf, fds, WGJ_NS_COUNT + 1, &count);
    if (n == -EAGAIN) continue;
    if ((n == 0 || n == -ECONNRESET) && have == 0) {
      closed_at_once(name);
      goto out;
    }
    if (n <= 0 || have + (size_t)n > MAX_REPLY) {
      if (n < 0) {
        wgj_say("The cage '%s' refused the command (%s); see 'wgcage ls'", name,
                wgj_describe_errno(-n));
      } else {
        wgj_say("The cage '%s' refused the command; see 'wgcage ls'", name);
      }
      for (int i = 0; i < count; i++) close(fds[i]);
      goto out;
    }
    for (int i = 0; i < count; i++) {
      if (got < WGJ_NS_COUNT) {
        g->ns_fds[got] = fds[i];
      } else {
        close(fds[i]);
      }
      got++;
    }
    memcpy(reply + have, buf, (size_t)n);
    have += (size_t)n;
    reply[have] = '\0';
  }
  if (memchr(reply, '\0', have) != NULL || got != WGJ_NS_COUNT) {
    wgj_say("The cage '%s' refused the command; see 'wgcage ls'", name);
    goto out;
  }
  errno = 0;
  if (!parse_reply(reply, g)) {
    if (errno == EBADMSG) {
      wgj_say("The cage '%s' sent a reply this wgcage does not know; see 'wgcage ls'", name);
    } else {
      wgj_say("The cage '%s' refused the command; see 'wgcage ls'", name);
    }
    goto out;
  }
  return WGJ_GRANTED;
out:
  close_fds(g->ns_fds, WGJ_NS_COUNT);
  close(fd);
  g->fd = -1;
  return result;
}

bool wgj_keeper_hung_up(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int n;
  do {
    n = poll(&p, 1, ms);
  } while (n < 0 && errno == EINTR);
  return n > 0 && p.revents != 0;
}
