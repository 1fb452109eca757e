/*
 * messages.c — see messages.h.
 */
#include "messages.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

void wgj_say(const char *fmt, ...) {
  char line[4096];
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* One write: lines of joins that run at once do not interleave. */
  (void)fprintf(stderr, "wgcage: %s\n", line);
}

const char *wgj_describe_errno(int err) {
  static char buf[128];
  (void)snprintf(buf, sizeof buf, "%s", strerror(err));
  if (strncmp(buf, "Unknown error", 13) == 0) {
    (void)snprintf(buf, sizeof buf, "errno %d", err);
    return buf;
  }
  buf[0] = (char)tolower((unsigned char)buf[0]);
  return buf;
}

const char *wgj_quote(const char *s, char *out, unsigned long size) {
  unsigned long at = 0;
  if (size < 3) return "";
  out[at++] = '\'';
  for (; *s != '\0' && at + 5 < size; s++) {
    if (*s == '\'') {
      memcpy(out + at, "'\\''", 4);
      at += 4;
    } else {
      out[at++] = *s;
    }
  }
  out[at++] = '\'';
  out[at] = '\0';
  return out;
}

/* HTTP_PROXY, https_proxy, ftp_proxy, ALL_PROXY…: (https?|ftp|all)_proxy, any case. */
static int proxy_name(const char *name, size_t len) {
  static const char *const names[] = {"http_proxy", "https_proxy", "ftp_proxy", "all_proxy"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (len == strlen(names[i]) && strncasecmp(name, names[i], len) == 0) return 1;
  }
  return 0;
}

static int by_name(const void *a, const void *b) {
  /* JavaScript's default sort: UTF-16 code units; these names are ASCII. */
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void wgj_proxy_warning(void) {
  char *found[64];
  size_t count = 0;
  for (char **e = environ; *e != NULL && count < 64; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL || eq[1] == '\0' || !proxy_name(*e, (size_t)(eq - *e))) continue;
    found[count] = strndup(*e, (size_t)(eq - *e));
    if (found[count] != NULL) count++;
  }
  if (count == 0) return;
  qsort(found, count, sizeof found[0], by_name);
  char names[2048] = "", unset[2048] = "";
  size_t n = 0, u = 0;
  for (size_t i = 0; i < count; i++) {
    n += (size_t)snprintf(names + n, n < sizeof names ? sizeof names - n : 0, "%s%s",
                          i == 0 ? "" : ", ", found[i]);
    u += (size_t)snprintf(unset + u, u < sizeof unset ? sizeof unset - u : 0, "%s-u %s",
                          i == 0 ? "" : " ", found[i]);
    if (n >= sizeof names || u >= sizeof unset) break;
  }
  wgj_say("Warning: %s %s into the cage: CMD's web traffic goes to that proxy (a proxy on the "
          "host's loopback is out of reach); to leave %s out, run: env %s wgcage \u2026",
          names, count == 1 ? "passes" : "pass", count == 1 ? "it" : "them", unset);
  for (size_t i = 0; i < count; i++) free(found[i]);
}
