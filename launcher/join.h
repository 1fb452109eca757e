/*
 * join.h — run a command in a live cage (one that `wgcage up` holds). The
 * cage's namespaces come as fds from its keeper (over the control socket,
 * never a pid from a file). A child cloned from the caller sets
 * no_new_privs and the terminal filter, joins the cage's user, mount,
 * network, UTS and PID namespaces with setns, and starts the init program in
 * join mode (init/init.c, INIT_FLAG_JOIN) as PID 1 of a PID namespace of its
 * own inside the cage's: when the command ends, the kernel ends whatever it
 * left behind, as it does for a new cage.
 *
 * Every function returns >= 0 on success and -errno on failure.
 */
#ifndef WGL_JOIN_H
#define WGL_JOIN_H

#include <stdint.h>

/* Request layout (little-endian u32 header):
 *   word 0  version (WGL_JOIN_REQUEST_VERSION)
 *   word 1  flags, 0
 *   word 2  argc (>= 1)
 *   word 3  fd of the init program (a memfd)
 *   words 4-8  fds of the cage's user, mnt, net, uts and pid namespaces (as
 *              the keeper sent them; the caller keeps and closes them)
 *   word 9  reserved, 0
 * then NUL-terminated strings: the working directory, PATH for the command
 * lookup, argv[0] .. argv[argc - 1]. */
#define WGL_JOIN_REQUEST_VERSION 2u
#define WGL_JOIN_REQUEST_HEADER 40u

/* Stages of a join, beyond enum wgl_cage_stage (reported as {stage, errno}). */
#define WGL_STAGE_JOIN_OPEN 40  /* a namespace fd is not of its kind (parent) */
#define WGL_STAGE_JOIN_SETNS 41 /* setns into one of them (child) */
#define WGL_STAGE_JOIN_PROC 42  /* the command's own /proc (its PID namespace's) */

/* What the joining processes tell wgl_join_await besides {stage, errno}:
 * {WGL_JOIN_MSG_BETWEEN, pid} the pid of the short-lived process in the
 * cage's PID namespace (to reap), {WGL_JOIN_MSG_INIT, 0} with the init's
 * pidfd attached. */
#define WGL_JOIN_MSG_BETWEEN 100u
#define WGL_JOIN_MSG_INIT 101u

/* Output of wgl_join_open (i32 words). */
enum wgl_join_out {
  WGL_JOIN_OUT_PID = 0,   /* the joining child (reaped by wgl_join_await) */
  WGL_JOIN_OUT_SYNC = 1,  /* the caller's end of the sync socket */
  WGL_JOIN_OUT_STAGE = 2, /* on failure: the stage */
  WGL_JOIN_OUT_ERRNO = 3, /* on failure: the errno */
  WGL_JOIN_OUT_MODE = 4,  /* 0 user namespace, 1 root, 2 root on behalf of a sudo user */
  WGL_JOIN_OUT_TTY = 5,   /* fd of the terminal the command takes over, or -1 */
  WGL_JOIN_OUT_WORDS = 6,
};

/* Clones the joining child and returns at once; then call wgl_join_await.
 * Call from the main thread (the death signals follow it). */
int wgl_join_open(const uint8_t *request, uint32_t request_len, int32_t *out);

/* Blocks until the command was exec'd or a stage failed; reaps the joining
 * child and the one between. out[0] the joined init's pid (a child of the
 * caller; then wgl_cage_wait / wgl_cage_signal / wgl_cage_resume on it, as
 * for a cage), or -1 when none was made; out[1], out[2] {stage, errno} on
 * failure. Returns 0 (exec'd), 1 (failed: wait for out[0] when it is not -1)
 * or -errno. */
int wgl_join_await(int sync_fd, int joining_pid, int32_t *out);

#endif
