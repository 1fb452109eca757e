/*
 * command.h — the init's child: becomes the command.
 */
#ifndef WGL_INIT_COMMAND_H
#define WGL_INIT_COMMAND_H

#include <stdbool.h>
#include <sys/types.h>

/* What the command is and how it runs, parsed from the init's argv. */
struct command_plan {
  int sync_fd;       /* failures go here as {stage, errno}; close-on-exec */
  int tty_fd;        /* the terminal whose foreground the command takes, or -1 */
  int service_fd;    /* wgcage's requests for sockets in the cage, or -1 */
  int go_fd;         /* the command execs after a byte here (init.c), or -1 */
  bool own_group;    /* the command leads its own process group */
  bool job_control;  /* wgcage is a job of an interactive shell */
  bool drop_to_user; /* sudo mode: the init already runs as uid/gid (cage.c, join.c); checked */
  bool hold;         /* a live cage's PID 1: no command (init.c) */
  bool joined;       /* the init joined a live cage: the command dies with it */
  bool await_go;     /* INIT_FLAG_AWAIT_GO: wait for wgcage's go-ahead first */
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int group_count;
  const char *path; /* PATH for the lookup of argv[0] */
  char **argv;      /* NULL-terminated */
  char **envp;
};

/* Reports {stage, errno} on the sync socket and exits with 125. */
_Noreturn void command_fail(const struct command_plan *c, unsigned stage, int err);

/* In the forked child: process group, terminal, credentials, no_new_privs,
 * the terminal filter, default signals, the init's go-ahead, then execve
 * over the PATH candidates. On failure reports {EXEC, errno} and exits 126 or 127. */
_Noreturn void command_run(const struct command_plan *c);

#endif
