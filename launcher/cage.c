/*
 * cage.c — the cage: a child cloned into new user (when not root), network,
 * mount, UTS and PID namespaces. It creates the TUN device and an rtnetlink
 * socket inside its network namespace, hands both to the parent, covers the
 * hidden host paths, lays the /etc files over the host's, mounts a fresh
 * /proc, and execs the init program (init/init.c), which waits for the
 * go-ahead and then runs the command as PID 1 of the cage (and, when asked,
 * first starts the socket service of forward_service.h).
 *
 * The parent (Deno) is multi-threaded. Between clone and exec the child runs
 * only async-signal-safe code: no malloc, no stdio, no locks, no pthread_*,
 * no raise/abort (glibc's cached thread id is the parent's). Everything it
 * needs — the init's argv, map lines, the hidden paths — is prepared in
 * `struct plan` before the clone.
 *
 * Clone choice: the raw clone syscall with fork semantics (no CLONE_VM, no
 * new stack): the child gets a private copy of the calling thread's memory and
 * continues on its copy of the stack, so nothing it touches can be changed by
 * the parent's other threads, and glibc's fork handlers (which take locks)
 * are not run. CLONE_VFORK is not used: the parent must keep running while
 * the child waits for the maps and the go-ahead.
 *
 * Stages and sync bytes are drawn in README.md.
 */
#include "cage.h"
#include "control.h"
#include "identity.h"
#include "packet_io.h"
#include "raw_clone.h"
#include "release.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

/* Sync bytes, parent → child. */
#define SYNC_MAPS_WRITTEN 'M'

/* Exit statuses of the cage's init when it did not get to run the command. */
#define EXIT_SETUP_FAILED 125

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

enum mode { MODE_USERNS = 0, MODE_ROOT = 1, MODE_SUDO = 2 };

/* The signals the init forwards to the command: blocked in the child from
 * the clone on, so that one arriving before the init's handlers are in place
 * waits for them (the mask and pending signals survive the exec). */
static const int forwarded_signals[] = {WGL_FORWARDED_SIGNALS};
#define FORWARDED_COUNT (sizeof forwarded_signals / sizeof forwarded_signals[0])

/* Where the child writes the /etc files: a tmpfs of its own, mounted for a
 * moment over /proc (which exists everywhere and gets a fresh mount right
 * after). The files live only in the cage's mount namespace, so nothing is
 * left on the host whenever and however wgcage ends. */
#define ETC_STAGING "/proc"

/* Everything the child needs, prepared before clone. */
struct plan {
  enum mode mode;
  bool map_root;
  const char *tun_name;
  bool no_userns;       /* as root: no user namespace (no boundary) */
  bool hold;            /* a live cage: the init runs no command */
  const char *hostname; /* NULL: keep the host's */
  const char *etc_contents[3];
  const char **hidden; /* host paths covered with /dev/null, hidden_count of them */
  uint32_t hidden_count;
  int init_fd;        /* the init program (memfd) */
  char **init_argv;   /* see init/init.c; NULL-terminated */
  char *init_numbers; /* the numeric init arguments, one buffer */
  char **envp;
  char ping_range[32]; /* "GID GID\n" for net.ipv4.ping_group_range */
  /* MODE_SUDO: the ids, as the cage sees them, that the child takes once
   * the TUN is made (0 with map_root, else the sudo user's), the groups that
   * the gid map holds (cage ids), and the map lines. */
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int group_count;
  char uid_map[32];
  char *gid_map;
  uid_t sudo_uid;              /* the sudo user on the host */
  int sync_fd;                 /* the child's end */
  bool socket_service;         /* WGL_CAGE_SOCKET_SERVICE */
  int service_fd;              /* the child's end of the socket service's pair, or -1 */
  int tty_fd;                  /* the terminal the command takes over, or -1 */
  bool own_group;              /* the command leads its own process group */
  bool job_control;            /* wgcage is a job of an interactive shell: stops propagate */
  struct release_plan release; /* the parent's memory the child unmaps */
};

static const char *const etc_targets[3] = {"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf"};
static const char *const etc_staged[3] = {ETC_STAGING "/resolv.conf", ETC_STAGING "/hosts",
                                          ETC_STAGING "/nsswitch.conf"};
static const uint32_t etc_stages[3] = {WGL_STAGE_BIND_RESOLV, WGL_STAGE_BIND_HOSTS,
                                       WGL_STAGE_BIND_NSSWITCH};

/* ---------------------------------------------------------------- child --- */

static void child_report(int sync_fd, uint32_t stage, int err) {
  uint32_t msg[2] = {stage, (uint32_t)err};
  (void)send(sync_fd, msg, sizeof msg, MSG_NOSIGNAL);
}

static _Noreturn void child_fail(const struct plan *p, uint32_t stage, int err) {
  child_report(p->sync_fd, stage, err);
  _exit(EXIT_SETUP_FAILED);
}

/* Waits for one sync byte; exits quietly when the parent is gone (EOF). This
 * read is also the race check after PR_SET_PDEATHSIG: a parent that died
 * before the prctl leaves an EOF here. */
static void child_await(const struct plan *p, char expected) {
  char byte = 0;
  for (;;) {
    ssize_t n = recv(p->sync_fd, &byte, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1 && byte == expected) return;
    _exit(EXIT_SETUP_FAILED);
  }
}

/* Closes every fd from 3 on but those in `keep` (ascending, >= 3, -1 for an
 * unused place at the end). */
static void close_fds_except(const int keep[3]) {
#ifdef SYS_close_range
  bool ranges_closed = true;
  unsigned from = 3U;
  for (int i = 0; i < 3 && keep[i] >= 0 && ranges_closed; i++) {
    if ((unsigned)keep[i] > from) {
      ranges_closed = syscall(SYS_close_range, from, (unsigned)keep[i] - 1U, 0U) == 0;
    }
    from = (unsigned)keep[i] + 1U;
  }
  if (ranges_closed && syscall(SYS_close_range, from, ~0U, 0U) == 0) return;
#endif
  struct rlimit lim;
  long max = 4096;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    max = lim.rlim_cur < 65536 ? (long)lim.rlim_cur : 65536;
  }
  for (long fd = 3; fd < max; fd++) {
    if (fd != keep[0] && fd != keep[1] && fd != keep[2]) (void)close((int)fd);
  }
}

/* The fds the child keeps, ascending, -1 after the last. */
static void kept_fds(const struct plan *p, int keep[3]) {
  int n = 0;
  keep[n++] = p->sync_fd;
  keep[n++] = p->init_fd;
  if (p->service_fd >= 0) keep[n++] = p->service_fd;
  for (int i = n; i < 3; i++) keep[i] = -1;
  for (int i = 0; i < n; i++) {
    for (int j = i + 1; j < n; j++) {
      if (keep[j] < keep[i]) {
        int t = keep[i];
        keep[i] = keep[j];
        keep[j] = t;
      }
    }
  }
}

static void reset_signal_dispositions(void) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    (void)sigaction(sig, &dfl, NULL); /* glibc's internal signals fail: fine */
  }
}

/* Makes the TUN; `ifr_out` names it then, for the lookup of its index. */
static void make_tun(const struct plan *p, int *tun_fd, struct ifreq *ifr_out) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) child_fail(p, WGL_STAGE_TUN_OPEN, errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  for (size_t i = 0; i < IFNAMSIZ - 1 && p->tun_name[i] != '\0'; i++) {
    ifr.ifr_name[i] = p->tun_name[i];
  }
  /* With a virtio header (when the data path asked for it before the clone:
   * packet_io.c) the TUN can take the offloads the host sets on it later. */
  int vnet = wgl_tun_vnet_hdr_wanted;
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  int r = ioctl(fd, TUNSETIFF, &ifr);
  if (r < 0 && vnet && errno == EINVAL) {
    /* A TUN without virtio headers (a sandbox's): the data path finds out
     * with TUNGETIFF and reads plain packets. */
    vnet = 0;
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    r = ioctl(fd, TUNSETIFF, &ifr);
  }
  if (r < 0) child_fail(p, WGL_STAGE_TUN_SETIFF, errno);
  int hdr_size = WGL_VNET_HDR_LEN;
  if (vnet && ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) < 0) child_fail(p, WGL_STAGE_TUN_SETIFF, errno);
  *tun_fd = fd;
  *ifr_out = ifr;
}

/* The TUN's fd and the netlink socket, with the TUN's ifindex in the
 * message's second word (the errno's place, 0 on failure reports only), so
 * that wgcage configures the link without looking it up first. */
static void send_fds(const struct plan *p, int tun_fd, int netlink_fd, int tun_index) {
  uint32_t msg[2] = {WGL_STAGE_NONE, (uint32_t)tun_index};
  int32_t fds[2] = {tun_fd, netlink_fd};
  if (wgl_sendmsg_fds(p->sync_fd, (const uint8_t *)msg, sizeof msg, fds, 2, 0) < 0) {
    _exit(EXIT_SETUP_FAILED);
  }
  (void)close(tun_fd);
  (void)close(netlink_fd);
}

/* Lays `source` over `target`. mount(2) follows a symlink at the target;
 * when the symlink dangles (e.g. /etc/resolv.conf -> a systemd-resolved file
 * that does not exist), the clone of the source is moved onto the symlink
 * itself, which move_mount allows without following it. */
static int bind_over(const char *source, const char *target) {
  if (mount(source, target, NULL, MS_BIND, NULL) == 0) return 0;
  int err = errno;
  struct stat st;
  if (err != ENOENT || lstat(target, &st) != 0 || !S_ISLNK(st.st_mode)) return err;
#if defined(SYS_open_tree) && defined(SYS_move_mount)
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | O_CLOEXEC);
  if (tree < 0) return errno;
  int rc = (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
  err = rc == 0 ? 0 : errno;
  (void)close(tree);
  return err;
#else
  return err;
#endif
}

/* Ports below 1024 of the cage's own network namespace for every process in
 * it, as Docker sets it in its containers: the socket service, which has no
 * capability (init/confine.c), binds them for --host-service, and they guard
 * nothing on an address only the cage has. Kernels before 4.11 lack it. */
static void open_low_ports(const struct plan *p) {
  int fd = open("/proc/sys/net/ipv4/ip_unprivileged_port_start", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    child_fail(p, WGL_STAGE_PING, errno);
  }
  ssize_t n = write(fd, "0\n", 2);
  if (n != 2) child_fail(p, WGL_STAGE_PING, n < 0 ? errno : EIO);
  (void)close(fd);
}

static void write_ping_range(const struct plan *p) {
  int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
  if (fd < 0) child_fail(p, WGL_STAGE_PING, errno);
  size_t len = strlen(p->ping_range);
  ssize_t n = write(fd, p->ping_range, len);
  if (n != (ssize_t)len) child_fail(p, WGL_STAGE_PING, n < 0 ? errno : EIO);
  (void)close(fd);
}

/* "/proc/self/fd/N" for fd, without stdio (the child may not allocate). */
static void fd_path(int fd, char out[32]) {
  static const char prefix[] = "/proc/self/fd/";
  char digits[12];
  int n = 0;
  do {
    digits[n++] = (char)('0' + fd % 10);
    fd /= 10;
  } while (fd > 0 && n < (int)sizeof digits);
  size_t at = sizeof prefix - 1;
  memcpy(out, prefix, at);
  while (n > 0) out[at++] = digits[--n];
  out[at] = '\0';
}

/* Covers each hidden host path: a socket with /dev/null, so that connect()
 * is refused and the program falls back as if the daemon did not run; a
 * regular file (one wgcage read a key from) with /dev/null too, so reading
 * it gives nothing and a write lands in /dev/null, never in the host's file
 * (crun and runc mask an OCI maskedPaths file the same way; an empty file of
 * our own would need a staging tmpfs in every cage for no more safety); a
 * directory (a daemon's own, e.g. /run/nscd, or the live cages' state) with
 * an empty read-only tmpfs, which also hides a socket the daemon re-creates
 * there later (a new inode would not be under a cover bound to the old one).
 * The cage's own mount namespace holds the cover, so the command can neither
 * unlink nor rename the covered file (EBUSY). The path is opened with
 * O_NOFOLLOW and the cover mounted on that very file through /proc/self/fd,
 * so a symlink swapped in after wgcage looked cannot redirect it. A path
 * that is gone, is a symlink, or that the caller could not reach anyway
 * (EACCES) needs no cover. */
static void hide_paths(const struct plan *p) {
  for (uint32_t i = 0; i < p->hidden_count; i++) {
    int fd = open(p->hidden[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP) continue;
      child_fail(p, WGL_STAGE_HIDE, errno);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) child_fail(p, WGL_STAGE_HIDE, errno);
    char target[32];
    fd_path(fd, target);
    int rc = 0;
    if (S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode)) {
      rc = mount("/dev/null", target, NULL, MS_BIND, NULL);
    } else if (S_ISDIR(st.st_mode)) {
      rc = mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "mode=0755,size=4k,nr_inodes=1");
    }
    int err = errno;
    (void)close(fd);
    if (rc != 0 && err != EACCES) child_fail(p, WGL_STAGE_HIDE, err);
  }
}

static int write_all(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return errno;
  size_t len = strlen(text), done = 0;
  while (done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      (void)close(fd);
      return err;
    }
    done += (size_t)n;
  }
  int err = fchmod(fd, 0644) == 0 ? 0 : errno; /* the umask may have narrowed it */
  (void)close(fd);
  return err;
}

/* Writes the /etc files into a tmpfs of the cage's own and binds them over
 * the host's; the tmpfs is then detached (the binds keep the files). */
static void lay_etc_files(const struct plan *p) {
  if (mount("tmpfs", ETC_STAGING, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") != 0) {
    child_fail(p, WGL_STAGE_ETC_FILES, errno);
  }
  for (int i = 0; i < 3; i++) {
    int err = write_all(etc_staged[i], p->etc_contents[i]);
    if (err != 0) child_fail(p, WGL_STAGE_ETC_FILES, err);
    err = bind_over(etc_staged[i], etc_targets[i]);
    if (err != 0) child_fail(p, etc_stages[i], err);
  }
  if (umount2(ETC_STAGING, MNT_DETACH) != 0) child_fail(p, WGL_STAGE_ETC_FILES, errno);
}

/* Whether the init runs as root of the cage (and may keep capabilities for
 * the command to inherit). */
static bool init_is_root(const struct plan *p) { return p->map_root || p->mode == MODE_ROOT; }

/* Sudo mode: the child, still host uid 0 (which let it open a 0600
 * /dev/net/tun as its owner), becomes the ids the maps give the sudo user
 * once the TUN is made, so that nothing in the cage is ever host root: no
 * file it creates or touches as owner is root's (the files of the cage's
 * tmpfs need an owner the cage maps, too). It keeps its capabilities in the
 * cage's user namespace for the mounts: host uid 0 is not root there, so the
 * kernel clears none; the exec of the init settles them. The change clears
 * the parent-death signal, which wgl_identity_become sets again (the init's
 * wait for the go-ahead then sees EOF if wgcage died meanwhile). Without a
 * user namespace (no_userns) the change would clear every capability at
 * once: then it comes right before the exec. */
static void become_sudo_user(const struct plan *p, bool at_exec) {
  if (p->mode != MODE_SUDO || p->no_userns != at_exec) return;
  int rc = wgl_identity_become(p->uid, p->gid, p->groups, p->group_count);
  if (rc < 0) child_fail(p, WGL_STAGE_CREDS, -rc);
  /* At the exec of the init, wgcage has sent nothing since the maps: a peek
   * sees EOF only when it is gone. */
  char byte;
  if (at_exec && recv(p->sync_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
    _exit(EXIT_SETUP_FAILED);
  }
}

/* An init that is not root of the cage gets no capability from its exec;
 * its bounding set goes too, while the child can still drop it. */
static void drop_bounding_set(const struct plan *p) {
  if (init_is_root(p)) return;
  for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) child_fail(p, WGL_STAGE_CONFINE, errno);
  }
}

static _Noreturn void exec_init(const struct plan *p) {
  drop_bounding_set(p);
  become_sudo_user(p, true);
  /* The init gets the sync socket (close-on-exec until now) and sets it
   * close-on-exec again for the command. */
  if (fcntl(p->sync_fd, F_SETFD, 0) != 0) child_fail(p, WGL_STAGE_INIT_EXEC, errno);
  if (p->service_fd >= 0 && fcntl(p->service_fd, F_SETFD, 0) != 0) {
    child_fail(p, WGL_STAGE_INIT_EXEC, errno);
  }
  syscall(SYS_execveat, p->init_fd, "", p->init_argv, p->envp, AT_EMPTY_PATH);
  child_fail(p, WGL_STAGE_INIT_EXEC, errno);
}

static _Noreturn void cage_child(const struct plan *p) {
  /* No signal handler of the parent's is left to run, nor its signal stack:
   * the parent's memory goes (release.h) once the TUN is sent. */
  sigset_t all;
  sigfillset(&all);
  (void)sigprocmask(SIG_SETMASK, &all, NULL);
  reset_signal_dispositions();
  stack_t no_altstack = {.ss_flags = SS_DISABLE};
  (void)sigaltstack(&no_altstack, NULL);

  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (size_t i = 0; i < FORWARDED_COUNT; i++) sigaddset(&forwarded, forwarded_signals[i]);
  sigaddset(&forwarded, WGL_SIG_RESUME);
  sigaddset(&forwarded, WGL_SIG_RESUME_FOREGROUND);
  (void)sigprocmask(SIG_SETMASK, &forwarded, NULL);
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  int keep[3];
  kept_fds(p, keep);
  close_fds_except(keep);

  child_await(p, SYNC_MAPS_WRITTEN);

  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    child_fail(p, WGL_STAGE_MOUNT_PRIVATE, errno);
  }
  if (p->hostname != NULL && sethostname(p->hostname, strlen(p->hostname)) != 0) {
    child_fail(p, WGL_STAGE_HOSTNAME, errno);
  }
  int tun_fd = -1;
  struct ifreq ifr;
  make_tun(p, &tun_fd, &ifr);
  int netlink_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (netlink_fd < 0) child_fail(p, WGL_STAGE_NETLINK, errno);
  /* Connected to the kernel (nl_pid 0), the socket takes unicasts from the
   * kernel alone: another socket's are refused (ECONNREFUSED). A command that
   * is root of the cage holds CAP_NET_ADMIN there, which lets it send to any
   * netlink port of the cage's namespace, listed in /proc/net/netlink; else
   * it could slip forged acks and dump parts into wgcage's requests, which a
   * live cage's keeper goes on making (routes) while its commands run. */
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (connect(netlink_fd, (const struct sockaddr *)&kernel, sizeof kernel) != 0) {
    child_fail(p, WGL_STAGE_NETLINK, errno);
  }
  if (ioctl(netlink_fd, SIOCGIFINDEX, &ifr) != 0) child_fail(p, WGL_STAGE_NETLINK, errno);
  send_fds(p, tun_fd, netlink_fd, ifr.ifr_ifindex);
  /* Now let go of the parent's memory: unmapping it takes a few ms that the
   * parent would otherwise wait for the TUN (it brings up the core and sends
   * the first handshakes meanwhile), and until then each page the parent
   * writes is copied, for the few hundred microseconds the TUN takes. */
  release_plan_apply(&p->release);
  become_sudo_user(p, false);

  /* The rest of the set-up does not wait for the go-ahead: it runs while
   * wgcage configures the links, up to the init, which waits for it. A
   * failure here is reported on the sync socket, where wgcage reads it after
   * the go-ahead (wgl_cage_await_exec). */
  /* Before the /etc files: /etc/resolv.conf may be a symlink into a hidden
   * directory, and the bind must land on top. */
  hide_paths(p);
  lay_etc_files(p);
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
    child_fail(p, WGL_STAGE_PROC, errno);
  }
  /* A /sys that shows the cage's own network devices. Best effort: where
   * /sys cannot be mounted (a masked /sys in a container), the cage keeps
   * the host's view, which only affects tools that read /sys/class/net. */
  (void)mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
  write_ping_range(p);
  open_low_ports(p);
  /* The init waits for the go-ahead (INIT_FLAG_AWAIT_GO): its exec, too,
   * overlaps wgcage's work on the links. */
  exec_init(p);
}

/* --------------------------------------------------------------- parent --- */

static void plan_free(struct plan *p) {
  release_plan_free(&p->release);
  free(p->hidden);
  free(p->init_argv);
  free(p->init_numbers);
  free(p->groups);
  free(p->gid_map);
}

/* Reads the NUL-terminated string at *pos; NULL when the request ends first. */
static const char *next_string(const uint8_t *req, uint32_t len, uint32_t *pos) {
  if (*pos >= len) return NULL;
  const char *s = (const char *)req + *pos;
  const void *nul = memchr(s, '\0', len - *pos);
  if (nul == NULL) return NULL;
  *pos += (uint32_t)((const char *)nul - s) + 1;
  return s;
}

static uint32_t read_u32le(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Sudo mode's maps: only the sudo user's ids, never host root's, so that no
 * id in the cage is more than that user is on the host. The uid map is that
 * user as itself ("U U 1"), or as root of the cage with map_root ("0 U 1");
 * the gid map likewise for their gid, then each supplementary group as
 * itself, once, skipping what would overlap (with map_root, a group 0 of
 * theirs: cage gid 0 is their own gid). The kernel takes at most 340 lines
 * in one write below a page; groups past that are not mapped, and the child
 * sets only the mapped ones (p->groups, rewritten as cage ids). */
static int plan_sudo_maps(struct plan *p, unsigned uid, unsigned gid) {
  enum { MAP_LINES = 340, MAP_BYTES = 4095 };
  snprintf(p->uid_map, sizeof p->uid_map, "%u %u 1\n", p->map_root ? 0U : uid, uid);
  p->gid_map = malloc(MAP_BYTES + 1);
  if (p->gid_map == NULL) return -ENOMEM;
  unsigned own = p->map_root ? 0U : gid;
  size_t used = (size_t)snprintf(p->gid_map, MAP_BYTES + 1, "%u %u 1\n", own, gid);
  int kept = 0, lines = 1;
  gid_t *mapped = malloc(((size_t)p->group_count + 1) * sizeof(gid_t));
  if (mapped == NULL) return -ENOMEM;
  mapped[kept++] = own;
  for (int i = 0; i < p->group_count && lines < MAP_LINES; i++) {
    gid_t g = p->groups[i];
    if (g == gid || (p->map_root && g == 0)) continue;
    bool seen = false;
    for (int j = 0; j < i && !seen; j++) seen = p->groups[j] == g;
    if (seen) continue;
    char line[40];
    int n = snprintf(line, sizeof line, "%u %u 1\n", (unsigned)g, (unsigned)g);
    if (used + (size_t)n > MAP_BYTES) break;
    memcpy(p->gid_map + used, line, (size_t)n + 1);
    used += (size_t)n;
    lines++;
    mapped[kept++] = g;
  }
  free(p->groups);
  p->groups = mapped;
  p->group_count = kept;
  return 0;
}

/* Mode and credentials: the caller's identity when not root; as root, the
 * sudo user's identity (with their supplementary groups), root of the cage
 * being that user with map_root, as rootless --root is; real root without
 * sudo stays root, every id mapped to itself (by design: it is root over the
 * host's files, README.md says so). In every mode the cage gets a user
 * namespace of its own (unless no_userns: then there is no map, and
 * map_root under sudo is host root). */
static int plan_identity(struct plan *p) {
  gid_t ping_gid;
  if (geteuid() != 0) {
    p->mode = MODE_USERNS;
    ping_gid = p->map_root ? 0 : getegid();
  } else {
    unsigned uid = 0, gid = 0;
    bool sudo = getuid() == 0 && !(p->map_root && p->no_userns) &&
                wgl_identity_parse_id(getenv("SUDO_UID"), &uid) == 0 &&
                wgl_identity_parse_id(getenv("SUDO_GID"), &gid) == 0;
    if (!sudo) {
      p->mode = MODE_ROOT;
      ping_gid = getegid();
    } else {
      p->mode = MODE_SUDO;
      p->sudo_uid = uid;
      int rc = wgl_identity_groups(uid, gid, &p->groups, &p->group_count);
      if (rc < 0) return rc;
      rc = p->no_userns ? 0 : plan_sudo_maps(p, uid, gid);
      if (rc < 0) return rc;
      p->uid = p->map_root ? 0 : uid;
      p->gid = p->map_root ? 0 : gid;
      ping_gid = p->gid;
    }
  }
  snprintf(p->ping_range, sizeof p->ping_range, "%u %u\n", (unsigned)ping_gid, (unsigned)ping_gid);
  return 0;
}

static int plan_parse(struct plan *p, const uint8_t *req, uint32_t len, const char **path_env,
                      char ***argv, uint32_t *argc_out) {
  if (req == NULL || len < WGL_CAGE_REQUEST_HEADER) return -EINVAL;
  uint32_t version = read_u32le(req), flags = read_u32le(req + 4), argc = read_u32le(req + 8);
  uint32_t hidden = read_u32le(req + 12), init_fd = read_u32le(req + 16);
  if (version != WGL_CAGE_REQUEST_VERSION || argc == 0 || argc > len || hidden > len ||
      init_fd > INT_MAX) {
    return -EINVAL;
  }
  p->map_root = (flags & WGL_CAGE_MAP_ROOT) != 0;
  p->no_userns = (flags & WGL_CAGE_NO_USERNS) != 0;
  p->hold = (flags & WGL_CAGE_HOLD) != 0;
  p->socket_service = (flags & WGL_CAGE_SOCKET_SERVICE) != 0;
  p->init_fd = (int)init_fd;
  uint32_t pos = WGL_CAGE_REQUEST_HEADER;
  p->tun_name = next_string(req, len, &pos);
  p->hostname = next_string(req, len, &pos);
  for (int i = 0; i < 3; i++) p->etc_contents[i] = next_string(req, len, &pos);
  *path_env = next_string(req, len, &pos);
  if (p->tun_name == NULL || p->hostname == NULL || p->etc_contents[2] == NULL ||
      *path_env == NULL) {
    return -EINVAL;
  }
  size_t tun_len = strlen(p->tun_name);
  if (tun_len == 0 || tun_len >= IFNAMSIZ) return -EINVAL;
  if (p->hostname[0] == '\0') p->hostname = NULL;
  p->hidden = calloc((size_t)hidden + 1, sizeof(char *));
  *argv = calloc((size_t)argc + 1, sizeof(char *));
  if (p->hidden == NULL || *argv == NULL) return -ENOMEM;
  p->hidden_count = hidden;
  for (uint32_t i = 0; i < hidden; i++) {
    p->hidden[i] = next_string(req, len, &pos);
    if (p->hidden[i] == NULL || p->hidden[i][0] != '/') return -EINVAL;
  }
  for (uint32_t i = 0; i < argc; i++) {
    const char *arg = next_string(req, len, &pos);
    if (arg == NULL) return -EINVAL;
    (*argv)[i] = (char *)arg;
  }
  if ((*argv)[0][0] == '\0') return -EINVAL;
  *argc_out = argc;
  p->envp = environ;
  return 0;
}

int wgl_init_argv(const struct wgl_init_args *a, const char *path_env, char **argv, uint32_t argc,
                  char ***init_argv, char **numbers) {
  size_t size = 6 * 16 + (size_t)(a->group_count + 1) * 12;
  *numbers = malloc(size);
  *init_argv = calloc((size_t)argc + 10, sizeof(char *));
  if (*numbers == NULL || *init_argv == NULL) return -ENOMEM;
  char **out = *init_argv;
  char *at = *numbers, *end = *numbers + size;
  long values[5] = {a->sync_fd, a->tty_fd, a->flags, (long)a->uid, (long)a->gid};
  out[0] = "wgcage-init";
  for (int i = 0; i < 5; i++) {
    out[1 + i] = at;
    at += snprintf(at, (size_t)(end - at), "%ld", values[i]) + 1;
  }
  out[6] = at;
  if (a->group_count == 0) {
    at += snprintf(at, (size_t)(end - at), "-") + 1;
  } else {
    for (int i = 0; i < a->group_count; i++) {
      at += snprintf(at, (size_t)(end - at), i == 0 ? "%u" : ",%u", (unsigned)a->groups[i]);
    }
    at++;
  }
  out[7] = at;
  at += snprintf(at, (size_t)(end - at), "%d", a->service_fd) + 1;
  out[8] = (char *)path_env;
  for (uint32_t i = 0; i < argc; i++) out[9 + i] = argv[i];
  return 0;
}

/* The init's argv (init/init.c): its numbers are formatted into one buffer,
 * the PATH and the command's argv point into the request. */
static int plan_init_argv(struct plan *p, const char *path_env, char **argv, uint32_t argc) {
  bool as_user = p->mode == MODE_SUDO && !p->map_root;
  int flags =
      (p->own_group ? INIT_FLAG_OWN_GROUP : 0) | (p->job_control ? INIT_FLAG_JOB_CONTROL : 0) |
      (as_user ? INIT_FLAG_DROP_TO_USER : 0) | (p->hold ? INIT_FLAG_HOLD : 0) | INIT_FLAG_AWAIT_GO;
  struct wgl_init_args a = {
      .sync_fd = p->sync_fd,
      .tty_fd = p->tty_fd,
      .flags = flags,
      .uid = p->uid,
      .gid = p->gid,
      .groups = p->groups,
      .group_count = as_user ? p->group_count : 0,
      .service_fd = p->service_fd,
  };
  return wgl_init_argv(&a, path_env, argv, argc, &p->init_argv, &p->init_numbers);
}

/* The parent of `pid` from /proc/PID/stat, or -1. */
static pid_t parent_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char *end = strrchr(buf, ')'); /* the name may hold anything */
  int ppid;
  if (end == NULL || sscanf(end + 1, " %*c %d", &ppid) != 1) return -1;
  return (pid_t)ppid;
}

/* Whether a shell does job control for our process group, that is whether
 * the group is not orphaned: going up through the parents that share it
 * (`npm test` runs `sh -c`, which runs wgcage), one has its parent in
 * another group of our session. Only then does anyone resume a stopped job,
 * and only then does the kernel stop the group for SIGTSTP at all. */
bool wgl_job_controlled(void) {
  pid_t group = getpgrp(), session = getsid(0);
  pid_t pid = getppid();
  for (int depth = 0; depth < 64 && pid > 0; depth++) {
    if (getsid(pid) != session) return false;
    pid_t theirs = getpgid(pid);
    if (theirs < 0) return false;
    if (theirs != group) return true;
    pid = parent_of(pid);
  }
  return false;
}

/* The terminal the command should take over: one of 0..2 that is a terminal
 * whose foreground process group is ours (wgcage runs in the foreground). */
int wgl_foreground_tty(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (isatty(fd) && tcgetpgrp(fd) == getpgrp()) return fd;
  }
  return -1;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int err = n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
  close(fd);
  return err;
}

/* As root without sudo, root stays root and every id maps to itself: files
 * keep their owners, but capabilities held in the cage's user namespace
 * reach only the namespaces it owns. Under sudo, the maps of plan_sudo_maps
 * (setgroups stays allowed: the child sets the sudo user's groups). */
static int write_root_maps(pid_t pid, const char *uid_map, const char *gid_map) {
  char path[64];
  const char *identity = "0 0 4294967295\n";
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  int rc = write_file(path, gid_map != NULL ? uid_map : identity);
  if (rc < 0) return rc;
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  return write_file(path, gid_map != NULL ? gid_map : identity);
}

static int write_maps(pid_t pid, bool map_root) {
  char path[64], line[64];
  snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
  int rc = write_file(path, "deny");
  if (rc < 0 && rc != -ENOENT) return rc;
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  snprintf(line, sizeof line, "%u %u 1\n", map_root ? 0U : (unsigned)geteuid(),
           (unsigned)geteuid());
  if ((rc = write_file(path, line)) < 0) return rc;
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  snprintf(line, sizeof line, "%u %u 1\n", map_root ? 0U : (unsigned)getegid(),
           (unsigned)getegid());
  return write_file(path, line);
}

static int send_byte(int fd, char byte) {
  for (;;) {
    if (send(fd, &byte, 1, MSG_NOSIGNAL) == 1) return 0;
    if (errno != EINTR) return -errno;
  }
}

/* Receives {stage, errno} and, with stage 0, exactly two fds (SCM_RIGHTS at
 * SOL_SOCKET, checked). Returns 0 with fds, 1 with a reported failure. */
static int receive_fds(int sync_fd, uint32_t msg[2], int fds[2]) {
  int32_t got[2] = {-1, -1}, count = 0;
  int n = wgl_recvmsg_fds(sync_fd, (uint8_t *)msg, 2 * sizeof(uint32_t), got, 2, &count, 0);
  if (n < 0) return n;
  if (n == 0) return -EPIPE;
  if (n == 2 * sizeof(uint32_t) && msg[0] != WGL_STAGE_NONE && count == 0) return 1;
  if (n != 2 * sizeof(uint32_t) || count != 2 || msg[0] != WGL_STAGE_NONE) {
    for (int i = 0; i < count; i++) close(got[i]);
    return -EPROTO;
  }
  fds[0] = got[0];
  fds[1] = got[1];
  return 0;
}

static void reap(pid_t pid) {
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

static size_t add_strings(uintptr_t *keep, size_t n, size_t cap, char *const *list) {
  if (list == NULL) return n;
  if (n < cap) keep[n++] = (uintptr_t)list;
  for (; *list != NULL && n < cap; list++) keep[n++] = (uintptr_t)*list;
  return n;
}

/* Plans what the child unmaps of the parent's memory: everything private and
 * anonymous except what holds the plan, the request its strings point into,
 * the environment, this stack and the thread's TLS. Without a plan (an error
 * here) the child keeps everything, as a plain fork would. */
static void plan_release(struct plan *p, const uint8_t *request, uint32_t request_len) {
  size_t env_count = 0;
  while (p->envp != NULL && p->envp[env_count] != NULL) env_count++;
  size_t cap = 64 + env_count + p->hidden_count;
  for (char **a = p->init_argv; a != NULL && *a != NULL; a++) cap++;
  uintptr_t *keep = malloc(cap * sizeof *keep);
  if (keep == NULL) return;
  size_t n = 0;
  keep[n++] = (uintptr_t)__builtin_frame_address(0);
  keep[n++] = (uintptr_t)p;
  keep[n++] = (uintptr_t)__builtin_thread_pointer();
  keep[n++] = (uintptr_t)&errno;
  keep[n++] = (uintptr_t)request;
  keep[n++] = (uintptr_t)(request + request_len - 1);
  keep[n++] = (uintptr_t)p->init_numbers;
  if (p->groups != NULL) keep[n++] = (uintptr_t)p->groups; /* become_sudo_user */
  n = add_strings(keep, n, cap, (char *const *)p->hidden);
  n = add_strings(keep, n, cap, p->init_argv);
  n = add_strings(keep, n, cap, p->envp);
  (void)release_plan_make(&p->release, keep, n);
  free(keep);
}

int wgl_cage_open(const uint8_t *request, uint32_t request_len, int32_t *out) {
  if (out == NULL) return -EINVAL;
  for (int i = 0; i < WGL_OUT_WORDS; i++) out[i] = -1;
  out[WGL_OUT_STAGE] = WGL_STAGE_REQUEST;
  out[WGL_OUT_ERRNO] = 0;

  struct plan plan;
  memset(&plan, 0, sizeof plan);
  const char *path_env = NULL;
  char **argv = NULL;
  uint32_t argc = 0;
  int rc = plan_parse(&plan, request, request_len, &path_env, &argv, &argc);
  if (rc == 0) rc = plan_identity(&plan);
  if (rc < 0) {
    free(argv);
    plan_free(&plan);
    out[WGL_OUT_ERRNO] = -rc;
    return rc;
  }
  plan.tty_fd = wgl_foreground_tty();
  /* With a terminal that wgcage does not hold in the foreground (started in
   * the background), the command stays in wgcage's process group so that the
   * shell's job control (fg, bg, SIGTTIN) applies to it too. Otherwise it
   * leads its own group: signals for wgcage's group reach it only once,
   * forwarded by the init. */
  plan.own_group = plan.tty_fd >= 0 || !(isatty(0) || isatty(1) || isatty(2));
  plan.job_control = plan.tty_fd >= 0 && wgl_job_controlled();

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    rc = -errno;
    free(argv);
    plan_free(&plan);
    out[WGL_OUT_ERRNO] = -rc;
    return rc;
  }
  plan.sync_fd = pair[1];
  /* The socket service's pair: wgcage's end stays here, the child's goes to
   * the init and from there only to the service. */
  int service[2] = {-1, -1};
  if (plan.socket_service && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, service) != 0) {
    rc = -errno;
  }
  plan.service_fd = service[1];
  if (rc == 0) rc = plan_init_argv(&plan, path_env, argv, argc);
  free(argv);
  if (rc < 0) {
    close(pair[0]);
    close(pair[1]);
    if (service[0] >= 0) close(service[0]);
    if (service[1] >= 0) close(service[1]);
    plan_free(&plan);
    out[WGL_OUT_ERRNO] = -rc;
    return rc;
  }
  plan_release(&plan, request, request_len);

  unsigned long flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS;
  bool userns = plan.mode == MODE_USERNS || !plan.no_userns;
  if (userns) flags |= CLONE_NEWUSER;
  /* wgcage is not dumpable (its memory holds keys; protect.c), and a clone
   * inherits that. The child must be dumpable for the parent to write its
   * uid_map, so it is cloned from a dumpable moment. Until it execs the init
   * a process of wgcage's own user outside the cage could read it: outside
   * the threat model (SECURITY.md); no process of the cage exists yet. */
  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (dumpable == 0) (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  long pid = raw_clone(flags | SIGCHLD, NULL);
  if (pid == 0) cage_child(&plan);
  int clone_errno = errno;
  if (dumpable == 0) (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  close(pair[1]);
  if (service[1] >= 0) close(service[1]);
  char *gid_map = plan.gid_map; /* written below */
  plan.gid_map = NULL;
  plan_free(&plan);
  if (pid < 0) {
    free(gid_map);
    close(pair[0]);
    if (service[0] >= 0) close(service[0]);
    out[WGL_OUT_STAGE] = WGL_STAGE_CLONE;
    out[WGL_OUT_ERRNO] = clone_errno;
    out[WGL_OUT_MODE] = (int32_t)plan.mode;
    return -clone_errno;
  }

  uint32_t stage = WGL_STAGE_NONE;
  int err = 0;
  if (plan.mode == MODE_USERNS) {
    rc = write_maps((pid_t)pid, plan.map_root);
  } else if (userns) {
    rc = write_root_maps((pid_t)pid, plan.uid_map, gid_map);
  }
  free(gid_map);
  if (rc < 0) {
    stage = WGL_STAGE_MAPS;
    err = -rc;
  } else if ((rc = send_byte(pair[0], SYNC_MAPS_WRITTEN)) < 0) {
    stage = WGL_STAGE_SYNC;
    err = -rc;
  } else {
    out[WGL_OUT_PID] = (int32_t)pid;
    out[WGL_OUT_SYNC] = pair[0];
    out[WGL_OUT_STAGE] = WGL_STAGE_NONE;
    out[WGL_OUT_MODE] = (int32_t)plan.mode;
    out[WGL_OUT_TTY] = plan.tty_fd;
    out[WGL_OUT_SERVICE] = service[0];
    /* Best effort: without it only Ctrl-Z under sudo fails to stop wgcage. */
    if (plan.mode == MODE_SUDO) (void)wgl_identity_signalable_by(plan.sudo_uid);
    return 0;
  }
  kill((pid_t)pid, SIGKILL);
  reap((pid_t)pid);
  close(pair[0]);
  if (service[0] >= 0) close(service[0]);
  out[WGL_OUT_STAGE] = (int32_t)stage;
  out[WGL_OUT_ERRNO] = err;
  out[WGL_OUT_MODE] = (int32_t)plan.mode;
  return err > 0 ? -err : -EIO;
}

int wgl_cage_await_fds(int sync_fd, int32_t *out) {
  if (out == NULL) return -EINVAL;
  uint32_t msg[2] = {0, 0};
  int fds[2] = {-1, -1};
  int rc = receive_fds(sync_fd, msg, fds);
  if (rc == 1) {
    out[0] = (int32_t)msg[0];
    out[1] = (int32_t)msg[1];
    return 1;
  }
  if (rc < 0) return rc;
  int fl = fcntl(fds[0], F_GETFL);
  if (fl >= 0) (void)fcntl(fds[0], F_SETFL, fl | O_NONBLOCK);
  out[0] = fds[0];
  out[1] = fds[1];
  out[2] = (int32_t)msg[1];
  return 0;
}

int wgl_cage_go(int sync_fd) { return send_byte(sync_fd, WGL_SYNC_GO); }

int wgl_cage_await_exec(int sync_fd, int32_t *out) {
  uint32_t msg[2] = {0, 0};
  ssize_t n;
  do {
    n = recv(sync_fd, msg, sizeof msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  if (n == 0) return 0;
  if (n != sizeof msg || out == NULL) return -EPROTO;
  out[0] = (int32_t)msg[0];
  out[1] = (int32_t)msg[1];
  return 1;
}

int wgl_cage_wait(int pid) {
  int status = 0;
  for (;;) {
    if (waitpid(pid, &status, 0) >= 0) break;
    if (errno != EINTR) return -errno;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -ECHILD;
}

int wgl_cage_signal(int pid, int sig) {
  if (pid <= 0) return -EINVAL;
  return kill(pid, sig) == 0 ? 0 : -errno;
}

int wgl_cage_resume(int pid, int tty_fd) {
  bool foreground = tty_fd >= 0 && tcgetpgrp(tty_fd) == getpgrp();
  int sig = foreground ? WGL_SIG_RESUME_FOREGROUND : WGL_SIG_RESUME;
  return kill((pid_t)pid, sig) == 0 ? 0 : -errno;
}

int wgl_tty_reclaim(int tty_fd) {
  if (tty_fd < 0 || !isatty(tty_fd)) return 0;
  pid_t ours = getpgrp();
  pid_t foreground = tcgetpgrp(tty_fd);
  if (foreground == ours) return 0;
  /* After `bg` the shell holds the terminal again: it is not ours to take. */
  if (foreground >= 0 && foreground == getpgid(getppid())) return 0;
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old);
  int rc = tcsetpgrp(tty_fd, ours) == 0 ? 0 : -errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}
