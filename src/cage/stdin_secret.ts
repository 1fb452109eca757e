/**
 * A key read through standard input must not stay there for the command.
 * The command inherits wgcage's stdin: after `--config - < wg.conf` (or
 * `--config /dev/stdin`, `--wg-private-key-file /dev/fd/0`) that is the key
 * file itself, open, which the command could seek back to the start of, or
 * open again as /proc/self/fd/0, past the cover laid on the file's path. A
 * pipe read to its end holds nothing more, but /dev/null is the same to the
 * command then, so the rule stays simple: when wgcage read a secret through
 * stdin, the command's stdin is /dev/null (what docker and podman give a
 * command run without -i). A terminal is kept: what was typed there cannot be
 * read back, and the command may be interactive.
 *
 * @module
 */

import { launcher } from "../launcher/library.ts";
import { describeErrno } from "../launcher/errno.ts";
import { CageError, EXIT_REFUSED } from "./error.ts";

/** A file's identity, from stat(2) (the file behind symlinks). */
export interface FileId {
  readonly dev: number;
  readonly ino: number;
  readonly isFile: boolean;
}

/** What the decision needs from the host (a fake in unit tests). */
export interface StdinFs {
  /** Whether stdin is a terminal. */
  stdinIsTerminal(): boolean;
  /** What stdin is open on; undefined when it cannot be told (closed). */
  stdinId(): FileId | undefined;
  /** The file a path leads to; undefined when it cannot be stat'ed. */
  pathId(path: string): FileId | undefined;
}

function statId(path: string): FileId | undefined {
  try {
    const s = Deno.statSync(path);
    return { dev: s.dev, ino: s.ino ?? -1, isFile: s.isFile || s.isBlockDevice === true };
  } catch {
    return undefined;
  }
}

/** The host's stdin and files. */
export const hostStdinFs: StdinFs = {
  stdinIsTerminal: () => Deno.stdin.isTerminal(),
  // The magic link leads to what fd 0 is open on, not to a path's current file.
  stdinId: () => statId("/proc/self/fd/0"),
  pathId: statId,
};

/**
 * Whether stdin holds a secret wgcage read: the config came from stdin, or
 * stdin is open on one of the files a key was read from.
 *
 * @example
 * ```ts
 * import { stdinHoldsSecret } from "./stdin_secret.ts";
 * stdinHoldsSecret(false, ["/etc/wireguard/wg0.conf"]); // true for `wgcage --config wg0 … < wg0.conf`
 * ```
 */
export function stdinHoldsSecret(
  configFromStdin: boolean,
  secretFiles: readonly string[],
  fs: StdinFs = hostStdinFs,
): boolean {
  if (fs.stdinIsTerminal()) return false;
  if (configFromStdin) return true;
  const stdin = fs.stdinId();
  if (stdin === undefined || !stdin.isFile) return false;
  return secretFiles.some((path) => {
    const id = fs.pathId(path);
    return id !== undefined && id.dev === stdin.dev && id.ino === stdin.ino;
  });
}

/**
 * Gives wgcage (and so the command, which inherits it) /dev/null as stdin
 * when stdin holds a secret wgcage read. Call it after the config is read
 * and before the cage is made; throws {@linkcode CageError} (125) when
 * /dev/null cannot be opened.
 */
export function withdrawSecretStdin(
  configFromStdin: boolean,
  secretFiles: readonly string[],
): void {
  if (!stdinHoldsSecret(configFromStdin, secretFiles)) return;
  const rc = launcher().wgl_fd_stdin_to_null();
  if (rc < 0) {
    throw new CageError(
      `wgcage: Cannot replace standard input, which held the config or a key, with /dev/null: ` +
        `${
          describeErrno(-rc)
        }; pipe the config in (or pass --config FILE) instead of redirecting a file`,
      EXIT_REFUSED,
    );
  }
}
