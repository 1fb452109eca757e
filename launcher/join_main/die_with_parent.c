/*
 * die_with_parent.c — see die_with_parent.h. The words are the Deno path's.
 */
#include "die_with_parent.h"

#include "../parent_death.h"
#include "messages.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VAR "WGCAGE_DIE_WITH_PARENT"
#define POLL_MS 250
#define MAX_WATCHED 8
#define EXIT_REFUSED 125

static char *original;
static int watched_count;
static int watched[MAX_WATCHED];
static unsigned long long watched_start[MAX_WATCHED];

/* /proc/PID/stat field 22, or 0 when the process is gone or a zombie. */
static unsigned long long start_time(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "re");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *at = strrchr(buf, ')');
  if (at == NULL || at[1] == '\0' || at[2] == 'Z') return 0;
  at += 2; /* field 3, the state */
  for (int field = 3; field < 22 && at != NULL; field++) {
    at = strchr(at, ' ');
    if (at != NULL) at++;
  }
  return at != NULL ? strtoull(at, NULL, 10) : 0;
}

static int threads_of(int pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "re");
  if (f == NULL) return -1;
  int threads = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "Threads: %d", &threads) == 1) break;
  }
  fclose(f);
  return threads;
}

static int gone(int pid, const char *what) {
  wgj_say("Stopped: %s (pid %d) has ended, and wgcage ends with it (--die-with-parent; "
          "WGCAGE_DIE_WITH_PARENT=0 turns that off for the npm package's wgcage)",
          what, pid);
  return EXIT_REFUSED;
}

static int watch(int pid, const char *what) {
  if (watched_count == MAX_WATCHED) return 0;
  unsigned long long t = start_time(pid);
  if (t == 0) return gone(pid, what);
  watched[watched_count] = pid;
  watched_start[watched_count++] = t;
  return 0;
}

int wgj_die_with_parent(void) {
  const char *value = getenv(VAR);
  if (value == NULL) return 0;
  original = strdup(value);
  (void)unsetenv(VAR);
  if (original == NULL) return 0;
  int pids[MAX_WATCHED + 1], count = 0;
  const char *at = original;
  bool valid = original[strspn(original, "0123456789 \t\n\r\f\v")] == '\0';
  while (valid && *at != '\0') {
    at += strspn(at, " \t\n\r\f\v");
    if (*at == '\0') break;
    char *end;
    long pid = strtol(at, &end, 10);
    if (count <= MAX_WATCHED) pids[count] = (int)pid;
    count++;
    valid = pid >= 0 && pid <= 0x3fffffff;
    at = end;
  }
  if (valid && count == 1 && pids[0] == 0) return 0;
  for (int i = 0; i < count && i <= MAX_WATCHED; i++) valid = valid && pids[i] > 0;
  if (!valid || count == 0) {
    wgj_say("WGCAGE_DIE_WITH_PARENT='%s' is not valid: give the parent's pid, then any "
            "ancestors' (or 0 for off)",
            original);
    return EXIT_REFUSED;
  }
  int parent = pids[0];
  const char *started_us = "the process that started wgcage";
  if (getppid() != parent) return gone(parent, started_us);
  int rc = -1;
  if (threads_of(parent) == 1) {
    rc = wgl_parent_death_arm(parent);
    if (rc == -ESRCH) return gone(parent, started_us);
  }
  if (rc < 0 && watch(parent, started_us) != 0) return EXIT_REFUSED;
  for (int i = 1; i < count && i <= MAX_WATCHED; i++) {
    if (watch(pids[i], "a process above wgcage") != 0) return EXIT_REFUSED;
  }
  return 0;
}

void wgj_die_with_parent_restore(void) {
  if (original != NULL) (void)setenv(VAR, original, 1);
}

int wgj_watch_ms(void) { return watched_count > 0 ? POLL_MS : -1; }

void wgj_watch_check(void) {
  for (int i = 0; i < watched_count; i++) {
    if (start_time(watched[i]) != watched_start[i]) (void)kill(getpid(), SIGKILL);
  }
}
