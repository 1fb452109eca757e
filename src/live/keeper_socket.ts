/**
 * The stock `wg` (run by `wgcage set`, `syncconf` and `wgcage wg`) finds a
 * cage's control socket by its path and sends whatever it was asked to, the
 * private key included, to whoever listens there. Every cage covers the
 * state directories it knows of (state_cover.ts), but one kept under an
 * XDG_RUNTIME_DIR a cage was not started with is not covered there, and a
 * command of that cage could put a listener of its own in place of
 * NAME.sock. So before `wg` runs, wgcage connects to the socket itself with
 * the check `exec` makes of its keeper (launcher/control.c wgl_ctl_connect:
 * a listener of this user, in this network namespace, in no cage) and
 * refuses to go on otherwise.
 *
 * This narrows the swap to the moment between this check and `wg`'s own
 * connect; it does not close it, as `wg` can be handed only a path.
 *
 * @module
 */

import { launcher, prepareLauncher } from "../launcher/library.ts";
import { describeErrno, EAGAIN, EPERM } from "../launcher/errno.ts";
import { LiveError } from "./error.ts";

/** Throws a {@linkcode LiveError} unless `path` is served by a keeper of this user, outside every cage. */
export async function assertKeeperSocket(path: string, name: string): Promise<void> {
  await prepareLauncher();
  const ffi = launcher();
  const fd = ffi.wgl_ctl_connect(new TextEncoder().encode(`${path}\0`));
  if (fd >= 0) {
    ffi.wgl_fd_close(fd);
    return;
  }
  if (fd === -EPERM) {
    throw new LiveError(
      `The control socket of the cage '${name}' (${path}) is not served by its keeper here ` +
        `(another network namespace, another user, or a cage); nothing was sent to it; run this ` +
        `where 'wgcage up ${name}' ran, and if it did, end the cage with 'wgcage down ${name}'`,
    );
  }
  if (fd === -EAGAIN) {
    throw new LiveError(
      `The cage '${name}' does not accept connections now; nothing was sent to it; try again, ` +
        `or see 'wgcage ls'`,
    );
  }
  throw new LiveError(
    `Cannot reach the cage '${name}': ${
      describeErrno(-fd)
    }; it may have just ended; see 'wgcage ls'`,
  );
}
