/**
 * The error the launcher library throws when the host does not let wgcage
 * use it: it cannot be loaded, a memfd cannot be made, a socket cannot be
 * opened. One line starting with `wgcage: ` that names the cause and the
 * fix; exit status 125.
 *
 * A call that fails in a way no user can fix throws a plain `Error` instead:
 * that is a bug in wgcage, and main.ts says so.
 *
 * @module
 */

export class LauncherError extends Error {
  /** The exit status for wgcage's own failures. */
  readonly exitCode = 125;
  /** The errno the launcher's call failed with, if one did. */
  readonly errno?: number;

  constructor(message: string, detail: { errno?: number } = {}) {
    super(message);
    this.name = "LauncherError";
    this.errno = detail.errno;
  }
}
