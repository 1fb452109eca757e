/*
 * release.c — see release.h. The parent reads /proc/self/maps (it may use
 * malloc and stdio: it is before the clone); the child only calls munmap.
 */
#include "release.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Room for this many spans; a process with more mappings keeps them all. */
#define SPANS_CAP 16384

/* The whole of /proc/self/maps, NUL-terminated, in a malloc'd buffer. */
static char *read_maps(void) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  while (buf != NULL) {
    if (cap - len < 4096) {
      char *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      free(buf);
      buf = NULL;
      break;
    }
    if (n == 0) {
      buf[len] = '\0';
      break;
    }
    len += (size_t)n;
  }
  close(fd);
  return buf;
}

struct mapping {
  uintptr_t start, end;
  bool private_, file;
  const char *name; /* points into the line; "" when there is none */
};

/* Parses one line of /proc/self/maps ("start-end perms offset dev inode
 * name"); returns false for a line it does not understand. */
static bool parse_mapping(char *line, struct mapping *m) {
  char *s = line, *e;
  m->start = (uintptr_t)strtoull(s, &e, 16);
  if (*e != '-') return false;
  m->end = (uintptr_t)strtoull(e + 1, &e, 16);
  if (*e != ' ' || strlen(e) < 6) return false;
  m->private_ = e[4] == 'p';
  s = e + 6;
  (void)strtoull(s, &e, 16); /* offset */
  s = strchr(e + 1, ' ');    /* past the device */
  if (s == NULL) return false;
  unsigned long long inode = strtoull(s, &e, 10);
  while (*e == ' ') e++;
  m->name = e;
  m->file = inode != 0;
  return true;
}

static bool holds_any(const struct mapping *m, const uintptr_t *keep, size_t keep_count) {
  for (size_t i = 0; i < keep_count; i++) {
    if (keep[i] >= m->start && keep[i] < m->end) return true;
  }
  return false;
}

static bool anonymous(const struct mapping *m) {
  return !m->file && (m->name[0] == '\0' || strncmp(m->name, "[anon:", 6) == 0);
}

int release_plan_make(struct release_plan *r, const uintptr_t *keep, size_t keep_count) {
  memset(r, 0, sizeof *r);
  void *spans = mmap(NULL, SPANS_CAP * sizeof(struct span), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (spans == MAP_FAILED) return -errno;
  r->spans = spans;
  r->cap = SPANS_CAP;
  char *maps = read_maps();
  if (maps == NULL) {
    int err = errno ? errno : EIO;
    release_plan_free(r);
    return -err;
  }
  uintptr_t own = (uintptr_t)r->spans;
  uintptr_t file_end = 0; /* end of the previous mapping when it was a file's */
  for (char *line = maps; *line != '\0';) {
    char *nl = strchr(line, '\n');
    if (nl != NULL) *nl = '\0';
    struct mapping m;
    if (!parse_mapping(line, &m)) {
      r->count = 0; /* not understood: keep everything */
      break;
    }
    bool bss = m.start == file_end;
    file_end = m.file ? m.end : 0;
    if (m.private_ && anonymous(&m) && !bss && !holds_any(&m, keep, keep_count) &&
        !(own >= m.start && own < m.end)) {
      if (r->count == r->cap) {
        r->count = 0;
        break;
      }
      r->spans[r->count++] = (struct span){m.start, m.end};
    }
    if (nl == NULL) break;
    line = nl + 1;
  }
  free(maps);
  return 0;
}

void release_plan_apply(const struct release_plan *r) {
  for (size_t i = 0; i < r->count; i++) {
    (void)munmap((void *)r->spans[i].start, r->spans[i].end - r->spans[i].start);
  }
}

void release_plan_free(struct release_plan *r) {
  if (r->spans != NULL) (void)munmap(r->spans, r->cap * sizeof(struct span));
  memset(r, 0, sizeof *r);
}
