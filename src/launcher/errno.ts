/**
 * Names and descriptions of the Linux errno values an rtnetlink request can
 * come back with (asm-generic `errno-base.h` and `errno.h`; the descriptions
 * are glibc's `strerror` texts).
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
  [9, ["EBADF", "Bad file descriptor"]],
  [11, ["EAGAIN", "Resource temporarily unavailable"]],
  [12, ["ENOMEM", "Cannot allocate memory"]],
  [13, ["EACCES", "Permission denied"]],
  [14, ["EFAULT", "Bad address"]],
  [16, ["EBUSY", "Device or resource busy"]],
  [17, ["EEXIST", "File exists"]],
  [19, ["ENODEV", "No such device"]],
  [22, ["EINVAL", "Invalid argument"]],
  [28, ["ENOSPC", "No space left on device"]],
  [34, ["ERANGE", "Numerical result out of range"]],
  [61, ["ENODATA", "No data available"]],
  [71, ["EPROTO", "Protocol error"]],
  [90, ["EMSGSIZE", "Message too long"]],
  [93, ["EPROTONOSUPPORT", "Protocol not supported"]],
  [95, ["EOPNOTSUPP", "Operation not supported"]],
  [97, ["EAFNOSUPPORT", "Address family not supported by protocol"]],
  [99, ["EADDRNOTAVAIL", "Cannot assign requested address"]],
  [100, ["ENETDOWN", "Network is down"]],
  [101, ["ENETUNREACH", "Network is unreachable"]],
  [105, ["ENOBUFS", "No buffer space available"]],
  [110, ["ETIMEDOUT", "Connection timed out"]],
  [113, ["EHOSTUNREACH", "No route to host"]],
  [524, ["ENOTSUPP", "Operation not supported"]],
]);

/** Well-known errno values, for callers that branch on them. */
export const EPERM = 1;
export const EACCES = 13;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EAFNOSUPPORT = 97;
export const EADDRNOTAVAIL = 99;
export const ENETDOWN = 100;

/** The symbolic name of an errno value, e.g. `EEXIST`; `errno 1234` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_TABLE.get(errno)?.[0] ?? `errno ${errno}`;
}

/** The C library's description of an errno value, e.g. `File exists`. */
export function errnoDescription(errno: number): string {
  return ERRNO_TABLE.get(errno)?.[1] ?? "Unknown error";
}
