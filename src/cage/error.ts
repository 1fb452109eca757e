/**
 * The one error class the cage throws: a refusal or failure the user can act
 * on, with the exit status wgcage should end with.
 *
 * @module
 */

/** Exit status when wgcage itself cannot set the cage up. */
export const EXIT_REFUSED = 125;
/** Exit status when the command exists but cannot be run. */
export const EXIT_NOT_EXECUTABLE = 126;
/** Exit status when the command is not found. */
export const EXIT_NOT_FOUND = 127;

/**
 * A one-line message naming the cause and the fix (it starts with
 * `wgcage: `), and the exit status for it: 125 for a refusal, 126 when the
 * command is not executable, 127 when it is not found.
 */
export class CageError extends Error {
  readonly exitCode: number;
  /** The launcher stage that failed (see launcher/cage.h), if any. */
  readonly stage?: number;
  /** The errno the stage failed with, if any. */
  readonly errno?: number;

  constructor(message: string, exitCode: number, detail: { stage?: number; errno?: number } = {}) {
    super(message);
    this.name = "CageError";
    this.exitCode = exitCode;
    this.stage = detail.stage;
    this.errno = detail.errno;
  }
}
