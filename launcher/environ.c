/*
 * environ.c — erasing a variable from the original environment block; see
 * environ.h for why unsetenv(3) alone leaves it readable.
 */
#include "environ.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Field numbers of /proc/PID/stat (proc(5)); field 2 is "(comm)". */
enum { STAT_ENV_START = 50, STAT_ENV_END = 51 };

/* Reads /proc/self/stat into buf (NUL-terminated). Returns its length or -errno. */
static int read_stat(char *buf, size_t size) {
  int fd;
  do {
    fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;
  size_t len = 0;
  while (len < size - 1) {
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return -err;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  return (int)len;
}

/* The bounds of the original environment block, from /proc/self/stat. */
static int environ_block(uintptr_t *start, uintptr_t *end) {
  char stat[2048];
  int len = read_stat(stat, sizeof stat);
  if (len < 0) return len;
  /* comm may hold spaces and parentheses: the fields go on after the last ')'. */
  char *at = strrchr(stat, ')');
  if (at == NULL) return -EIO;
  at++;
  unsigned long long values[2] = {0, 0};
  for (int field = 3; field <= STAT_ENV_END; field++) {
    while (*at == ' ') at++;
    if (*at == '\0' || *at == '\n') return -EIO;
    char *next;
    errno = 0;
    unsigned long long value = strtoull(at, &next, 10);
    if (field >= STAT_ENV_START) {
      if (next == at || errno != 0) return -EIO;
      values[field - STAT_ENV_START] = value;
    }
    at = next;
    while (*at != ' ' && *at != '\0' && *at != '\n') at++;
  }
  /* The kernel shows 0 when it does not let us see the block. */
  if (values[0] == 0 || values[1] <= values[0]) return -EPERM;
  *start = (uintptr_t)values[0];
  *end = (uintptr_t)values[1];
  return 0;
}

int wgl_environ_scrub(const char *name) {
  size_t name_len = strlen(name);
  if (name_len == 0 || strchr(name, '=') != NULL) return -EINVAL;
  uintptr_t start, end;
  int failed = environ_block(&start, &end);
  if (failed < 0) return failed;
  int changed = 0;
  char *entry = (char *)start;
  char *stop = (char *)end;
  while (entry < stop) {
    char *nul = memchr(entry, '\0', (size_t)(stop - entry));
    size_t len = nul != NULL ? (size_t)(nul - entry) : (size_t)(stop - entry);
    if (len > name_len && memcmp(entry, name, name_len) == 0 && entry[name_len] == '=') {
      /* volatile: the compiler may not drop stores to memory it thinks is dead. */
      volatile char *value = entry + name_len + 1;
      for (size_t i = 0; i < len - name_len - 1; i++) value[i] = '\0';
      changed++;
    }
    entry += len + 1;
  }
  return changed;
}
