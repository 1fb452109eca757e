/*
 * identity.h — the sudo user's identity, decided alike by cage.c (a new cage)
 * and join.c (a command into a live cage): the uid and gid from SUDO_UID and
 * SUDO_GID, and that user's supplementary groups.
 *
 * Internal to the launcher (no symbol table in src/launcher/). All but
 * wgl_identity_become run in the parent before the clone: they may allocate.
 * Every function returns >= 0 on success and -errno on failure.
 */
#ifndef WGL_IDENTITY_H
#define WGL_IDENTITY_H

#include <sys/types.h>

/* A uid or gid as SUDO_UID and SUDO_GID hold it: decimal, below UINT_MAX.
 * Returns 0, or -EINVAL for NULL, an empty string, trailing text or a value
 * out of range (*out unchanged). */
int wgl_identity_parse_id(const char *s, unsigned *out);

/* The supplementary groups of user `uid` (getgrouplist of its passwd entry,
 * with `gid`) into *groups, realloc'd (the caller frees it), and *count;
 * `gid` alone when `uid` has no passwd entry or the list did not settle in 4
 * tries. Returns 0 or -ENOMEM. */
int wgl_identity_groups(uid_t uid, gid_t gid, gid_t **groups, int *count);

/* Lets the sudo user's processes, the cage's init among them, signal this
 * (root) process: its saved set-user-ID becomes `uid`, real and effective
 * stay 0, so it keeps its capabilities and files it creates stay root's.
 * The kernel lets a process signal another whose real or saved uid is its
 * own; the init, now the sudo user, stops wgcage's process group on Ctrl-Z
 * (init/init.c) as a shell expects of its job. Tracing and /proc access
 * still need all three ids to match, and wgcage is non-dumpable. Returns 0
 * or -errno. */
int wgl_identity_signalable_by(uid_t uid);

/* In a cloned child (cage.c's, join.c's), unlike the rest: becomes `uid`,
 * `gid` with `groups` (count of them), then sets its parent-death SIGKILL
 * again, which the change clears. Raw syscalls, no allocation: glibc's
 * wrappers would signal the parent's threads, which the child does not
 * have. Returns 0 or -errno (the ids half changed: the child must exit). */
int wgl_identity_become(uid_t uid, gid_t gid, const gid_t *groups, int count);

#endif
