/*
 * terminal_filter.c — a seccomp filter refusing TIOCSTI and TIOCLINUX.
 *
 * The command shares the terminal it was started from (interactive programs,
 * Ctrl-C, Ctrl-Z and window sizes keep working as with any command). With
 * TIOCSTI it could push bytes into that terminal's input queue, which the
 * user's shell reads as typed once wgcage exits: outside the cage, and as
 * root when wgcage was started from a root shell (bubblewrap's
 * CVE-2017-5226). TIOCLINUX on a virtual console can paste the selection the
 * same way. Of the two designs the container runtimes use — a pty of the
 * cage's own relayed by wgcage (runc's console socket, `su --pty`) or
 * refusing those two ioctls (bubblewrap's and flatpak's seccomp rule) — this
 * is the second: it closes the hole without putting wgcage between the
 * terminal and every program (job control, raw modes and window sizes keep
 * the kernel's own semantics), and it costs nothing per byte.
 *
 * The filter compares only the low 32 bits of the request: the kernel's tty
 * layer takes `unsigned int cmd`, so a request with junk in the high bits is
 * still TIOCSTI (flatpak's CVE-2019-10063). Compat syscalls (i386 on x86_64,
 * arm on aarch64) and x32 are checked with their own numbers.
 */
#include "terminal_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define NATIVE_IOCTL 16
#define COMPAT_ARCH AUDIT_ARCH_I386
#define COMPAT_IOCTL 54
#define X32_BIT 0x40000000u
#define X32_IOCTL (X32_BIT | 514u)
#define X32_COMMON_IOCTL (X32_BIT | 16u)
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define NATIVE_IOCTL 29
#define COMPAT_ARCH AUDIT_ARCH_ARM
#define COMPAT_IOCTL 54
#else
#error "terminal_filter.c: add this architecture's audit arch and ioctl numbers"
#endif

/* The low word of args[1] (little-endian on both architectures). */
#define ARG1_LOW (offsetof(struct seccomp_data, args) + sizeof(uint64_t))

#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(value, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (value), (t), (f))
#define RET(value) BPF_STMT(BPF_RET | BPF_K, (value))

int terminal_filter_install(void) {
  /* Jump offsets count the instructions skipped; every target is named. The
   * table keeps its own layout (numbers and comments in columns). */
  /* clang-format off */
  struct sock_filter code[] = {
#if defined(X32_BIT)
      /* 0 */ LOAD(offsetof(struct seccomp_data, arch)),
      /* 1 */ JEQ(NATIVE_ARCH, 1, 0),            /* → 3 native, 2 */
      /* 2 */ JEQ(COMPAT_ARCH, 4, 9),            /* → 7 compat, 12 allow */
      /* 3 */ LOAD(offsetof(struct seccomp_data, nr)),
      /* 4 */ JEQ(NATIVE_IOCTL, 4, 0),           /* → 9 request, 5 */
      /* 5 */ JEQ(X32_IOCTL, 3, 0),              /* → 9 request, 6 */
      /* 6 */ JEQ(X32_COMMON_IOCTL, 2, 5),       /* → 9 request, 12 allow */
      /* 7 */ LOAD(offsetof(struct seccomp_data, nr)),
      /* 8 */ JEQ(COMPAT_IOCTL, 0, 3),           /* → 9 request, 12 allow */
      /* 9 */ LOAD(ARG1_LOW),
      /* 10 */ JEQ(TIOCSTI, 2, 0),               /* → 13 refuse, 11 */
      /* 11 */ JEQ(TIOCLINUX, 1, 0),             /* → 13 refuse, 12 allow */
      /* 12 */ RET(SECCOMP_RET_ALLOW),
      /* 13 */ RET(SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
#else
      /* 0 */ LOAD(offsetof(struct seccomp_data, arch)),
      /* 1 */ JEQ(NATIVE_ARCH, 1, 0),            /* → 3 native, 2 */
      /* 2 */ JEQ(COMPAT_ARCH, 2, 7),            /* → 5 compat, 10 allow */
      /* 3 */ LOAD(offsetof(struct seccomp_data, nr)),
      /* 4 */ JEQ(NATIVE_IOCTL, 2, 5),           /* → 7 request, 10 allow */
      /* 5 */ LOAD(offsetof(struct seccomp_data, nr)),
      /* 6 */ JEQ(COMPAT_IOCTL, 0, 3),           /* → 7 request, 10 allow */
      /* 7 */ LOAD(ARG1_LOW),
      /* 8 */ JEQ(TIOCSTI, 2, 0),                /* → 11 refuse, 9 */
      /* 9 */ JEQ(TIOCLINUX, 1, 0),              /* → 11 refuse, 10 allow */
      /* 10 */ RET(SECCOMP_RET_ALLOW),
      /* 11 */ RET(SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
#endif
  };
  /* clang-format on */
  struct sock_fprog prog = {.len = (unsigned short)(sizeof code / sizeof code[0]), .filter = code};
  /* Without no_new_privs an unprivileged process may not install a filter,
   * and a setuid program could shed it; the command gets it in every mode. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return -errno;
  return 0;
}
