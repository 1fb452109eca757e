/*
 * run.h — the command in the cage: started through join.c (as the Deno path
 * does with src/live/join.ts), then waited for with its signals forwarded and
 * the terminal handed back, as src/cli/exec_command.ts does.
 */
#ifndef WGJ_RUN_H
#define WGJ_RUN_H

#include <stdbool.h>
#include <sys/types.h>

struct wgj_run {
  pid_t pid;  /* the joined init */
  int tty_fd; /* the terminal the command took over, or -1 */
};

enum wgj_start {
  WGJ_STARTED,
  WGJ_FAILED,         /* one line printed; *status is the exit status */
  WGJ_START_HAND_OVER /* a failure this has no words for: nothing ran, nothing printed */
};

/* Starts argv[0..argc) in the cage whose namespaces are `ns_fds`, with the
 * init program at `init_fd`. */
enum wgj_start wgj_start(const char *name, char **argv, int argc, const int *ns_fds, int init_fd,
                         struct wgj_run *run, int *status);

/* Forwards the signals that come on `signal_fd` (a signalfd of the forwarded
 * ones, SIGCHLD and SIGCONT) until the init ends; returns its status as a
 * shell reports it (128 + signal for a killed one), -1 when it cannot be
 * waited for. */
int wgj_wait(struct wgj_run *run, int signal_fd);

#endif
