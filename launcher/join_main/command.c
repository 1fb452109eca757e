/*
 * command.c — see command.h.
 */
#include "command.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool regular(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A script whose #! interpreter is there, or no script: as the kernel reads
 * the line (blanks skipped, the name ends at a blank or the newline). */
static bool interpreter_present(const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  /* Unreadable: the Deno path does not look either. */
  if (fd < 0) return true;
  char head[257];
  ssize_t n = read(fd, head, sizeof head - 1);
  close(fd);
  if (n < 2 || head[0] != '#' || head[1] != '!') return true;
  head[n] = '\0';
  char *name = head + 2;
  name += strspn(name, " \t");
  name[strcspn(name, " \t\n")] = '\0';
  return name[0] == '\0' || regular(name);
}

bool wgj_command_plain(const char *command, const char *path_env) {
  char file[PATH_MAX];
  if (command[0] == '\0') return false;
  if (strchr(command, '/') != NULL) {
    if (!regular(command)) return false;
    snprintf(file, sizeof file, "%s", command);
  } else {
    /* As execvp, the first regular file along PATH; an empty entry is ".". */
    bool found = false;
    for (const char *dir = path_env; !found;) {
      size_t len = strcspn(dir, ":");
      int n = len == 0 ? snprintf(file, sizeof file, "./%s", command)
                       : snprintf(file, sizeof file, "%.*s/%s", (int)len, dir, command);
      found = n > 0 && (size_t)n < sizeof file && regular(file);
      if (dir[len] == '\0') break;
      dir += len + 1;
    }
    if (!found) return false;
  }
  return access(file, X_OK) == 0 && interpreter_present(file);
}
