/*
 * nss_static.c — a static program has no NSS: glibc would load the
 * system's NSS modules at run time, which must be of the very glibc this
 * was linked with. The join needs NSS only for a sudo user's groups
 * (identity.c), and main.c hands every sudo join to the Deno path before
 * anything calls identity.c; these stand in for the two lookups (the link
 * wraps them, -Wl,--wrap) and find nothing, so that a mistake there would
 * give the user's own group alone rather than load a library.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>

struct passwd *__wrap_getpwuid(uid_t uid);
int __wrap_getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups);

struct passwd *__wrap_getpwuid(uid_t uid) {
  (void)uid;
  errno = ENOSYS;
  return NULL;
}

int __wrap_getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups) {
  (void)user;
  (void)group;
  (void)groups;
  *ngroups = 0;
  errno = ENOSYS;
  return -1;
}
