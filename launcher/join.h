/*
 * join.h — run a command in a live cage (one that `wgcage up` holds): a
 * child cloned from the caller joins the cage's user, mount, network, UTS and
 * PID namespaces with setns, then execs the init program in join mode
 * (init/init.c, INIT_FLAG_JOIN), which forks the command into the cage's PID
 * namespace, forwards signals and exits with its status, as in a new cage.
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
 *   word 4  pid of the cage's init, as the caller sees it
 *   word 5  reserved, 0
 * then NUL-terminated strings: the working directory, PATH for the command
 * lookup, argv[0] .. argv[argc - 1]. */
#define WGL_JOIN_REQUEST_VERSION 1u
#define WGL_JOIN_REQUEST_HEADER 24u

/* Stages of a join, beyond enum wgl_cage_stage (reported as {stage, errno}). */
#define WGL_STAGE_JOIN_OPEN 40  /* open /proc/PID/ns/... (parent) */
#define WGL_STAGE_JOIN_SETNS 41 /* setns into one of them (child) */

/* Output of wgl_join_open (i32 words). */
enum wgl_join_out {
  WGL_JOIN_OUT_PID = 0,   /* the joined init (a child of the caller) */
  WGL_JOIN_OUT_SYNC = 1,  /* the caller's end of the sync socket */
  WGL_JOIN_OUT_STAGE = 2, /* on failure: the stage */
  WGL_JOIN_OUT_ERRNO = 3, /* on failure: the errno */
  WGL_JOIN_OUT_MODE = 4,  /* 0 user namespace, 1 root, 2 root on behalf of a sudo user */
  WGL_JOIN_OUT_TTY = 5,   /* fd of the terminal the command takes over, or -1 */
  WGL_JOIN_OUT_WORDS = 6,
};

/* Clones the joining child and returns at once; the command's exec (or the
 * failure) then comes over the sync socket: wgl_cage_await_exec, and
 * wgl_cage_wait / wgl_cage_signal / wgl_cage_resume on the pid, as for a cage.
 * Call from the main thread (the child's death signal follows it). */
int wgl_join_open(const uint8_t *request, uint32_t request_len, int32_t *out);

#endif
