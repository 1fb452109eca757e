/**
 * The one errno table: names and descriptions of the Linux errno values that
 * wgcage's system calls and rtnetlink requests come back with (asm-generic
 * `errno-base.h` and `errno.h`; the descriptions are glibc's `strerror`
 * texts). The launcher's functions return `-errno`; netlink acks carry one.
 *
 * @module
 */

const ERRNO_TABLE: ReadonlyMap<number, readonly [name: string, description: string]> = new Map([
  [1, ["EPERM", "Operation not permitted"]],
  [2, ["ENOENT", "No such file or directory"]],
  [3, ["ESRCH", "No such process"]],
  [4, ["EINTR", "Interrupted system call"]],
  [5, ["EIO", "Input/output error"]],
  [6, ["ENXIO", "No such device or address"]],
  [7, ["E2BIG", "Argument list too long"]],
  [8, ["ENOEXEC", "Exec format error"]],
  [9, ["EBADF", "Bad file descriptor"]],
  [11, ["EAGAIN", "Resource temporarily unavailable"]],
  [12, ["ENOMEM", "Cannot allocate memory"]],
  [13, ["EACCES", "Permission denied"]],
  [14, ["EFAULT", "Bad address"]],
  [16, ["EBUSY", "Device or resource busy"]],
  [17, ["EEXIST", "File exists"]],
  [19, ["ENODEV", "No such device"]],
  [20, ["ENOTDIR", "Not a directory"]],
  [21, ["EISDIR", "Is a directory"]],
  [22, ["EINVAL", "Invalid argument"]],
  [24, ["EMFILE", "Too many open files"]],
  [26, ["ETXTBSY", "Text file busy"]],
  [28, ["ENOSPC", "No space left on device"]],
  [32, ["EPIPE", "Broken pipe"]],
  [34, ["ERANGE", "Numerical result out of range"]],
  [36, ["ENAMETOOLONG", "File name too long"]],
  [38, ["ENOSYS", "Function not implemented"]],
  [40, ["ELOOP", "Too many levels of symbolic links"]],
  [61, ["ENODATA", "No data available"]],
  [71, ["EPROTO", "Protocol error"]],
  [77, ["EBADFD", "File descriptor in bad state"]],
  [87, ["EUSERS", "Too many users"]],
  [90, ["EMSGSIZE", "Message too long"]],
  [93, ["EPROTONOSUPPORT", "Protocol not supported"]],
  [95, ["EOPNOTSUPP", "Operation not supported"]],
  [97, ["EAFNOSUPPORT", "Address family not supported by protocol"]],
  [98, ["EADDRINUSE", "Address already in use"]],
  [99, ["EADDRNOTAVAIL", "Cannot assign requested address"]],
  [100, ["ENETDOWN", "Network is down"]],
  [101, ["ENETUNREACH", "Network is unreachable"]],
  [104, ["ECONNRESET", "Connection reset by peer"]],
  [105, ["ENOBUFS", "No buffer space available"]],
  [110, ["ETIMEDOUT", "Connection timed out"]],
  [111, ["ECONNREFUSED", "Connection refused"]],
  [113, ["EHOSTUNREACH", "No route to host"]],
  [524, ["ENOTSUPP", "Operation not supported"]],
]);

/** The errno values wgcage branches on. */
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const ENXIO = 6;
export const EAGAIN = 11;
export const EACCES = 13;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EPIPE = 32;
export const ELOOP = 40;
export const EUSERS = 87;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETDOWN = 100;
export const ECONNRESET = 104;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;

/** The symbolic name of an errno value, e.g. `EEXIST`; `errno 1234` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_TABLE.get(errno)?.[0] ?? `errno ${errno}`;
}

/** The C library's description of an errno value, e.g. `File exists`. */
export function errnoDescription(errno: number): string {
  return ERRNO_TABLE.get(errno)?.[1] ?? "Unknown error";
}

/**
 * The description in lower case, to follow a colon mid-sentence, e.g.
 * `permission denied`; `errno 1234` when unknown.
 *
 * @example
 * ```ts
 * import { describeErrno } from "./errno.ts";
 * console.log(`Cannot open /dev/net/tun: ${describeErrno(13)}`);
 * // Cannot open /dev/net/tun: permission denied
 * ```
 */
export function describeErrno(errno: number): string {
  const description = ERRNO_TABLE.get(errno)?.[1];
  if (description === undefined) return `errno ${errno}`;
  return description[0].toLowerCase() + description.slice(1);
}
