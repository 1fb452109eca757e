/*
 * cage.h — clone a command into new namespaces whose only network is a TUN
 * device handed back to the caller. See README.md ("The cage") for the stages
 * and the sync bytes between parent and child.
 *
 * Every function returns >= 0 on success and -errno on failure; none exits
 * the calling process.
 */
#ifndef WGL_CAGE_H
#define WGL_CAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <signal.h>
#include <sys/types.h>

/* Request flags (word 1 of the request header). */
#define WGL_CAGE_MAP_ROOT 1u  /* the command runs as uid/gid 0 of the cage */
#define WGL_CAGE_NO_USERNS 2u /* as root: no user namespace (no boundary) */
#define WGL_CAGE_HOLD 4u      /* a live cage: the init runs no command and holds the namespaces */
/* A socket service in the cage (forward_service.h): wgl_cage_open returns
 * wgcage's end of its socketpair in out[WGL_OUT_SERVICE]. */
#define WGL_CAGE_SOCKET_SERVICE 8u

/* Request layout, prepared by the caller (little-endian u32 header):
 *   word 0  version (WGL_CAGE_REQUEST_VERSION)
 *   word 1  flags
 *   word 2  argc (>= 1)
 *   word 3  hidden path count
 *   word 4  fd of the init program (a memfd, see init/init.c)
 *   word 5  reserved, 0
 * then NUL-terminated strings, in this order:
 *   tun name, hostname ("" keeps the host's), the contents of resolv.conf,
 *   hosts and nsswitch.conf, PATH for the command lookup, the hidden paths
 *   (host files, e.g. daemon sockets, covered in the cage),
 *   argv[0] .. argv[argc - 1]
 */
#define WGL_CAGE_REQUEST_VERSION 3u
#define WGL_CAGE_REQUEST_HEADER 24u

/* The signals the init forwards to the command. */
#define WGL_FORWARDED_SIGNALS SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH

/* The signals that tell the init to resume a command whose stop stopped
 * wgcage (job control): the second when wgcage has the terminal, which then
 * goes back to the command's group. Sent with kill(), never sigqueue(): only
 * then is si_code SI_USER and si_pid the sender's as the kernel saw it (a
 * process of the cage may queue a signal with any negative si_code and any
 * si_pid it likes, but not SI_USER), which is how the init knows it came from
 * wgcage and not from the cage. Two signals, as kill() carries no value. */
/* The byte wgcage sends on the sync socket when the cage's init may start
 * the command (wgl_cage_go; the init waits for it: init/init.c). */
#define WGL_SYNC_GO 'G'

#define WGL_SIG_RESUME (SIGRTMIN + 4)
#define WGL_SIG_RESUME_FOREGROUND (SIGRTMIN + 5)

/* The init's FLAGS argument (init/init.c). */
#define INIT_FLAG_OWN_GROUP 1
#define INIT_FLAG_JOB_CONTROL 2
/* Sudo mode: the init already runs as UID/GID (set before its exec); the
 * command checks that before it execs. */
#define INIT_FLAG_DROP_TO_USER 4
#define INIT_FLAG_HOLD 8  /* run no command: reap until killed (a live cage's PID 1) */
#define INIT_FLAG_JOIN 16 /* joined a live cage (join.c): the command dies with this init */
/* Made by cage.c: the init is exec'd while wgcage still configures the
 * cage's links, and waits for the go-ahead byte on the sync socket before
 * it starts anything (the socket service, the command). */
#define INIT_FLAG_AWAIT_GO 32
#define INIT_FLAG_ALL 63

/* Where a cage failed; reported as {stage, errno} (two u32). */
enum wgl_cage_stage {
  WGL_STAGE_NONE = 0,
  WGL_STAGE_REQUEST = 1,       /* malformed request (parent) */
  WGL_STAGE_CLONE = 2,         /* clone() (parent) */
  WGL_STAGE_MAPS = 3,          /* setgroups / uid_map / gid_map (parent) */
  WGL_STAGE_SYNC = 4,          /* the sync socket broke */
  WGL_STAGE_MOUNT_PRIVATE = 5, /* MS_REC|MS_PRIVATE on / */
  WGL_STAGE_TUN_OPEN = 6,      /* open /dev/net/tun */
  WGL_STAGE_TUN_SETIFF = 7,    /* TUNSETIFF */
  WGL_STAGE_NETLINK = 8,       /* rtnetlink socket */
  WGL_STAGE_HOSTNAME = 9,      /* sethostname */
  WGL_STAGE_BIND_RESOLV = 10,  /* bind resolv.conf over /etc */
  WGL_STAGE_BIND_HOSTS = 11,
  WGL_STAGE_BIND_NSSWITCH = 12,
  WGL_STAGE_PROC = 13,      /* mount a fresh /proc */
  WGL_STAGE_PING = 14,      /* net.ipv4.ping_group_range */
  WGL_STAGE_FORK = 15,      /* the init forks the command */
  WGL_STAGE_CREDS = 16,     /* setgroups/setgid/setuid (sudo mode) */
  WGL_STAGE_EXEC = 17,      /* execve of the command */
  WGL_STAGE_HIDE = 18,      /* cover a hidden host path */
  WGL_STAGE_ETC_FILES = 19, /* write the /etc files into the cage's tmpfs */
  WGL_STAGE_CONFINE = 20,   /* no_new_privs and the terminal filter */
  WGL_STAGE_INIT_EXEC = 21, /* exec the init program */
  WGL_STAGE_SERVICE = 22,   /* the socket service: fork, or a request queued before the go-ahead */
};

/* Output of wgl_cage_open (i32 words). */
enum wgl_cage_out {
  WGL_OUT_PID = 0,     /* the cage's init, as seen by the caller */
  WGL_OUT_SYNC = 1,    /* the caller's end of the sync socket */
  WGL_OUT_TUN = 2,     /* the TUN fd, non-blocking */
  WGL_OUT_NETLINK = 3, /* rtnetlink socket inside the cage's netns */
  WGL_OUT_STAGE = 4,   /* on failure: the stage */
  WGL_OUT_ERRNO = 5,   /* on failure: the errno */
  WGL_OUT_MODE = 6,    /* 0 user namespace, 1 root, 2 root on behalf of a sudo user */
  WGL_OUT_TTY = 7,     /* fd of the terminal the command takes over, or -1 */
  WGL_OUT_SERVICE = 8, /* wgcage's end of the socket service's socketpair, or -1 */
  WGL_OUT_WORDS = 9,
};

/* Clones the cage and writes its id maps; returns at once (out[] holds the
 * pid, the sync socket, the mode, the terminal and the service's socket; the
 * TUN and netlink words stay -1) while the child makes the TUN device and
 * the netlink socket, which wgl_cage_await_fds receives. The child then
 * covers the hidden paths, lays the /etc files, mounts /proc and waits for
 * wgl_cage_go(). Must be called from the thread that lives as long as the
 * cage (the main thread): the child's death signal follows that thread. On
 * failure nothing is left (the child is killed and reaped). */
int wgl_cage_open(const uint8_t *request, uint32_t request_len, int32_t *out);

/* Blocks until the child sent the TUN fd (out[0], non-blocking), the netlink
 * socket (out[1]) and the TUN's ifindex (out[2]): returns 0; 1 when the
 * child reported a failed
 * stage ({stage, errno} in out[0], out[1]); -errno when the sync socket
 * broke. On anything but 0 the caller kills and reaps the child. Any thread. */
int wgl_cage_await_fds(int sync_fd, int32_t *out);

/* The go-ahead: the cage's init (exec'd already, waiting) starts the command. */
int wgl_cage_go(int sync_fd);

/* Blocks until the command was exec'd (returns 0) or a stage failed (returns
 * 1 and writes {stage, errno} into out[0], out[1]). */
int wgl_cage_await_exec(int sync_fd, int32_t *out);

/* Blocks until the cage's init ends; returns the status as a shell reports it
 * (exit code, or 128 + signal). */
int wgl_cage_wait(int pid);

/* Sends sig to the cage's init (which forwards it to the command). */
int wgl_cage_signal(int pid, int sig);

/* The terminal the command takes over (one of fds 0..2 whose foreground
 * group is the caller's), or -1; and whether a shell does job control for the
 * caller's process group. Shared with join.c. */
int wgl_foreground_tty(void);
bool wgl_job_controlled(void);

/* The numbers the init (init/init.c) is started with. */
struct wgl_init_args {
  int sync_fd;
  int tty_fd;
  int flags; /* INIT_FLAG_* */
  uid_t uid;
  gid_t gid;
  const gid_t *groups; /* the supplementary groups, or none (group_count 0) */
  int group_count;
  int service_fd;
};

/* The init's argv, NULL-terminated: wgcage-init SYNC_FD TTY_FD FLAGS UID GID
 * GROUPS SERVICE_FD PATH ARGV...; GROUPS joined by commas, or "-". The
 * numbers are formatted into one buffer, *numbers; PATH and the command's
 * argv point at the caller's strings. Both allocations are the caller's to
 * free, also on failure. Shared with join.c. Returns 0 or -ENOMEM. */
int wgl_init_argv(const struct wgl_init_args *a, const char *path_env, char **argv, uint32_t argc,
                  char ***init_argv, char **numbers);

/* Makes the caller's process group the terminal's foreground group again,
 * unless the caller's parent (a shell that ran it with `bg`) holds it. */
int wgl_tty_reclaim(int tty_fd);

/* wgcage was continued: has the init resume the command, giving it the
 * terminal's foreground when wgcage has it. */
int wgl_cage_resume(int pid, int tty_fd);

#endif
