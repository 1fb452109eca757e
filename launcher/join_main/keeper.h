/*
 * keeper.h — the native join's side of a live cage's control socket, as
 * src/live/join_request.ts does it for the Deno path: find the user's state
 * directory, connect to NAME.sock with control.c's client (the keeper must
 * be of our euid, in our network namespace and our user namespace or one
 * below: a socket a cage put there is refused), send `wgcage-join=1` and take
 * the cage's namespace fds. The connection stays open while the command
 * runs: it is the hold that `--rm-when-idle` counts.
 */
#ifndef WGJ_KEEPER_H
#define WGJ_KEEPER_H

#include <stdbool.h>

#define WGJ_NS_COUNT 5
#define WGJ_ENV_NAME_MAX 256

/* What a request came to. */
enum wgj_ask {
  WGJ_GRANTED,     /* the grant below holds the connection and the fds */
  WGJ_REFUSED,     /* one line was printed; exit 125 */
  WGJ_INTERRUPTED, /* a signal of `ending` came first: *signo */
  WGJ_HAND_OVER,   /* the Deno path knows better (no cage there, a stale record): nothing printed */
};

struct wgj_grant {
  int fd;                            /* the held connection */
  int ns_fds[WGJ_NS_COUNT];          /* user, mnt, net, uts, pid */
  char config_env[WGJ_ENV_NAME_MAX]; /* `up --config-env VAR`'s VAR, or "" */
};

/* The state directory for this user, as src/live/state.ts's stateDir() picks
 * it, into `out`; false when it is not a directory of ours of mode 0700 (or
 * the path does not fit): the Deno path says what is wrong. */
bool wgj_state_dir(char *out, unsigned long size);

/* Connects to `path` and asks for the cage `name`. `signal_fd` (a signalfd
 * of the ending signals) ends any wait; `before_request` runs once the keeper
 * passed the checks, before the request is sent (the Deno path's warnings
 * come before a refusal). */
enum wgj_ask wgj_ask_keeper(const char *path, const char *name, int signal_fd,
                            void (*before_request)(void), struct wgj_grant *grant, int *signo);

/* Whether the keeper closed the held connection within `ms` (it does before
 * it ends the cage). */
bool wgj_keeper_hung_up(int fd, int ms);

#endif
